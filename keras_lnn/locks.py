"""One process per model: a lock beside each model folder, held while the model trains, evaluates and exports.

`filelock` takes an OS lock (`flock`) on `<run_dir>/.<model>.lock`. The OS drops it when its
holder dies (a kill -9; on a network file system, when a lost node's lease runs out), so the
same command run again takes a dead holder's model over with nothing to clean up. The lock
sits beside the model folder, not in it, so `--overwrite` can delete the folder while holding
it. Who holds it (host, pid, since when) is written next to it, `.<model>.lock.json`, for the
message of a process that finds the model busy. Between taking the lock and writing that record
(and between removing it and letting go) a holder is briefly anonymous: a process that finds the
lock taken in that moment looks again for up to `SETTLE_SECONDS`, taking the lock if it comes free
and naming the holder once its record appears.

Beside the per-model locks, one lock per run folder (`run_folder_lock`, `<run_dir>/.run-folder.lock`)
guards the files that sum up the whole folder (summary.csv, models.config). Each is rebuilt from
the finished models' files: list them, then write the sum atomically. Two processes finishing
models at once could otherwise interleave: A lists (seeing only its own model), B lists (seeing
both) and writes, then A writes last and its file omits B's finished model. Under the lock the
last writer lists after every earlier writer's model files exist, so the file left is complete.
Unlike a model's lock, it is waited for: it is held for the few milliseconds of a rewrite.

Example:

```python
with model_lock(Path("saved_models/exp1_adrenal/CNNExp1N4")):
    train()            # raises ModelBusy at once if another live process holds the model
with run_folder_lock(Path("saved_models/exp1_adrenal")):
    rewrite_summary()  # waits while another process rewrites one
```
"""
import contextlib
import json
import os
import socket
import time
from pathlib import Path

import filelock

from keras_lnn.errors import RunError
from keras_lnn.io import atomic_write_json

# How long a process that finds a lock taken but no holder record waits for one or the other.
SETTLE_SECONDS = 2.0
# How long a process waits for another to finish rewriting a run folder's summary files.
RUN_FOLDER_TIMEOUT = 300.0
RUN_FOLDER_LOCK = ".run-folder.lock"  # no model is named so: model names have no "-"


class ModelBusy(RunError):
    """Another live process holds a model's lock (see `model_lock`)."""

    def __init__(self, model_dir, holder=None):
        self.model_dir, self.holder = str(model_dir), holder
        super().__init__(f"{model_dir} is busy: {describe_holder(holder)}")

    def __reduce__(self):  # pickled back from --jobs workers
        return type(self), (self.model_dir, self.holder)


def lock_path(model_dir):
    """`<run_dir>/.<model>.lock`: the file `filelock` locks."""
    model_dir = Path(model_dir)
    return model_dir.parent / f".{model_dir.name}.lock"


def holder_path(model_dir):
    """`<run_dir>/.<model>.lock.json`: host, pid and start time of the lock's holder."""
    return lock_path(model_dir).with_suffix(".lock.json")


def read_holder(model_dir):
    """The holder record, or None when there is none (or it is being rewritten)."""
    try:
        return json.loads(holder_path(model_dir).read_text())
    except (OSError, ValueError):
        return None


def describe_holder(holder):
    if not holder:
        return "another process holds its lock (it has not recorded who it is yet)"
    return f"trained by pid {holder['pid']} on {holder['host']} since {holder['since']}"


@contextlib.contextmanager
def model_lock(model_dir):
    """Holds the lock of `model_dir` for the block.

    Raises:
        ModelBusy: at once, when another live process holds it.
        RunError: the file system of the run folder supports no lock.
    """
    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(lock_path(model_dir), timeout=0)
    try:
        _acquire_or_name_holder(lock, model_dir)
    except NotImplementedError:  # filelock < 4 on a file system without flock
        raise RunError(
            f"the file system of {model_dir.parent} supports no file locks (flock), which keep two processes from "
            "training one model: use an --output on a file system that does (see the README's 'Running at once')"
        ) from None
    try:
        holder = {"host": socket.gethostname(), "pid": os.getpid(), "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_json(holder_path(model_dir), holder)
        yield holder
    finally:
        holder_path(model_dir).unlink(missing_ok=True)
        lock.release()


@contextlib.contextmanager
def run_folder_lock(run_dir, timeout=RUN_FOLDER_TIMEOUT):
    """Holds the run folder's lock for the block (see the module's note), waiting up to `timeout` seconds.

    Raises:
        RunError: still held by another process after `timeout`, or no file locks on the file system.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(run_dir / RUN_FOLDER_LOCK, timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RunError(f"{run_dir / RUN_FOLDER_LOCK} stayed locked for {timeout:.0f} s: another process is stuck "
                       "rewriting the folder's summary.csv or models.config") from None
    except NotImplementedError:
        raise RunError(f"the file system of {run_dir} supports no file locks (flock): use an --output on one "
                       "that does (see the README's 'Running at once')") from None
    try:
        yield
    finally:
        lock.release()


def _acquire_or_name_holder(lock, model_dir):
    """Takes `lock`, or raises ModelBusy naming its holder (see the module's note on anonymous holders)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        try:
            lock.acquire()
            return
        except filelock.Timeout:
            holder = read_holder(model_dir)
            if holder or time.monotonic() >= deadline:
                raise ModelBusy(model_dir, holder) from None
        time.sleep(0.05)
