"""`lnn-keras report`: finished runs summed up beside the paper's Tables 1 and 2, with figures.

`write_report` reads every `metrics.json` under the given folders, groups the
runs by (dataset, size, experiment, model) across seeds, and writes:

    OUTPUT/report.md        the report, figures linked relatively
    OUTPUT/report.html      the same, self-contained (inline CSS, figures as data URIs)
    OUTPUT/figures/*.png    per experiment and dataset: scores over seeds, validation loss curves

Example:

```python
from keras_lnn.report import write_report

paths = write_report(["saved_models"], "report", data_dir="../shared/medmnist")
paths["markdown"]  # PosixPath('report/report.md')
```
"""
import base64
import csv
import dataclasses
import html
import io
import itertools
import json
import os
import re
import time
from pathlib import Path

from keras_lnn import __version__, stats
from keras_lnn.errors import KerasLnnError
from keras_lnn.io import atomic_write_text
from keras_lnn.paper import table2_results

# The paper's own statement, used only when neither metrics.json nor the data file gives the value.
PAPER_CONSTANT_ACC = {"adrenal": 0.77, "vessel": 0.89}
FAMILIES = (("LTC", ("Liq", "Cfc")), ("CNN", ("CNN",)), ("LSTM/RNN", ("LSTM", "RNN")))
BENCHMARK_PREFIXES = ("ResNet", "auto-sklearn", "AutoKeras")
LAYOUT_NOTE = (
    "**A note on the LSTM/RNN baselines.** Reading the paper's code shows that its LSTM and RNN "
    "baselines used PyTorch's default sequence-first layout while being fed batch-first tensors: they "
    "recurred across the samples of a mini-batch, not across the 28 slices of a volume. The Keras "
    "baselines here recur across slices, as the paper intended, so their results may differ from the "
    "paper's Table 2 for reasons that have nothing to do with the seed or the framework."
)


class ReportError(KerasLnnError):
    """No results to report, or a metrics file that cannot be read."""


# ---------------------------------------------------------------- reading
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
    """One metrics file as a dict, with `_path` (its `Path`) added.

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
    return metrics


def read_val_losses(model_dir):
    """`[(epoch, val_loss), ...]` from a model folder's history.csv (empty when absent or unreadable)."""
    path = Path(model_dir) / "history.csv"
    try:
        with open(path, newline="") as handle:
            return [(int(row["epoch"]), float(row["val_loss"])) for row in csv.DictReader(handle)]
    except (OSError, KeyError, ValueError, TypeError):
        return []  # a curve is a nice-to-have; the metrics file carries the results


def _is_finished(metrics):
    return metrics["status"] == "finished" and bool(metrics.get("test"))


@dataclasses.dataclass
class ModelResults:
    """All seeds of one model on one dataset and size.

    Attributes:
        dataset, size, experiment, model: the group's key.
        runs: the metrics dicts (one per seed), sorted by seed.
    """

    dataset: str
    size: int
    experiment: str
    model: str
    runs: list

    @property
    def finished(self):
        return [m for m in self.runs if _is_finished(m)]

    @property
    def failed(self):
        return [m for m in self.runs if not _is_finished(m)]

    @property
    def n_classes(self):
        return self.runs[0].get("n_classes") or 2

    def scores(self, split, key):
        """Per-seed `split` ("test"/"val") `key` ("acc"/"auc") of the finished runs."""
        return [m[split].get(key) for m in self.finished if m.get(split)]

    def mean(self, split="test", key="auc"):
        return stats.mean(self.scores(split, key))


def _model_order():
    from keras_lnn.models import list_models

    order = {name: index for index, name in enumerate(list_models())}
    return lambda name: (order.get(name, len(order)), name)  # unknown (newer) models last


def group_results(metrics_list):
    """Groups metrics dicts by (dataset, size, experiment, model) into `ModelResults`, in the paper's order."""
    groups = {}
    for metrics in metrics_list:
        key = (metrics["dataset"], metrics["size"], metrics["experiment"], metrics["model"])
        groups.setdefault(key, []).append(metrics)
    model_key = _model_order()
    keys = sorted(groups, key=lambda k: (k[0], k[1], k[2], model_key(k[3])))
    return [ModelResults(*key, sorted(groups[key], key=lambda m: m["seed"])) for key in keys]


# ---------------------------------------------------------------- the constant predictor
def _load_test_labels(dataset, size, data_dir, data_md5s):
    """The test labels of the file the runs used, or `(None, why not)`.

    The file must be the one the runs were trained on (same MD5): a default data
    folder may hold the official file while the runs used a custom one.
    """
    from keras_lnn.data import dataset_path, load_dataset

    path = dataset_path(dataset, size, data_dir)
    if not path.is_file():
        return None, f"data file not found at {path}"
    data = load_dataset(dataset, size=size, data_dir=data_dir, verify=False, dtype="uint8")  # uint8: no copy
    if data_md5s and data.md5 not in data_md5s:
        return None, f"{path} is not the file the runs used (MD5 {data.md5})"
    return data.test[1].ravel(), f"computed from the test labels of {path}"


def constant_predictor_acc(results, data_dir=None):
    """Test ACC of the constant predictor of one dataset, and where the number comes from.

    Binary datasets: "always negative" (always class 0); multi-class ones: always
    the majority class. Sources, in order: `test_majority_acc` recorded in a
    metrics file; the test labels of the data file (see `_load_test_labels`); the
    approximate values stated in ARCHITECTURES.md (Adrenal, Vessel).

    Args:
        results: the `ModelResults` of one dataset and size.
        data_dir: MedMNIST root (None: the default one).

    Returns:
        `(acc or None, source text)`.
    """
    import numpy as np

    runs = [m for r in results for m in r.runs]
    recorded = [m["test_majority_acc"] for m in runs if m.get("test_majority_acc") is not None]
    if recorded:
        return float(recorded[0]), "recorded in metrics.json"
    dataset, size, n_classes = results[0].dataset, results[0].size, results[0].n_classes
    md5s = {m.get("data_md5") for m in runs} - {None}
    try:
        labels, source = _load_test_labels(dataset, size, data_dir, md5s)
    except KerasLnnError as error:  # a corrupt file should not stop the report
        labels, source = None, str(error)
    if labels is not None and len(labels):
        counts = np.bincount(labels.astype(np.int64))
        return float((counts[0] if n_classes == 2 else counts.max()) / len(labels)), source
    if n_classes == 2 and dataset in PAPER_CONSTANT_ACC and size == 28:
        return PAPER_CONSTANT_ACC[dataset], f"approx., from ARCHITECTURES.md ({source})"
    return None, f"unknown ({source}; pass --data-dir)"


# ---------------------------------------------------------------- figures
def _new_figure(width, height):
    # Figure without pyplot: always rendered by Agg, never touches a user's pyplot backend or state.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png_bytes(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _colors(n):
    import matplotlib

    palette = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    return [palette[i % len(palette)] for i in range(n)]


def scores_figure(results, constant_acc=None, title=""):
    """PNG bytes: test and val ACC and AUC per model, mean ± std over seeds, seeds as dots, paper's test as stars."""
    paper = table2_results()
    figure = _new_figure(max(6.0, 1.2 * len(results) + 2.5), 3.8)
    axes = figure.subplots(1, 2, sharey=False)
    test_color, val_color = _colors(2)
    x = list(range(len(results)))
    for ax, key in zip(axes, ("acc", "auc")):
        for offset, split, color, marker in ((-0.15, "test", test_color, "o"), (0.15, "val", val_color, "s")):
            for i, result in enumerate(results):
                values = [v for v in result.scores(split, key) if v is not None]
                if not values:
                    continue
                # Seeds spread sideways a little so that they do not hide behind the mean's marker.
                jitter = [0.07 * (k / max(len(values) - 1, 1) - 0.5) for k in range(len(values))]
                ax.scatter([i + offset + j for j in jitter], values, s=12, color=color, alpha=0.5, linewidths=0)
                spread = stats.std(values) or 0.0
                ax.errorbar(i + offset, stats.mean(values), yerr=spread, fmt=marker, color=color, capsize=4,
                            markersize=6, label=f"{split} (mean ± std)" if i == 0 else None)
        starred = [(i, paper[r.model][r.dataset][key]) for i, r in enumerate(results)
                   if r.model in paper and r.dataset in paper[r.model]]
        if starred:
            ax.scatter(*zip(*starred), marker="*", s=110, color="black", label="paper (test)", zorder=3)
        baseline = constant_acc if key == "acc" else 0.5
        if baseline is not None:
            ax.axhline(baseline, color="gray", linestyle="--", linewidth=1,
                       label="constant predictor" if key == "acc" else "chance (AUC 0.5)")
        # At least 0.1 of range: a zoom onto a 0.001 spread would make seed noise look like a result.
        low, high = ax.get_ylim()
        centre, half = (low + high) / 2, max((high - low) / 2, 0.05)
        ax.set_ylim(max(0.0, centre - half), min(1.02, centre + half))
        ax.set_title(key.upper())
        ax.set_xticks(x, [r.model for r in results], rotation=30, ha="right", fontsize=8)
        ax.set_xlim(-0.6, len(results) - 0.4)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    figure.suptitle(title, fontsize=10)
    return _png_bytes(figure)


def val_loss_figure(results, title=""):
    """PNG bytes: validation loss per epoch, one line per seed, one color per model."""
    figure = _new_figure(6.5, 3.8)
    ax = figure.subplots()
    for result, color in zip(results, _colors(len(results))):
        for index, metrics in enumerate(result.runs):
            curve = read_val_losses(metrics["_path"].parent)
            if curve:
                epochs, losses = zip(*curve)
                ax.plot(epochs, losses, color=color, alpha=0.8, marker="." if len(curve) < 20 else None,
                        label=result.model if index == 0 else None)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (from 0)")
    ax.set_ylabel("validation loss")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return _png_bytes(figure)


# ---------------------------------------------------------------- markdown pieces
def _cell(value):
    text = "-" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers, rows, align=None):
    """A pipe table; `align` is a string of "l"/"r" per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _int(value):
    return "-" if value is None else f"{value:,}"


def _join(values):
    """Sorted and comma-joined ("-" when empty); numbers sort as numbers (seed 10 after seed 2)."""
    values = list(values)
    try:
        values.sort()
    except TypeError:
        values.sort(key=str)
    return ", ".join(map(str, values)) or "-"


def _dataset_title(dataset, size):
    from keras_lnn.info import resolve_dataset

    try:
        return f"{dataset} ({resolve_dataset(dataset).python_class}, {size}^3)"
    except KerasLnnError:  # a custom file (`--dataset PATH.npz`), named after its stem
        return f"{dataset} (custom, {size}^3)"


def _custom_file(runs):
    """The data file of runs on a custom dataset (`--dataset PATH.npz`), or None for a MedMNIST dataset."""
    return next((m["data"].get("path") for m in runs if (m.get("data") or {}).get("custom")), None)


def _protocol_changes(protocol):
    """`[(option, value, paper value)]` where a run's protocol differs from the paper's."""
    from keras_lnn.training import Protocol

    protocol = protocol or {}
    return [(k, protocol[k], v) for k, v in Protocol().as_dict().items() if k in protocol and protocol[k] != v]


def _reproduce_commands(all_metrics):
    """`lnn-keras run` commands that recreate the runs: per (backend, dataset, size, protocol, output folder), one
    per experiment, or one `run all` when every paper experiment is there."""
    from keras_lnn.architectures import PAPER_EXPERIMENTS
    from keras_lnn.info import resolve_dataset
    from keras_lnn.models import experiment_models

    groups = {}
    for m in all_metrics:
        key = (m.get("backend"), m["dataset"], m["size"], json.dumps(m.get("protocol") or {}, sort_keys=True),
               str(m["_path"].parent.parent.parent))
        groups.setdefault(key, []).append(m)
    order = _model_order()
    commands = []
    for (backend, dataset, size, protocol, output), runs in sorted(groups.items(), key=str):
        seeds = sorted({m["seed"] for m in runs})  # the dataset's seeds: unfinished ones are rerun too
        by_experiment = {}
        for m in runs:
            by_experiment.setdefault(m["experiment"], set()).add(m["model"])
        targets = sorted(by_experiment.items())
        if set(PAPER_EXPERIMENTS) <= set(by_experiment):  # the paper's study: one `run all`
            seen = set().union(*(by_experiment[e] for e in PAPER_EXPERIMENTS))
            targets = [("all", seen)] + [(e, ms) for e, ms in targets if e not in PAPER_EXPERIMENTS]
        for experiment, models in targets:
            parts = [f"KERAS_BACKEND={backend}"] if backend else []
            custom = _custom_file(runs)
            parts += ["lnn-keras", "run", experiment, "--dataset", custom or dataset]
            try:
                planned = (set(experiment_models(experiment)) if experiment != "all"
                           else {n for e in PAPER_EXPERIMENTS for n in experiment_models(e)})
            except KerasLnnError:
                planned = set()
            parts += [] if models == planned else ["--models", ",".join(sorted(models, key=order))]
            if len(seeds) > 1:
                parts += ["--seeds", ",".join(map(str, seeds))]
            elif seeds != [0]:
                parts += ["--seed", str(seeds[0])]
            for option, value, _ in _protocol_changes(json.loads(protocol)):
                parts += [f"--{option.replace('_', '-')}", str(value)]
            parts += [] if size == 28 or custom else ["--size", str(size)]
            if not custom and any(m.get("data_md5") not in (None, resolve_dataset(dataset).md5(size)) for m in runs):
                parts.append("--no-verify")  # the runs used a derived data file
            parts += ([] if custom else ["--data-dir", "DATA_DIR"]) + ["--output", output]
            commands.append(" ".join(parts))
    return commands


def _seen(all_metrics, getter, counted=False):
    """The distinct values of `getter(metrics)` over all runs, joined ("-" when none).

    With `counted`, and more than one value, each says how many runs it covers: "cpu (19 runs), gpu (137 runs)".
    """
    values = [getter(m) for m in all_metrics]
    distinct = set(values) - {None}
    if counted and len(distinct) > 1:
        return ", ".join(f"{v} ({values.count(v)} run{'s' * (values.count(v) != 1)})" for v in sorted(distinct, key=str))
    return _join(distinct)


def _version(metrics, key):
    return (metrics.get("versions") or {}).get(key)


def _determinism(metrics):
    value = _version(metrics, "deterministic_ops")
    return "not recorded" if value is None else ("yes" if value else "no")


def _resumed_line(all_metrics):
    """How many runs were interrupted and resumed, and on another device (metrics.json `sessions`)."""
    resumed = [m for m in all_metrics if len(m.get("sessions") or []) > 1]
    if not resumed:
        return []
    moved = sum(len({s.get("device") for s in m["sessions"]}) > 1 for m in resumed)
    return [f"- resumed after an interruption: {len(resumed)} run{'s' * (len(resumed) != 1)}, "
            f"{moved} of them on another device (each metrics.json lists its `sessions`)"]


def _header(paths, all_metrics, results, intro=None):
    def seen(getter, counted=False):
        return _seen(all_metrics, getter, counted)

    def versions(key):  # provenance: where values differ, which share of the runs each produced
        return seen(lambda m: _version(m, key), counted=True)

    run_dirs = {m["_path"].parent.parent for m in all_metrics}
    lines = [
        "# keras-lnn report",
        "",
        f"Written by keras_lnn {__version__} on {time.strftime('%Y-%m-%d %H:%M')} from "
        + ", ".join(f"`{p}`" for p in paths) + ".",
        "",
        *([intro.strip(), ""] if intro and intro.strip() else []),
        "## What was read",
        "",
        f"- {len(all_metrics)} metrics files in {len(run_dirs)} run folders: {_join(d.name for d in run_dirs)}",
        f"- datasets: {_join({_dataset_title(r.dataset, r.size) for r in results})}",
        f"- experiments: {seen(lambda m: m['experiment'])}; models: {len({r.model for r in results})}",
        f"- seeds: {seen(lambda m: m['seed'])}",
        f"- backends: {seen(lambda m: ' '.join(filter(None, (m.get('backend'), _version(m, 'backend_version')))), True)}",
        f"- devices: {versions('device')}; machines: {versions('platform')}",
        f"- deterministic kernels (`--deterministic`): {seen(_determinism, True)}",
        f"- keras_lnn: {versions('keras_lnn')}; keras: {versions('keras')}; ncps: {versions('ncps')}",
        *_resumed_line(all_metrics),
    ]
    changes = {(k, v, p) for m in all_metrics for k, v, p in _protocol_changes(m.get("protocol"))}
    if changes:
        changed = ", ".join(f"{k} {v} (paper {p})" for k, v, p in sorted(changes))
        lines.append(f"- **not the paper's protocol**: {changed}")
    else:
        lines.append("- protocol: the paper's (Adam 5e-4, batch 64, at most 500 epochs, early stopping patience 10)")
    lines += ["", "## Reproduce", "", "Train (DATA_DIR: the MedMNIST folder), then write this report:", "", "```"]
    lines += _reproduce_commands(all_metrics)
    lines += [f"lnn-keras report {' '.join(map(str, paths))} --output REPORT_DIR", "```", ""]
    return lines


def _by_dataset(results):
    """`{(dataset, size): [results]}`, in the order the datasets first appear."""
    groups = {}
    for r in results:
        groups.setdefault((r.dataset, r.size), []).append(r)
    return groups


def _completeness(results, unfinished=()):
    """Which models finished for every seed, which failed, which seeds and models are missing.

    A dataset's expected seeds are all seeds seen on it (finished, failed or part-trained), and its
    expected experiments all experiments seen in the report: a model or experiment never started
    counts as missing too. `unfinished` (from `find_unfinished`) marks the missing runs that are
    part-trained and resume.
    """
    from keras_lnn.models import experiment_models

    trained = {(u["dataset"], u["size"], u["model"], u["seed"]): u["epochs"] for u in unfinished}

    def seeds_text(dataset, size, model, seeds):
        """Sorted seeds, a part-trained one with its epochs: "1, 2 (195 epochs so far)"."""
        return ", ".join(f"{seed} ({trained[dataset, size, model, seed]} epochs so far)"
                         if (dataset, size, model, seed) in trained else str(seed) for seed in sorted(seeds)) or "-"

    lines = ["## Completeness", ""]
    rows, failures, not_run, totals = [], [], {}, []
    experiments = sorted({r.experiment for r in results})
    for (dataset, size), dataset_results in _by_dataset(results).items():
        title = dataset if size == 28 else f"{dataset} {size}^3"
        expected_seeds = {m["seed"] for r in dataset_results for m in r.runs}
        expected_seeds |= {seed for (d, z, _, seed) in trained if (d, z) == (dataset, size)}
        n_models = n_complete = n_finished = 0
        for experiment in experiments:
            group = [r for r in dataset_results if r.experiment == experiment]
            for r in group:
                finished = {m["seed"] for m in r.finished}
                failed = {m["seed"] for m in r.failed}
                missing = expected_seeds - finished - failed
                state = "complete" if not failed and not missing else "incomplete"
                n_complete += state == "complete"
                n_finished += len(finished)
                rows.append([title, experiment, r.model, _join(finished), _join(failed),
                             seeds_text(dataset, size, r.model, missing), state])
                failures += [f"{r.model} on {dataset}, seed {m['seed']}: {m.get('error') or m['status']} "
                             f"(`{m['_path']}`)" for m in r.failed]
            try:
                absent = [n for n in experiment_models(experiment) if n not in {r.model for r in group}]
            except KerasLnnError:
                absent = []
            for name in absent:
                started = {seed for (d, z, model, seed) in trained if (d, z, model) == (dataset, size, name)}
                not_run.setdefault(f"{experiment} on {dataset}", []).append(
                    f"{name} (part-trained: seed {seeds_text(dataset, size, name, started)})" if started else name)
            n_models += len(group) + len(absent)
        n_resuming = sum((d, z) == (dataset, size) for (d, z, _, _) in trained)
        n_seeds = len(expected_seeds)
        totals.append(f"- {title}: {n_finished} of {n_models * n_seeds} model/seed runs finished ({n_models} models "
                      f"x {n_seeds} seed{'s' * (n_seeds != 1)}); {n_complete} of {n_models} models finished for every seed"
                      + (f"; {n_resuming} more part-trained (they resume where they stopped)" if n_resuming else ""))
    lines += totals + [""]
    lines.append(_table(["dataset", "experiment", "model", "seeds finished", "failed", "missing", "state"], rows,
                        "lllllll"))
    if failures:
        lines += ["", "Failed runs (left out of every mean):", ""] + [f"- {f}" for f in failures]
    if not_run:
        lines += ["", "Not run (no metrics file):", ""] + [f"- {k}: {', '.join(v)}" for k, v in not_run.items()]
    return lines + [""]


def _audit(results):
    """Table 1: the Keras counts recorded in metrics.json beside the paper's, with the documented deltas."""
    from keras_lnn import audit
    from keras_lnn.models import get_architecture
    from keras_lnn.paper import table1_parameters

    table1 = table1_parameters()
    rows, seen_keys = [], set()
    for r in results:
        key = (r.model, r.size, r.n_classes)
        params = next((m.get("params") for m in r.runs if m.get("params")), None)
        if key in seen_keys or params is None:
            continue
        seen_keys.add(key)
        trainable, non_trainable = params.get("trainable"), params.get("non_trainable") or 0
        paper_count = table1.get(r.model)
        try:
            architecture = get_architecture(r.model)
        except KerasLnnError:
            rows.append([r.model, r.experiment, _int(paper_count), _int(trainable), _int(non_trainable), "-", "-",
                         "not a model of this keras_lnn version"])
            continue
        comparable = paper_count is not None and r.size == audit.TABLE1_SIZE and r.n_classes == 2
        delta = trainable - paper_count if comparable and trainable is not None else None
        if r.n_classes != 2 and paper_count is not None:
            reason = f"Table 1 counts are for one-output (binary) models, not {r.n_classes} classes"
        else:
            reason = audit._reason(architecture, delta, non_trainable, r.size)
        matches = delta is None or delta == audit.expected_delta(architecture)
        rows.append([r.model, r.experiment, _int(paper_count), _int(trainable), _int(non_trainable),
                     "-" if delta is None else f"{delta:+,}" if delta else "0", "yes" if matches else "**NO**",
                     reason or ""])
    lines = ["## Table 1: parameters, paper vs Keras", "",
             "Keras counts as recorded in metrics.json; paper counts from the paper's Table 1 (PyTorch's counts).", ""]
    lines.append(_table(["model", "exp", "paper", "keras trainable", "non-trainable", "delta", "as documented",
                         "reason"], rows, "llrrrrll"))
    return lines + [""]


def _dataset_section(dataset, size, results, data_dir, figures):
    """Table 2 reproduction for one dataset, its figures, and the seed-noise comparisons."""
    from keras_lnn.runs import run_name

    paper = table2_results()
    n_classes = results[0].n_classes
    lines = [f"## Table 2: {_dataset_title(dataset, size)}", ""]
    test_sizes = {((m.get("data") or {}).get("n_samples") or {}).get("test") for r in results for m in r.runs} - {None}
    if test_sizes:
        lines += [f"Test split: {_join(test_sizes)} volumes. Mean ± sample std over seeds (n: finished seeds).", ""]
    in_paper = any(dataset in entry for entry in paper.values()) and size == 28 and n_classes == 2
    custom = _custom_file([m for r in results for m in r.runs])
    paper_columns = 0 if custom else 2  # the paper has nothing on a user's own data: no empty columns
    rows = []
    for r in results:
        reference = paper.get(r.model, {}).get(dataset) if in_paper else None
        rows.append([r.model, r.experiment]
                    + [stats.format_mean_std(r.scores("test", key)) for key in ("acc", "auc")]
                    + [stats.format_number(r.mean("val", key)) for key in ("acc", "auc")]
                    + [stats.format_number(reference[key]) if reference else "-" for key in ("acc", "auc")][:paper_columns])
    constant, source = constant_predictor_acc(results, data_dir)
    name = "always negative (constant)" if n_classes == 2 else "always the majority class (constant)"
    rows.append([name, "-", stats.format_number(constant), "0.500", "-", "-", "-", "-"][:6 + paper_columns])
    lines.append(_table(["model", "exp", "test ACC", "test AUC", "val ACC", "val AUC", "paper ACC", "paper AUC"]
                        [:6 + paper_columns], rows, "llrrrrrr"[:6 + paper_columns]))
    lines += ["", f"Constant predictor's test ACC: {source}. Its AUC is 0.5 by definition; an ACC near it is no "
              "evidence of learning on these imbalanced splits.", ""]
    if in_paper:
        benchmarks = [[method, stats.format_number(entry[dataset]["acc"]), stats.format_number(entry[dataset]["auc"]),
                       entry["parameters"]] for method, entry in paper.items() if method.startswith(BENCHMARK_PREFIXES)]
        lines += ["MedMNIST benchmarks, as listed in the paper's Table 2 (test split):", "",
                  _table(["method", "ACC", "AUC", "parameters"], benchmarks), ""]
        lines += _paper_check(dataset, results, paper)
    elif custom:
        lines += [f"{dataset} is a custom dataset (`{custom}`): the paper has no results on it.", ""]
    elif n_classes == 2 and size != 28:
        lines += [f"The paper's Table 2 is for 28^3 volumes; no paper values are shown for {size}^3.", ""]
    else:
        lines += [f"The paper's Table 2 has no {dataset} column.", ""]

    by_experiment = {}
    for r in results:
        by_experiment.setdefault(r.experiment, []).append(r)
    for experiment, group in by_experiment.items():
        stem = run_name(experiment, dataset, size)
        title = f"{experiment} on {_dataset_title(dataset, size)}"
        figures[f"figures/{stem}_scores.png"] = scores_figure(group, constant, title)
        figures[f"figures/{stem}_val_loss.png"] = val_loss_figure(group, title)
        lines += [f"### Figures: {experiment}", "",
                  f"![Test and validation ACC and AUC per model, {title}](figures/{stem}_scores.png)", "",
                  f"![Validation loss per epoch, one line per seed, {title}](figures/{stem}_val_loss.png)", ""]
    from keras_lnn.explain import slice_profile_section  # which slices the best models read

    lines += slice_profile_section(dataset, size, results, data_dir, figures, family)
    return lines + _noise_section(results)


def _paper_check(dataset, results, paper):
    """Whether each of the paper's single test scores lies where one run of ours would fall."""
    rows, inside, tested = [], {"ACC": 0, "AUC": 0}, {"ACC": 0, "AUC": 0}
    for r in results:
        reference = paper.get(r.model, {}).get(dataset)
        if not reference:
            continue
        name = f"{r.model} †" if family(r.model) == "LSTM/RNN" else r.model
        for key in ("acc", "auc"):
            ours, theirs, metric = r.scores("test", key), reference[key], key.upper()
            row = [name, metric, stats.format_number(theirs), stats.format_mean_std(ours),
                   stats.format_number(theirs - stats.mean(ours), signed=True) if ours else "-"]
            if len(ours) < 2 or not stats.std(ours):
                rows.append(row + ["-", f"not enough seeds (n={len(ours)})" if len(ours) < 2 else
                                   "no verdict (no spread over seeds)"])
                continue
            low, high = (min(max(bound, 0.0), 1.0) for bound in stats.prediction_interval(ours))  # scores are in [0, 1]
            consistent = low <= theirs <= high
            tested[metric] += 1
            inside[metric] += consistent
            rows.append(row + [f"{low:.3f} to {high:.3f}", "inside" if consistent else "outside"])
    if not rows:
        return []
    counts = ", ".join(f"{inside[k]} of {tested[k]} {k} values" for k in ("ACC", "AUC"))
    return [
        "### The paper's single runs beside these seeds", "",
        "The paper trained each model once. Its test score is consistent with this reproduction when it lies "
        "inside the 95% prediction interval for one run, mean ± t(n-1) · std · sqrt(1 + 1/n) over the seeds "
        "here (clipped to 0-1); outside it, the gap is more than seed noise (framework, implementation or data "
        "handling). With 2 seeds the interval is wide (t(1) = 12.7), so an \"inside\" there says little. "
        f"Inside: {counts}.", "",
        _table(["model", "metric", "paper", "here", "paper - here", "95% interval for one run", "paper's value"],
               rows, "llrrrrl"),
        "", "† LSTM/RNN baseline: the paper's recurred across the batch, these across slices (see Notes).", "",
    ]


def family(model):
    """"LTC" (Liq*, Cfc*), "CNN", "LSTM/RNN", or None for another name."""
    for name, prefixes in FAMILIES:
        if model.startswith(prefixes):
            return name
    return None


def _noise_section(results):
    """Welch's t-tests between the best model of each family (by mean test AUC) on one dataset."""
    bests = {}
    for r in results:
        name = family(r.model)
        if name and r.mean() is not None and (name not in bests or r.mean() > bests[name].mean()):
            bests[name] = r
    lines = ["### Which differences exceed seed noise", ""]
    if len(bests) < 2:
        return lines + ["Fewer than two model families (LTC, CNN, LSTM/RNN) have finished runs: nothing to compare.",
                        ""]
    chosen = "; ".join(f"{k}: {v.model}, {stats.format_mean_std(v.scores('test', 'auc'))}" for k, v in bests.items())
    lines += [f"Best model of each family by mean test AUC: {chosen}.", "",
              f"Test: {stats.TEST_NAME} on the per-seed test scores, alpha = {stats.ALPHA}. The family bests are "
              "picked on these same scores, so the p-values are, if anything, optimistic.", ""]
    rows = []
    pairs = list(itertools.combinations(bests.values(), 2))
    for a, b in pairs:
        for key in ("auc", "acc"):
            label = f"{a.model} vs {b.model}"
            x, y = a.scores("test", key), b.scores("test", key)
            if len(x) < 2 or len(y) < 2:
                rows.append([label, key.upper(), stats.format_number(stats.mean(x) - stats.mean(y), signed=True),
                             "-", "-", "-", f"not enough seeds (n={len(x)} and {len(y)})"])
                continue
            result = stats.welch_t_test(x, y)
            rows.append([label, key.upper(), stats.format_number(result.difference, signed=True),
                         stats.format_number(result.t, 2), stats.format_number(result.df, 1),
                         stats.format_p_value(result.p_value), result.verdict()])
    lines.append(_table(["comparison", "metric", "difference", "t", "df", "p", "verdict"], rows, "llrrrrl"))
    return lines + [""] + _paired_section(pairs)


def read_test_predictions(metrics):
    """`(labels, probabilities)` of the test split from the predictions.csv beside a metrics file, or None.

    Binary models only; None also where the file is absent (runs made before it was written) or unreadable.
    """
    path = Path(metrics["_path"]).parent / "predictions.csv"
    try:
        with open(path, newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row["split"] == "test"]
        return [int(row["label"]) for row in rows], [float(row["probability"]) for row in rows]
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _paired_section(pairs):
    """DeLong's test on the same test volumes, per seed where both models of a pair wrote predictions.csv."""
    rows, read = [], {}

    def predictions(metrics):  # a family best is in several pairs: read its files once
        if metrics["_path"] not in read:
            read[metrics["_path"]] = read_test_predictions(metrics)
        return read[metrics["_path"]]

    for a, b in pairs:
        runs_b = {m["seed"]: m for m in b.finished}
        for run_a in a.finished:
            run_b = runs_b.get(run_a["seed"])
            first, second = predictions(run_a), run_b and predictions(run_b)
            if not first or not second or first[0] != second[0]:
                continue  # no predictions, or not the same volumes
            try:
                result = stats.delong_test(first[0], first[1], second[1])
            except ValueError:
                continue
            rows.append([f"{a.model} vs {b.model}", run_a["seed"], stats.format_number(result.auc_a),
                         stats.format_number(result.auc_b), stats.format_number(result.difference, signed=True),
                         stats.format_number(result.z, 2), stats.format_p_value(result.p_value), result.verdict()])
    if not rows:
        return []
    return ["### Which differences exceed test-set noise", "",
            f"Test: {stats.DELONG_NAME}, per seed, on the test probabilities in each run's predictions.csv, "
            f"alpha = {stats.ALPHA}: how far an AUC difference could move on another test set of the same size, "
            "which the seeds above cannot show.", "",
            _table(["comparison", "seed", "first AUC", "second AUC", "difference", "z", "p", "verdict"], rows, "lrrrrrrl"), ""]


def _training_cost(results):
    """Epochs to the early stop and training time per model: what a study costs, and how the rule behaved."""
    rows = []
    for r in results:
        epochs = [m["epochs"] for m in r.finished]
        seconds = [m.get("train_seconds") or 0.0 for m in r.finished]
        if not epochs:
            continue
        rows.append([r.dataset, r.model, len(epochs), f"{stats.mean(epochs):.0f}", f"{min(epochs)}-{max(epochs)}",
                     _seconds_per_epoch(r.finished), f"{sum(seconds) / 60:.1f}"])
    if not rows:
        return []
    headers = ["dataset", "model", "n", "mean epochs", "range", "s / epoch", "total minutes"]
    return ["## Training cost", "",
            "Epochs trained until the early-stopping rule fired (or the epoch limit), and wall time of the epochs "
            "(training and validation). Seconds per epoch are given per device where a model's runs finished on "
            "several (a run resumed on another device counts under the one that finished it).", "",
            _table(headers, rows, "llrrrrr"), ""]


def _seconds_per_epoch(finished):
    """Seconds per epoch over these runs, one figure per device that finished them ("0.45 gpu:X; 21.3 cpu")."""
    by_device = {}
    for m in finished:
        device = _version(m, "device")
        seconds, epochs = by_device.get(device, (0.0, 0))
        by_device[device] = (seconds + (m.get("train_seconds") or 0.0), epochs + m["epochs"])
    figures = {device: seconds / epochs for device, (seconds, epochs) in by_device.items() if epochs}
    if not figures:
        return "-"
    if len(figures) == 1:
        return f"{next(iter(figures.values())):.2f}"
    return "; ".join(f"{per_epoch:.2f} {device or 'unknown'}" for device, per_epoch in sorted(figures.items(), key=str))


def build_markdown(paths, all_metrics, data_dir=None, intro=None, unfinished=()):
    """The report's markdown and its figures (`{relative path: PNG bytes}`).

    `intro` goes under the title; `unfinished` (from `find_unfinished`) marks part-trained runs.
    """
    results = group_results(all_metrics)
    figures = {}
    lines = _header(paths, all_metrics, results, intro) + _completeness(results, unfinished) + _audit(results)
    for (dataset, size), group in _by_dataset(results).items():
        lines += _dataset_section(dataset, size, group, data_dir, figures)
    lines += _training_cost(results)
    lines += ["## Notes", "", LAYOUT_NOTE, ""]
    return "\n".join(lines), figures


# ---------------------------------------------------------------- markdown -> HTML
CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 72em; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
code { font-family: Menlo, Consolas, monospace; font-size: 0.92em; }
img { max-width: 100%; }
"""


def _inline(text):
    """Escapes HTML, then renders `code` and **bold** (the only inline markup the report writes)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(part)))
    return "".join(out)


def _split_row(line):
    """The cells of a pipe-table row; `\\|` is a literal pipe inside a cell."""
    cells = re.split(r"(?<!\\)\|", line.strip()[1:])  # [1:]: the leading pipe
    if cells and not cells[-1].strip():
        cells.pop()  # after the closing pipe
    return [c.strip().replace("\\|", "|") for c in cells]


def _html_table(lines):
    header, body = lines[0], lines[1:]
    align = []
    if body and re.fullmatch(r"\|[\s:|-]+\|?", body[0].strip()):
        align, body = ["r" if cell.endswith(":") else "l" for cell in _split_row(body[0])], body[1:]
    classes = ['' if a == "l" else ' class="r"' for a in align]

    def row(line, tag):
        cells = _split_row(line)
        return "<tr>" + "".join(
            f"<{tag}{classes[i] if i < len(classes) else ''}>{_inline(c)}</{tag}>" for i, c in enumerate(cells)
        ) + "</tr>"

    return ["<table>", row(header, "th"), *(row(line, "td") for line in body), "</table>"]


def markdown_to_html(markdown, images=None, title="keras-lnn report"):
    """A self-contained HTML page from the markdown subset the report writes.

    Handles headings, paragraphs, pipe tables, fenced code, "- " lists and
    images alone on a line; inline `code` and **bold**. Images are embedded as
    base64 data URIs from `images` (`{src: PNG bytes}`), so the page needs no
    other file.

    Args:
        markdown: the text.
        images: `{path as written in the markdown: PNG bytes}`.
        title: the page's `<title>`.

    Example:

    >>> page = markdown_to_html("# Title\\n\\n| a | b |\\n|---|---:|\\n| x | 1 |")
    >>> "<h1>Title</h1>" in page and '<td class="r">1</td>' in page
    True
    """
    images = images or {}
    lines = markdown.splitlines()
    out, paragraph, i = [], [], 0

    def flush():
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        image = re.fullmatch(r"!\[([^\]]*)\]\(([^)]+)\)", stripped)
        if stripped.startswith("```"):
            flush()
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
            out.append("<pre><code>" + html.escape("\n".join(lines[i + 1:end])) + "</code></pre>")
            i = end + 1
            continue
        if stripped.startswith("|"):
            flush()
            end = next((j for j in range(i, len(lines)) if not lines[j].strip().startswith("|")), len(lines))
            out += _html_table(lines[i:end])
            i = end
            continue
        if stripped.startswith("- "):
            flush()
            end = next((j for j in range(i, len(lines)) if not lines[j].strip().startswith("- ")), len(lines))
            out += ["<ul>"] + [f"<li>{_inline(item.strip()[2:])}</li>" for item in lines[i:end]] + ["</ul>"]
            i = end
            continue
        heading = re.match(r"(#{1,6}) (.*)", stripped)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif image:
            flush()
            alt, src = image.groups()
            if src in images:
                src = "data:image/png;base64," + base64.b64encode(images[src]).decode("ascii")
            out.append(f'<p><img alt="{html.escape(alt)}" src="{html.escape(src)}"></p>')
        elif stripped:
            paragraph.append(stripped)
        else:
            flush()
        i += 1
    flush()
    body = "\n".join(out)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


# ---------------------------------------------------------------- writing
def _write_bytes(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    # open() rather than mkstemp: the file gets the user's umask, not 0600.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)  # a reader never sees half a PNG
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_report(run_dirs, output, data_dir=None, name="report", intro=None):
    """Writes report.md, report.html and figures/*.png for the runs under `run_dirs`.

    Args:
        run_dirs: run folders, or folders holding them (searched recursively for metrics.json).
        output: folder for the report (created).
        data_dir: MedMNIST root, read only for the constant predictor's test labels
            (None: `$KERAS_LNN_DATA_DIR` or `~/.medmnist`).
        name: file name stem of the report (`results` writes results.md and results.html).
        intro: markdown placed under the title (how and where the runs were made, say).

    Returns:
        `{"markdown": Path, "html": Path, "figures": [Path, ...]}`.

    Raises:
        ReportError: no metrics file found, or one that cannot be read (named).

    Example:

    ```python
    write_report(["saved_models/exp2_vessel_seed0", "saved_models/exp2_vessel_seed1"], "report")
    ```
    """
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    all_metrics = [load_metrics(path) for path in find_metrics_files(run_dirs)]
    markdown, figures = build_markdown(list(run_dirs), all_metrics, data_dir, intro, find_unfinished(run_dirs))
    output = Path(output)
    for relative, png in figures.items():
        _write_bytes(output / relative, png)
    atomic_write_text(output / f"{name}.html", markdown_to_html(markdown, figures))
    atomic_write_text(output / f"{name}.md", markdown)
    return {"markdown": output / f"{name}.md", "html": output / f"{name}.html",
            "figures": [output / relative for relative in figures]}
