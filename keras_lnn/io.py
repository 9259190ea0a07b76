"""Atomic file writes: a result appears whole or not at all (write beside, then rename)."""
import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path


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
