"""One model's run: trained, evaluated and saved in its folder, resumably, under its lock."""
import dataclasses
import functools
import os
import shutil
import socket
import time

from keras_lnn import models
from keras_lnn.deploy import export
from keras_lnn.deploy.tta import TTA_VIEWS, tta_probabilities
from keras_lnn.runs import artifacts
from keras_lnn.runs.card import FILE as CARD_FILE
from keras_lnn.runs.medmnist_files import FOLDER as MEDMNIST_FOLDER
from keras_lnn.runs.outputs import write_evaluation_files
from keras_lnn.runs.predictions import FILE as PREDICTIONS_FILE, Predictions, write_predictions
from keras_lnn.errors import RunError
from keras_lnn.io import atomic_write_json
from keras_lnn.locks import model_lock
from keras_lnn.runs.record import metrics_record
from keras_lnn.runs.settings import model_settings
from keras_lnn.system import provenance

SESSIONS_FILE = "sessions.json"  # while a model trains; then part of metrics.json


@dataclasses.dataclass(frozen=True, eq=False)
class ModelRun:
    """One model of a run, with what its training needs worked out once: its folder, settings and log folder.

    Attributes:
        plan: the `RunPlan` the model belongs to (its run folder, experiment and seed).
        name: a registered model name.
        data: the loaded dataset.
        config: the `RunConfig` (protocol, training options, verbose, overwrite, tensorboard).
        class_weights: the training options' class weights for `data`'s training split, computed once
            per run (`TrainingOptions.class_weights`; None: none).
    """

    plan: object
    name: str
    data: object
    config: object
    class_weights: object = None

    @property
    def folder(self):
        """The model's folder in the run folder."""
        return self.plan.run_dir / self.name

    @functools.cached_property
    def settings(self):
        """What the folder's results come from (`model_settings`): settings.json, checked on a rerun."""
        return model_settings(self.plan, self.name, self.data, self.config.protocol, self.config.training_options)

    @property
    def log_dir(self):
        """Where TensorBoard's logs go (`<tensorboard>/<run folder>/<model>`), or None without `--tensorboard`."""
        tensorboard = self.config.tensorboard
        return None if tensorboard is None else os.path.join(tensorboard, self.plan.run_dir.name, self.name)


def run_model_locked(run, echo=print):
    """`run_model` while holding the model's lock (see `keras_lnn.locks`); raises `ModelBusy` if another holds it."""
    with model_lock(run.folder):
        return run_model(run, echo)


def run_model(run, echo=print):
    """Trains, evaluates and saves one model (a `ModelRun`); returns its metrics dict (read back if already done).

    Call it holding the model's lock (`run_model_locked`): it reads and rewrites the whole folder.

    Args:
        run: the `ModelRun`.
        echo: prints a line of progress.
    """
    import keras

    from keras_lnn import training

    plan, data, config, model_dir, settings = run.plan, run.data, run.config, run.folder, run.settings
    protocol, options = config.protocol, config.training_options
    if config.overwrite and model_dir.exists() and not _holds_results_of(model_dir, settings):
        shutil.rmtree(model_dir)
    first_epoch = artifacts.check_model_dir(model_dir)
    if (model_dir / "metrics.json").exists():
        metrics = artifacts.read_metrics(model_dir)
        _remove_finished_leftovers(model_dir)  # left by a kill right after metrics.json
        echo(f"    already {metrics['status']}: {model_dir / 'metrics.json'}")
        return metrics
    _remove_unfinished_outputs(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    if not (model_dir / "settings.json").exists():
        atomic_write_json(model_dir / "settings.json", settings)

    environment = provenance.environment()  # this process: the session's record and, if it finishes, the run's
    sessions = _start_session(model_dir, first_epoch, environment, run.log_dir)
    try:
        keras.utils.set_random_seed(plan.seed)
        model = models.create_model(run.name, input_size=data.size, n_classes=data.info.n_classes)
        training.compile_model(model, protocol, data.info.n_classes, train_size=len(data.train[1]))
        # The backup stays until metrics.json is written: a kill while saving resumes without retraining.
        result = training.fit(model, data, protocol, model_dir, verbose=config.verbose, seed=plan.seed,
                              keep_backup=True, options=options, first_epoch=first_epoch,
                              class_weights=run.class_weights,
                              extra_callbacks=[training.tensorboard_callback(run.log_dir)] if run.log_dir else ())
        for session, following in zip(sessions, [*sessions[1:], {"first_epoch": len(result.history)}]):
            session["epochs"] = following["first_epoch"] - session["first_epoch"]
        predictions = None
        if not result.nan_loss:
            predictions = _predict_splits(model, data, protocol, options.tta)
            write_predictions(model_dir / PREDICTIONS_FILE, predictions.splits, predictions.tta)
            _save_keras(model, model_dir / "model.keras")
            if keras.backend.backend() == "tensorflow":
                export.export_saved_model(model, model_dir / export.SERVING_VERSION)
        metrics = metrics_record(settings, result, model, data, protocol, environment, sessions, predictions,
                                 tta_views=len(TTA_VIEWS) if options.tta else None)
        if predictions is not None:
            write_evaluation_files(model_dir, metrics, predictions)
        atomic_write_json(model_dir / "metrics.json", metrics)  # last: marks the model done
        _remove_finished_leftovers(model_dir)
        return metrics
    finally:
        keras.backend.clear_session()


def _predict_splits(model, data, protocol, tta=False):
    """The model's val and test probabilities, as `Predictions`; with `tta` also their 8-flip means."""
    from keras_lnn import training

    splits, averaged = {}, {}
    for split in ("val", "test"):
        x, y = data.split(split)
        splits[split] = (y, training.predict_probabilities(model, x, protocol.batch_size))
        if tta:
            averaged[split] = tta_probabilities(lambda v: training.predict_probabilities(model, v, len(v)), x,
                                                         protocol.batch_size)
    return Predictions(splits, averaged or None)


def _holds_results_of(model_dir, settings):
    """Whether `model_dir` is readable and comes from `settings` (else `--overwrite` replaces it)."""
    try:
        artifacts.check_model_dir(model_dir)
        return (model_dir / "settings.json").exists() and artifacts.read_settings(model_dir) == settings
    except RunError:
        return False


def _remove_finished_leftovers(model_dir):
    """What a finished model no longer needs: the sessions record (now in metrics.json) and the backup."""
    (model_dir / SESSIONS_FILE).unlink(missing_ok=True)
    shutil.rmtree(model_dir / "backup", ignore_errors=True)


def _remove_unfinished_outputs(model_dir):
    """Outputs of an attempt killed before its metrics.json: the model is trained again and they are rewritten.

    Left in place, a SavedModel of that attempt would never be replaced (exports only fill gaps).
    """
    shutil.rmtree(model_dir / export.SERVING_VERSION, ignore_errors=True)
    shutil.rmtree(model_dir / MEDMNIST_FOLDER, ignore_errors=True)
    for leftover in [model_dir / "model.keras", model_dir / PREDICTIONS_FILE, model_dir / CARD_FILE,
                     *model_dir.glob(".*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)  # atomic_replace_dir's temporary folders
        else:
            leftover.unlink(missing_ok=True)  # atomic writes' temporary files


# What each session records of `provenance.environment()`: a resumed model can change machine or settings.
SESSION_FACTS = ("device", "backend_version", "deterministic_ops", "platform", "cpu", "onednn", "threads", "huge_pages")


def _start_session(model_dir, first_epoch, environment, tensorboard=None):
    """Records, in `sessions.json`, which machine and software train a model from `first_epoch` on.

    An interrupted run resumes wherever it is started again (a GPU call, then a CPU), so one
    model can be trained by several. Sessions that left no finished epoch are dropped.

    Args:
        environment: `provenance.environment()` of this process.
        tensorboard: the folder this session writes TensorBoard logs to, recorded as `tensorboard` (if any).

    Returns:
        The sessions so far, this one last (`first_epoch`, `started_at`, host, pid, device, versions).
    """
    path = model_dir / SESSIONS_FILE
    sessions = [s for s in (artifacts.read_sessions(model_dir) if path.exists() else []) if s["first_epoch"] < first_epoch]
    sessions.append({
        "first_epoch": first_epoch,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        **{key: environment[key] for key in SESSION_FACTS},
        **({"tensorboard": str(tensorboard)} if tensorboard else {}),
    })
    atomic_write_json(path, sessions)
    return sessions


def _save_keras(model, path):
    tmp = path.with_name(f".tmp-{path.name}")  # Keras wants the .keras suffix
    model.save(tmp)
    tmp.replace(path)
