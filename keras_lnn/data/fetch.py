"""Downloading MedMNIST 3D files, from the official URL or a mirror, with the MD5 checked."""
import os
import urllib.error

from keras_lnn.data.files import dataset_path, expected_md5, file_md5
from keras_lnn.errors import DataError
from keras_lnn.data.info import resolve_dataset

MIRROR_ENV = "KERAS_LNN_MEDMNIST_MIRROR"


def download_url(name, size=28, mirror=None):
    """URL to fetch from: `mirror` (or `$KERAS_LNN_MEDMNIST_MIRROR`) + `/` + file name, else the official URL."""
    info = resolve_dataset(name)
    mirror = mirror or os.environ.get(MIRROR_ENV)
    if mirror:
        return f"{mirror.rstrip('/')}/{info.filename(size)}"
    return info.url(size)


def download(name, size=28, data_dir=None, mirror=None):
    """Downloads a MedMNIST 3D file into the MedMNIST root and checks its MD5.

    A file already there with the right MD5 is kept as is. The download goes to
    `<file>.part` and only replaces the target once its MD5 is right, so a failed
    or corrupted download leaves nothing behind (and never clobbers a good file).

    Args:
        name: Short name, medmnist flag or class name, e.g. `"adrenal"`.
        size: Volume edge length, 28 or 64.
        data_dir: MedMNIST root; `None` means `default_data_dir()`.
        mirror: Base URL serving medmnist's file names; `None` means
            `$KERAS_LNN_MEDMNIST_MIRROR` if set, else the official (Zenodo) URL.

    Returns:
        The `Path` of the verified file, `dataset_path(name, size, data_dir)`.

    Raises:
        DataError: the URL cannot be fetched, the MD5 is wrong, or the folder is not writable.

    Example:

    ```python
    download("vessel", size=64, data_dir="/data/medmnist")
    ```
    """
    info = resolve_dataset(name)
    target = dataset_path(info.name, size, data_dir)
    expected = expected_md5(info, size)
    if target.is_file() and file_md5(target) == expected:
        return target
    url = download_url(info.name, size, mirror)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"Cannot create the MedMNIST folder {target.parent}: {error}") from None
    # get_file silently falls back to /tmp/.keras when cache_dir is not writable.
    if not os.access(target.parent, os.W_OK):
        raise DataError(f"Cannot write to the MedMNIST folder {target.parent}: use --data-dir to pick another.")
    partial = target.with_name(target.name + ".part")
    from keras.utils import get_file  # Keras is slow to import: only when downloading.

    try:
        try:
            # cache_subdir="" puts the file directly in cache_dir (Keras 3 joins them).
            # The MD5 is checked below rather than by get_file, which would leave
            # the bad file in place and not report the hash it found.
            get_file(fname=partial.name, origin=url, cache_dir=str(target.parent), cache_subdir="",
                     force_download=True)
        except Exception as error:
            raise DataError(
                f"Could not download {url}: {_fetch_reason(error)}. Offline? Save {info.filename(size)} "
                f"from {info.url(size)} as {target} (or point --data-dir at a folder that has it)."
            ) from None
        actual = file_md5(partial)
        if actual != expected:
            raise DataError(
                f"Downloaded file from {url} has the wrong MD5: expected {expected}, got {actual}; "
                "nothing was saved."
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _fetch_reason(error):
    # get_file wraps urllib errors in a bare Exception; report urllib's own reason.
    cause = error.__context__
    if isinstance(cause, urllib.error.HTTPError):
        return f"HTTP {cause.code} {cause.reason}"
    if isinstance(cause, urllib.error.URLError):
        return str(cause.reason)
    return str(error)
