"""What a killed run resumes from: history.csv (truncated to the backup) and the last epoch's weights and optimizer."""
import csv
import os
import shutil
from pathlib import Path

import keras

from keras_lnn.io import atomic_write_json, atomic_write_text, read_json, read_json_artifact, unreadable


def read_history(path):
    """history.csv as a list of dicts with float values (and int `epoch`)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in rows]


def truncate_history(path, epochs):
    """Keeps the first `epochs` rows: a run killed between logging and backing up an epoch repeats it."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, newline="") as handle:
        lines = handle.read().splitlines(keepends=True)
    if epochs == 0:
        path.unlink()
    elif len(lines) > epochs + 1:
        atomic_write_text(path, "".join(lines[: epochs + 1]))


def resume_epoch(model_dir):
    """The epoch `fit` on `model_dir` would start from: the finished epochs its `backup/` holds (0 if none).

    Raises:
        RunError: the backup's `training_metadata.json` is unreadable or names a missing weights file.
    """
    path = Path(model_dir) / "backup" / "training_metadata.json"
    if not path.exists():
        return 0
    saved = read_json_artifact(path, model_dir, keys=("epoch",))
    weights = path.parent / str(saved.get("weights", "latest.weights.h5"))
    if not isinstance(saved["epoch"], int) or saved["epoch"] < 0:
        raise unreadable(path, model_dir, f"epoch {saved['epoch']!r} is not a count of epochs")
    if saved["epoch"] and not weights.is_file():
        raise unreadable(path, model_dir, f"its weights file {weights.name} is missing")
    return saved["epoch"]


class EpochBackup(keras.callbacks.Callback):
    """Keeps the last finished epoch's weights and optimizer state in `backup_dir`; restores them on train begin.

    Like `keras.callbacks.BackupAndRestore`, but a kill at any moment leaves a consistent
    backup: each epoch's weights go to a file of their own, then `training_metadata.json`
    (written atomically) is switched to them. Keras's callback writes its weights and its
    epoch count in place one after the other, so a kill between the two resumes new weights
    at an old epoch. The folder is deleted when training ends, unless `keep` (a caller that
    still has work to do with the trained model deletes it when that is done: a kill in
    between then resumes at the last epoch, with nothing left to train).

    Args:
        backup_dir: the folder of the backup.
        keep: leave the folder when training ends.
    """

    METADATA = "training_metadata.json"

    def __init__(self, backup_dir, keep=False):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.keep = keep

    def on_train_begin(self, logs=None):
        metadata = self.backup_dir / self.METADATA
        if not metadata.exists():
            return
        saved = read_json(metadata)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its variables must exist to be loaded
        self.model.load_weights(self.backup_dir / saved["weights"])
        self.model._initial_epoch = saved["epoch"]  # what BackupAndRestore sets: fit starts there

    def on_epoch_end(self, epoch, logs=None):
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{epoch + 1}.weights.h5"
        self.model.save_weights(self.backup_dir / weights, overwrite=True)
        with open(self.backup_dir / weights, "rb+") as handle:
            os.fsync(handle.fileno())  # on disk before the metadata points at it
        atomic_write_json(self.backup_dir / self.METADATA, {"epoch": epoch + 1, "weights": weights})
        for old in self.backup_dir.glob("epoch-*.weights.h5"):
            if old.name != weights:
                old.unlink()

    def on_train_end(self, logs=None):
        if not self.keep:
            shutil.rmtree(self.backup_dir, ignore_errors=True)
