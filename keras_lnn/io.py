"""Atomic file writes (a result appears whole or not at all: write beside, then rename), and JSON read back
with one clear error naming a damaged file."""
import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from keras_lnn.errors import RunError


def _umask_mode(mode):
    """`mode` as the user's umask would leave it (mkstemp/mkdtemp create private 0600/0700 entries)."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def atomic_write_bytes(path, data):
    """Writes `data` (bytes, e.g. a PNG) to `path` atomically, with the user's umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _umask_mode(0o666))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, data):
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def atomic_write_csv(path, rows, columns):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def atomic_replace_dir(build, target):
    """Calls `build(tmp_dir)` to fill a fresh folder beside `target`, then renames it to `target`.

    An existing `target` is replaced only once the new folder is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        shutil.rmtree(tmp)  # builders such as model.export want to create the folder themselves
        build(tmp)
        os.chmod(tmp, _umask_mode(0o777))  # a Serving container may run as another user
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_json(path):
    with open(path) as handle:
        return json.load(handle)


def unreadable(path, model_dir, reason):
    """The error for a damaged artifact `path` of `model_dir`."""
    return RunError(
        f"{path} is unreadable ({reason}): delete {model_dir} to train this model afresh, "
        "or run again with --overwrite"
    )


def read_json_artifact(path, model_dir, expected=dict, keys=()):
    """`path`'s JSON, which must be an `expected` holding `keys`; else `unreadable`."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise unreadable(path, model_dir, f"{type(error).__name__}: {error}") from None
    if not isinstance(value, expected):
        raise unreadable(path, model_dir, f"expected a JSON {expected.__name__}, found {type(value).__name__}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise unreadable(path, model_dir, f"no {', '.join(missing)}")
    return value
