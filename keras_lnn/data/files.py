"""Where the MedMNIST 3D files live, and whether the ones there are intact (MD5)."""
import hashlib
import os
from pathlib import Path

from keras_lnn.data.info import DATASET_NAMES, SIZES, resolve_dataset

DATA_DIR_ENV = "KERAS_LNN_DATA_DIR"


def default_data_dir():
    """The MedMNIST root: `$KERAS_LNN_DATA_DIR` if set, else `~/.medmnist` (medmnist's own default)."""
    return Path(os.environ.get(DATA_DIR_ENV) or Path.home() / ".medmnist").expanduser()


def resolve_data_dir(data_dir=None):
    """`data_dir` as a `Path` (`~` expanded), or `default_data_dir()` when it is `None`."""
    return default_data_dir() if data_dir is None else Path(data_dir).expanduser()


def dataset_path(name, size=28, data_dir=None):
    """Where the file of dataset `name` at `size` lives, e.g. `~/.medmnist/nodulemnist3d_64.npz`.

    Args:
        name: Short name, medmnist flag or class name (see `resolve_dataset`).
        size: Volume edge length, 28 or 64.
        data_dir: MedMNIST root; `None` means `default_data_dir()`.
    """
    return resolve_data_dir(data_dir) / resolve_dataset(name).filename(size)


def file_md5(path, chunk_size=1 << 20):
    """MD5 hex digest of the file at `path`, read in chunks so big files never sit in memory."""
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def expected_md5(info, size=28):
    """MD5 of the official file (one place to look it up, so tests can patch it)."""
    return info.md5(size)


def dataset_table(data_dir=None):
    """One row per MedMNIST 3D dataset and size: where its file goes and whether it is there and intact.

    Args:
        data_dir: MedMNIST root; `None` means `default_data_dir()`.

    Returns:
        A list of 12 dicts with keys `name`, `size`, `path` (str), `present` (bool)
        and `md5_ok` (bool, or `None` when the file is absent). MD5s are computed
        only for files that are present.
    """
    rows = []
    for name in DATASET_NAMES:
        info = resolve_dataset(name)
        for size in SIZES:
            path = dataset_path(name, size, data_dir)
            present = path.is_file()
            md5_ok = file_md5(path) == expected_md5(info, size) if present else None
            rows.append({"name": name, "size": size, "path": str(path), "present": present, "md5_ok": md5_ok})
    return rows
