"""`fit`: `model.fit` under the protocol with its callbacks in order, resumable; its result and best epoch."""
import dataclasses
import math
import time
from pathlib import Path

import keras
import numpy as np

from keras_lnn.training.batches import EpochSeeds, training_inputs
from keras_lnn.training.progress import StoppingProgbar
from keras_lnn.training.protocol import PaperEarlyStopping
from keras_lnn.training.resume import EpochBackup, read_history, resume_epoch, truncate_history


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to each epoch's logs, so history.csv records time and resumed runs add up.

    It must come before `CSVLogger` in the callback list: Keras passes one logs
    dict to every callback in turn.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


@dataclasses.dataclass
class FitResult:
    """What `fit` leaves besides the trained model: the history rows (with `epoch_seconds`) and how it ended."""

    history: list
    stopped_early: bool
    nan_loss: bool


def fit(model, dataset, protocol, work_dir, verbose=2, extra_callbacks=(), seed=0, keep_backup=False, options=None,
        first_epoch=None, class_weights=None):
    """Trains `model` on `dataset` under `protocol`, resumable from `work_dir`.

    `work_dir` receives `history.csv` (one row per epoch, `epoch` from 0) and a
    `backup/` folder (`EpochBackup`) that lets a killed run
    resume from its last finished epoch; it is deleted when training ends, unless
    `keep_backup` (then the caller deletes it once the trained model is saved).
    With `verbose`, each of Keras's epoch lines is followed by the early-stopping state
    (`StoppingProgbar`). `options` (`TrainingOptions`: augmentation, class weights) shape the
    training batches only: the validation loss the stopping rule reads is Keras's, unweighted.
    `first_epoch`: the epoch it resumes from, where the caller has read it (`resume_epoch(work_dir)`);
    `class_weights`: the options' class weights, where the caller computed them (see `training_inputs`).

    Returns:
        A `FitResult`; the model holds the stopping epoch's weights.
    """
    work_dir = Path(work_dir)
    history_path, backup_dir = work_dir / "history.csv", work_dir / "backup"
    done = resume_epoch(work_dir) if first_epoch is None else first_epoch
    truncate_history(history_path, done)
    previous = [row["val_loss"] for row in read_history(history_path)]
    stopping = PaperEarlyStopping(protocol.patience, protocol.min_delta, previous=previous)
    # Callback order matters on epoch end: the history row is written before the
    # backup, so a kill in between only leaves a row that resuming truncates.
    callbacks = [
        EpochTimer(),
        keras.callbacks.CSVLogger(str(history_path), append=True),
        stopping,
        EpochBackup(backup_dir, keep=keep_backup),
        keras.callbacks.TerminateOnNaN(),
        EpochSeeds(seed),
        *extra_callbacks,
        *([StoppingProgbar(stopping)] if verbose else []),
    ]
    model.fit(
        **training_inputs(model, dataset.train, protocol, seed, first_epoch=done, options=options,
                          class_weights=class_weights),
        # A resumed run whose rule had already fired trains no further epoch.
        epochs=done if stopping.should_stop else protocol.max_epochs,
        validation_data=dataset.val,
        validation_batch_size=protocol.batch_size,
        callbacks=callbacks,
        verbose=verbose,
    )
    history = read_history(history_path)
    nan_loss = any(math.isnan(row.get("loss", 0.0)) or math.isnan(row.get("val_loss", 0.0)) for row in history)
    return FitResult(history, stopping.should_stop, nan_loss or _nan_weights(model))


def _nan_weights(model):
    return any(not np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in model.weights)


def best_epoch_summary(history):
    """The epoch with the lowest validation loss and its logged validation metrics."""
    if not history:
        return None, {}
    best = min(history, key=lambda row: row["val_loss"])
    metrics = {k[len("val_"):]: v for k, v in best.items() if k.startswith("val_")}
    return best["epoch"], metrics
