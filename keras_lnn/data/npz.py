"""MedMNIST's .npz layout: reading a file's arrays (or only their headers) and checking each split."""
import zipfile
import zlib

import numpy as np

from keras_lnn.errors import DataError

SPLITS = ("train", "val", "test")
KEYS = tuple(f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels"))


def read_npz(path, load=KEYS, peek=()):
    """`({key: array} for `load`, {key: (shape, dtype)} for `peek`)`, reading only the headers of the latter.

    Every key of MedMNIST's layout must be there, whichever are read.
    """
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with loaded as npz:
            found = list(npz.files)
            arrays = {key: npz[key] for key in load if key in found}
            headers = {key: _array_header(npz, key) for key in peek if key in found}
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError) as error:
        raise DataError(
            f"{path} is not a readable .npz file (truncated or corrupted?): {type(error).__name__}: {error}"
        ) from None
    missing = [key for key in KEYS if key not in found]
    if missing:
        raise DataError(
            f"{path} lacks the key(s) {', '.join(missing)}: a MedMNIST file has {', '.join(KEYS)}; "
            f"found {', '.join(found) or 'no arrays'}."
        )
    return arrays, headers


def _array_header(npz, key):
    """`(shape, dtype)` of an array in an open `.npz`, from its header alone (a 64^3 split is not decompressed)."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with npz.zip.open(f"{key}.npy") as handle:
        reader = readers.get(np.lib.format.read_magic(handle))
        if reader is None:  # a newer format version: read the array itself
            array = npz[key]
            return array.shape, array.dtype
        shape, _, dtype = reader(handle)
    return shape, dtype


def check_split(path, info, size, split, images, labels, verify):
    """Checks one split's arrays: uint8 volumes of `size`, one label each in `[0, n_classes)`, none empty;
    with `verify`, as many volumes as `info.n_samples` says. Raises `DataError` naming `path`."""
    expected_shape = f"(N, {size}, {size}, {size})"
    if images.dtype != np.uint8:
        raise DataError(f"{path}: {split}_images has dtype {images.dtype}, expected uint8.")
    if images.ndim != 4 or images.shape[1:] != (size,) * 3:
        raise DataError(f"{path}: {split}_images has shape {images.shape}, expected {expected_shape} for size {size}.")
    n = images.shape[0]
    if n == 0:
        raise DataError(
            f"{path}: the {split} split is empty: training, early stopping and evaluation need at least one "
            "volume in each of train, val and test."
        )
    if labels.shape != (n, 1):
        raise DataError(
            f"{path}: {split}_labels has shape {labels.shape}, expected ({n}, 1) to match {split}_images."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: {split}_labels has dtype {labels.dtype}, expected an integer dtype.")
    if labels.size and (labels.min() < 0 or labels.max() >= info.n_classes):
        raise DataError(
            f"{path}: {split}_labels has values in [{labels.min()}, {labels.max()}], "
            f"expected class indices in [0, {info.n_classes}) for {info.python_class}."
        )
    if verify and n != info.n_samples[split]:
        raise DataError(
            f"{path}: {split} split has {n} volumes, expected {info.n_samples[split]} for {info.python_class} "
            "(use --no-verify / verify=False for a derived or custom file)."
        )
