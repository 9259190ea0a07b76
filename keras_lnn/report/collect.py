"""Collecting runs: the metrics files under the given folders, part-trained runs, and their grouping.

A run is one model trained on one seed; `group_results` gathers the seeds of a
(dataset, size, experiment, model) under one setting (backend, protocol, data file,
training options) into a `ModelResults`, which every section of the report reads.

Example:

```python
from keras_lnn.report.collect import find_metrics_files, group_results, load_metrics

results = group_results([load_metrics(path) for path in find_metrics_files(["saved_models"])])
results[0].mean("test", "auc")
```
"""
import csv
import dataclasses
import json
from pathlib import Path

from keras_lnn.errors import KerasLnnError
from keras_lnn.evaluation import stats
from keras_lnn.models import list_models
from keras_lnn.report.settings import PAPER_SETTING, Setting, run_settings


class ReportError(KerasLnnError):
    """No results to report, or a metrics file that cannot be read."""


def find_metrics_files(paths):
    """Every `metrics.json` under `paths` (folders searched recursively, files taken as they are).

    Args:
        paths: run folders, folders of run folders (an `--output` folder), or metrics files.

    Returns:
        Sorted, de-duplicated `Path`s.

    Raises:
        ReportError: a path does not exist, or no metrics file was found.

    Example:

    >>> find_metrics_files(["saved_models"])  # doctest: +SKIP
    [PosixPath('saved_models/exp1_adrenal/CNNExp1N1/metrics.json'), ...]
    """
    found = {}
    for path in map(Path, paths):
        if not path.exists():
            raise ReportError(f"{path} does not exist")
        for file in [path] if path.is_file() else path.rglob("metrics.json"):
            found.setdefault(file.resolve(), file)  # the same run reached through two arguments counts once
    if not found:
        raise ReportError(
            f"no metrics.json found under {', '.join(map(str, paths))}: pass run folders written by "
            "`lnn-keras run` (e.g. saved_models or saved_models/exp1_adrenal)"
        )
    return sorted(found.values())


def find_unfinished(paths):
    """Model folders under `paths` that started training but have no metrics.json yet (they resume).

    Args:
        paths: as for `find_metrics_files`; files among them are ignored.

    Returns:
        `[{"model", "experiment", "dataset", "size", "seed", "epochs"}, ...]` from each folder's
        settings.json and history.csv (`epochs`: the epochs trained so far). A settings.json that
        `lnn-keras run` did not write is passed over: the metrics files are the results.
    """
    found = {}
    for path in map(Path, paths):
        if path.is_dir():
            for settings in path.rglob("settings.json"):
                if not (settings.parent / "metrics.json").exists():
                    found.setdefault(settings.resolve(), settings)
    unfinished = []
    for settings in sorted(found.values()):
        try:
            recorded = json.loads(settings.read_text())
            entry = {key: recorded[key] for key in ("model", "experiment", "dataset", "seed")}
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
            continue
        entry.update(size=recorded.get("size", 28), epochs=len(read_val_losses(settings.parent)))
        unfinished.append(entry)
    return unfinished


REQUIRED_KEYS = ("model", "experiment", "dataset", "seed", "status")


def load_metrics(path):
    """One metrics file as a dict, with `_path` (its `Path`) and `_epoch_seconds` (`read_epoch_seconds`) added.

    Raises:
        ReportError: naming the file, when it is not valid JSON or lacks a required key.
    """
    path = Path(path)
    try:
        metrics = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"cannot read {path}: {type(error).__name__}: {error}") from None
    if not isinstance(metrics, dict):
        raise ReportError(f"{path} is not a metrics file: expected a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in metrics]
    if missing:
        raise ReportError(f"{path} is not a metrics file of `lnn-keras run`: it lacks {', '.join(missing)}")
    metrics.setdefault("size", 28)
    metrics["_path"] = path
    metrics["_epoch_seconds"] = read_epoch_seconds(metrics)  # read once: the cost sections ask several times
    return metrics


def read_val_losses(model_dir):
    """`[(epoch, val_loss), ...]` from a model folder's history.csv (empty when absent or unreadable)."""
    path = Path(model_dir) / "history.csv"
    try:
        with open(path, newline="") as handle:
            return [(int(row["epoch"]), float(row["val_loss"])) for row in csv.DictReader(handle)]
    except (OSError, KeyError, ValueError, TypeError):
        return []  # a curve is a nice-to-have; the metrics file carries the results


def read_epoch_seconds(metrics):
    """The seconds of each epoch (history.csv's `epoch_seconds`) beside a metrics file; empty when absent."""
    path = Path(metrics["_path"]).parent / "history.csv"
    try:
        with open(path, newline="") as handle:
            return [float(row["epoch_seconds"]) for row in csv.DictReader(handle)]
    except (OSError, KeyError, ValueError, TypeError):
        return []


def read_test_predictions(metrics, column="probability"):
    """`(labels, probabilities)` of the test split from the predictions.csv beside a metrics file, or None.

    Binary models only; None also where the file is absent (runs made before it was written), unreadable or
    without `column` (`probability_tta`: the test-time augmented probabilities of a `--tta` run).
    """
    path = Path(metrics["_path"]).parent / "predictions.csv"
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row["split"] == "test"]
        return [int(row["label"]) for row in rows], [float(row[column]) for row in rows]
    except (OSError, KeyError, ValueError, TypeError):
        return None


def read_test_labels(metrics):
    """The test split's labels from the predictions.csv beside a metrics file (any number of classes), or None."""
    path = Path(metrics["_path"]).parent / "predictions.csv"
    try:
        with open(path, newline="") as handle:
            return [int(row["label"]) for row in csv.DictReader(handle) if row["split"] == "test"] or None
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _is_finished(metrics):
    return metrics["status"] == "finished" and bool(metrics.get("test"))


def _preferred(metrics):
    """Of two runs of one seed in one group, the one the report uses: finished first, then the latest."""
    return (_is_finished(metrics), str(metrics.get("finished_at") or ""), str(metrics["_path"]))


@dataclasses.dataclass
class ModelResults:
    """All seeds of one model on one dataset and size, under one setting (see `keras_lnn.report.settings`).

    Attributes:
        dataset, size, experiment, model: the group's key, with `settings`.
        runs: every metrics dict of the group, sorted by seed (two of one seed possible: see `duplicates`).
        settings: the runs' `Setting`: backend, protocol, data MD5, training options (by default that of a
            run that recorded none of them).
    """
    dataset: str
    size: int
    experiment: str
    model: str
    runs: list
    settings: Setting = PAPER_SETTING

    @property
    def seed_runs(self):
        """One run per seed, the one the report uses: a finished one before a failed one, then the latest."""
        chosen = {}
        for m in self.runs:
            if m["seed"] not in chosen or _preferred(m) > _preferred(chosen[m["seed"]]):
                chosen[m["seed"]] = m
        return [chosen[seed] for seed in sorted(chosen)]

    @property
    def duplicates(self):
        """`{seed: [used run, other runs...]}` for the seeds this group holds more than one run of."""
        used = {m["seed"]: m for m in self.seed_runs}
        others = {}
        for m in self.runs:
            if m is not used[m["seed"]]:
                others.setdefault(m["seed"], [used[m["seed"]]]).append(m)
        return others

    @property
    def finished(self):
        return [m for m in self.seed_runs if _is_finished(m)]

    @property
    def failed(self):
        return [m for m in self.seed_runs if not _is_finished(m)]

    @property
    def n_classes(self):
        return self.runs[0].get("n_classes") or 2

    def scores(self, split, key):
        """Per-seed `split` ("test"/"val") `key` ("acc"/"auc") of the finished runs."""
        return [m[split].get(key) for m in self.finished if m.get(split)]

    def mean(self, split="test", key="auc"):
        return stats.mean(self.scores(split, key))

    @property
    def trainable_params(self):
        """The trainable parameter count recorded by the group's runs (None where none recorded one)."""
        return next((m["params"].get("trainable") for m in self.runs if m.get("params")), None)


def model_order():
    """A sort key for model names: the paper's order (`list_models`), names this version does not know last."""
    order = {name: index for index, name in enumerate(list_models())}
    return lambda name: (order.get(name, len(order)), name)  # unknown (newer) models last


def group_results(metrics_list):
    """Groups metrics dicts by (dataset, size, experiment, model, setting) into `ModelResults`, in the paper's order.

    Runs of one model that differ in backend, protocol, data file or training options are separate
    groups (`keras_lnn.report.settings.run_settings`); two runs of one seed in a group are both kept
    (`ModelResults.duplicates`).
    """
    groups = {}
    for metrics in metrics_list:
        key = (metrics["dataset"], metrics["size"], metrics["experiment"], metrics["model"], run_settings(metrics))
        groups.setdefault(key, []).append(metrics)
    model_key = model_order()
    keys = sorted(groups, key=lambda k: (k[0], k[1], k[2], model_key(k[3]), k[4].sort_key()))
    return [ModelResults(*key[:4], sorted(groups[key], key=lambda m: (m["seed"], str(m["_path"]))), key[4])
            for key in keys]


def by_dataset(results):
    """`{(dataset, size): [results]}`, in the order the datasets first appear."""
    groups = {}
    for r in results:
        groups.setdefault((r.dataset, r.size), []).append(r)
    return groups


def recorded_version(metrics, key):
    """`metrics["versions"][key]` (keras, device, ...), or None where the run did not record it."""
    return (metrics.get("versions") or {}).get(key)
