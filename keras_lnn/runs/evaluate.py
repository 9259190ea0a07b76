"""`lnn-keras evaluate`: every metric of finished models recomputed from their predictions.csv, without retraining.

metrics.json is rewritten (atomically, under the model's lock) with version 2's split records
(docs/records.md), its training record (sessions, versions, data, ...) kept; a version-1 file's
`best_val` becomes `best_val_logged`. The MedMNIST result files, the model card and each run
folder's summary.csv are written again. It lives with the runs, not in `keras_lnn.evaluation`,
because it rewrites run folders (their summary.csv).

Example:

```python
outcome = evaluate_runs(["saved_models"])   # every metrics.json below saved_models
outcome.ok, len(outcome.evaluated)
```
"""
import dataclasses
from pathlib import Path

from keras_lnn import evaluation
from keras_lnn.runs import artifacts
from keras_lnn.errors import EvaluationError, KerasLnnError, RunError
from keras_lnn.io import atomic_write_json
from keras_lnn.locks import ModelBusy, model_lock
from keras_lnn.deploy.tta import TTA_VIEWS, tta_probabilities
from keras_lnn.runs.outputs import write_evaluation_files
from keras_lnn.runs.predictions import FILE as PREDICTIONS_FILE, read_predictions, write_predictions
from keras_lnn.runs.summary import write_summary


@dataclasses.dataclass
class EvaluateOutcome:
    """What `evaluate_runs` did.

    Attributes:
        evaluated: model folders whose metrics were recomputed.
        not_finished: model folders of failed models (their record brought to version 2, nothing to evaluate).
        busy: one line per model another process holds (skipped).
        errors: one line per model or file that could not be evaluated, naming the file.
    """

    evaluated: list = dataclasses.field(default_factory=list)
    not_finished: list = dataclasses.field(default_factory=list)
    busy: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        """True when every model was evaluated (or had nothing to evaluate): no busy model, no error."""
        return not self.busy and not self.errors


def model_dirs_below(paths):
    """The model folders (holding a metrics.json) at or below each of `paths`, sorted, each once.

    Raises:
        RunError: a path holds no metrics.json at all.
    """
    found = set()
    for path in map(Path, paths):
        below = [path / "metrics.json"] if (path / "metrics.json").is_file() else sorted(path.rglob("metrics.json"))
        if not below:
            raise RunError(f"{path}: no metrics.json at or below it (expected a run folder of `lnn-keras run`)")
        found.update(p.parent.resolve() for p in below)
    return sorted(found)


def evaluate_model(model_dir, tta=False, data_dir=None):
    """Recomputes one model's metrics from its predictions.csv and rewrites its metrics.json, MedMNIST files
    and card. Call it holding the model's lock.

    Args:
        model_dir: a finished model's folder.
        tta: also evaluate test-time augmentation (the mean over the 8 flips of each volume): its
            probabilities are computed with the folder's model.keras on the data the run used and
            added to predictions.csv as `_tta` columns (the plain ones stay), then evaluated.
        data_dir: MedMNIST root for `tta` (None: the default one, or the path the run recorded).

    Returns:
        `(metrics, evaluated)`: the new metrics dict; `evaluated` False for a failed model (record upgraded only).

    Raises:
        EvaluationError, RunError: predictions.csv or metrics.json missing or damaged (one line, naming it).
    """
    model_dir = Path(model_dir)
    metrics = artifacts.read_metrics(model_dir)
    if metrics["status"] != "finished":
        updated = evaluation.upgraded_record(metrics)
        atomic_write_json(model_dir / "metrics.json", updated)
        return updated, False
    path = model_dir / PREDICTIONS_FILE
    predictions = read_predictions(path, metrics.get("n_classes"))
    expected = (metrics.get("data") or {}).get("n_samples") or {}
    for split, (labels, _) in predictions.splits.items():
        if split in expected and expected[split] != len(labels):
            raise EvaluationError(f"{path}: {len(labels)} {split} rows, but metrics.json's data has {expected[split]}")
    views = None
    if tta:
        predictions = dataclasses.replace(predictions, tta=_tta_probabilities(model_dir, metrics, predictions, data_dir))
        write_predictions(path, predictions.splits, predictions.tta)
        views = len(TTA_VIEWS)
    try:
        updated = evaluation.evaluated_metrics(metrics, predictions, views=views)
        atomic_write_json(model_dir / "metrics.json", updated)
        write_evaluation_files(model_dir, updated, predictions)
    except (KeyError, TypeError, AttributeError) as error:  # a metrics.json edited or made by other code
        raise EvaluationError(f"{model_dir / 'metrics.json'}: unexpected content ({type(error).__name__}: {error})") from None
    return updated, True


def _tta_probabilities(model_dir, metrics, predictions, data_dir):
    """`{split: probabilities}` averaged over the 8 flips, from model.keras on the data the run recorded.

    Raises:
        EvaluationError: the data's labels or MD5 are not those of the run (another file), named.
    """
    import keras
    import numpy as np

    from keras_lnn import load_model, training
    from keras_lnn.data import load_dataset, run_dataset_source

    data = load_dataset(run_dataset_source(metrics, data_dir=data_dir, where=str(model_dir)), verify=False, dtype="uint8")
    if metrics.get("data_md5") and data.md5 != metrics["data_md5"]:
        raise EvaluationError(f"{data.path} (MD5 {data.md5}) is not the file {model_dir} was trained on "
                              f"(MD5 {metrics['data_md5']}): pass --data-dir with that file")
    batch_size = (metrics.get("protocol") or {}).get("batch_size", 64)
    model = load_model(model_dir, compile=False)
    try:
        averaged = {}
        for split, (labels, _) in predictions.splits.items():
            x, y = data.split(split)
            if not np.array_equal(np.ravel(y), np.ravel(labels)):
                raise EvaluationError(f"{data.path}: its {split} labels are not those of {model_dir / PREDICTIONS_FILE}")
            averaged[split] = tta_probabilities(lambda v: training.predict_probabilities(model, v, len(v)), x, batch_size)
        return averaged
    finally:
        keras.backend.clear_session()


def evaluate_runs(paths, echo=print, tta=False, data_dir=None):
    """Evaluates every model folder at or below `paths` (run folders, folders of them, or model folders).

    Each model is taken under its lock (`keras_lnn.locks.model_lock`); a busy one is listed and skipped,
    a damaged one listed with one line, and the others go on. Then each run folder's summary.csv is
    rewritten.

    Args:
        paths: folders.
        echo: prints a line per model.
        tta, data_dir: see `evaluate_model`.

    Returns:
        An `EvaluateOutcome`.

    Raises:
        RunError: a path holds no metrics.json.
    """
    outcome = EvaluateOutcome()
    run_dirs = set()
    for model_dir in model_dirs_below(paths):
        try:
            with model_lock(model_dir):
                metrics, evaluated = evaluate_model(model_dir, tta, data_dir)
        except ModelBusy as busy:
            outcome.busy.append(str(busy))
            echo(f"busy: {busy}")
            continue
        except KerasLnnError as error:
            outcome.errors.append(str(error))
            echo(f"not evaluated: {error}")
            continue
        run_dirs.add(model_dir.parent)
        if evaluated:
            outcome.evaluated.append(model_dir)
            test = metrics["test"]
            echo(f"{model_dir}: test ACC {test['acc']:.3f} {_interval(test['acc_ci95'])}, "
                 f"AUC {_number(test['auc'])} {_interval(test['auc_ci95'])}"
                 + (f"; with TTA AUC {_number(metrics['tta']['test']['auc'])}" if metrics.get("tta") else ""))
        else:
            outcome.not_finished.append(model_dir)
            echo(f"{model_dir}: {metrics['status']}, nothing to evaluate (its record is brought to version 2)")
    for run_dir in sorted(run_dirs):
        try:
            write_summary(run_dir)
        except KerasLnnError as error:
            outcome.errors.append(f"{run_dir / 'summary.csv'} not rewritten: {error}")
            echo(f"not rewritten: {run_dir / 'summary.csv'}: {error}")
    return outcome


def _number(value):
    return "-" if value is None else f"{value:.3f}"


def _interval(pair):
    return "" if not pair else f"[{pair[0]:.3f}, {pair[1]:.3f}]"
