"""Checks of what a rerun reads back from a model folder: an unreadable file is one clear error, not a traceback.

A rerun reads `settings.json`, `metrics.json`, `sessions.json`, `history.csv` and the
`backup/` of an interrupted model. Each is written atomically or repaired on resume, so an
unreadable one was damaged from outside (a full disk, a hand edit, a broken copy); the error
names it and says how to start the model afresh.

Example:

```python
check_model_dir(Path("saved_models/exp1_adrenal/CNNExp1N4"))   # raises RunError if one is unreadable
```
"""
import csv
from pathlib import Path

from keras_lnn.io import read_json_artifact, unreadable
from keras_lnn.training.resume import resume_epoch


def read_settings(model_dir):
    return read_json_artifact(Path(model_dir) / "settings.json", model_dir)


def read_metrics(model_dir):
    return read_json_artifact(Path(model_dir) / "metrics.json", model_dir, keys=("model", "status", "epochs", "params"))


def read_sessions(model_dir):
    path = Path(model_dir) / "sessions.json"
    sessions = read_json_artifact(path, model_dir, expected=list)
    if not all(isinstance(s, dict) and isinstance(s.get("first_epoch"), int) for s in sessions):
        raise unreadable(path, model_dir, "a session without an integer first_epoch")
    return sessions


def check_history(model_dir, epochs):
    """The first `epochs` rows of `history.csv` (those a resume keeps) must be epochs 0..epochs-1 with a val_loss."""
    path = Path(model_dir) / "history.csv"
    if not epochs:
        return
    try:
        with open(path, newline="") as handle:
            rows = [row for _, row in zip(range(epochs), csv.DictReader(handle))]
        found = [int(row["epoch"]) for row in rows]
        [float(row["val_loss"]) for row in rows]
    except FileNotFoundError:
        raise unreadable(path, model_dir, f"missing, but the backup holds {epochs} epochs") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise unreadable(path, model_dir, f"{type(error).__name__}: {error}") from None
    if found != list(range(epochs)):
        raise unreadable(path, model_dir, f"its epochs are {found[:10]}..., expected 0..{epochs - 1} (the backup's)")


def check_model_dir(model_dir):
    """Reads every artifact a rerun of `model_dir` reads; raises `RunError` naming the first unreadable one.

    Call it while holding the model's lock: `history.csv` and `backup/` change during training.

    Returns:
        The epoch a rerun resumes from (`keras_lnn.training.resume_epoch`); None for a finished model.
    """
    model_dir = Path(model_dir)
    if (model_dir / "settings.json").exists():
        read_settings(model_dir)
    if (model_dir / "metrics.json").exists():
        read_metrics(model_dir)
        return None  # finished: nothing else is read again
    if (model_dir / "sessions.json").exists():
        read_sessions(model_dir)
    first_epoch = resume_epoch(model_dir)
    check_history(model_dir, first_epoch)
    return first_epoch
