"""MedMNIST 3D files: where they live, downloading them, and loading them with checks.

Files keep medmnist's names and layout (`~/.medmnist/adrenalmnist3d.npz`, keys
`train_images`, `train_labels`, ...), so a folder filled by `medmnist` works here
and the other way round. A user's own file in that layout loads the same way
(`load_dataset("scans/myscans.npz")`): see `resolve_dataset_source`.

Example:

```python
from keras_lnn.data import download, load_dataset

download("adrenal")                      # ~/.medmnist/adrenalmnist3d.npz, MD5 checked
data = load_dataset("adrenal")
x_train, y_train = data.train            # (1188, 28, 28, 28, 1) float32, (1188, 1) int64
```
"""
import dataclasses
import hashlib
import json
import os
import urllib.error
import zipfile
import zlib
from pathlib import Path

import numpy as np

from keras_lnn.errors import DataError
from keras_lnn.info import DATASET_NAMES, SIZES, DatasetInfo, custom_dataset_info, resolve_dataset

DATA_DIR_ENV = "KERAS_LNN_DATA_DIR"
MIRROR_ENV = "KERAS_LNN_MEDMNIST_MIRROR"
SPLITS = ("train", "val", "test")
KEYS = tuple(f"{split}_{kind}" for split in SPLITS for kind in ("images", "labels"))
CLASSES_KEY = "classes"  # optional in a custom file: the class names, by class index
CLASSES_SUFFIX = ".classes.json"  # or beside it: myscans.npz -> myscans.classes.json


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


@dataclasses.dataclass(frozen=True, eq=False)
class MedMNIST3D:
    """A loaded MedMNIST 3D file.

    Attributes:
        info: The dataset's `DatasetInfo`.
        size: Volume edge length, 28 or 64.
        path: The `.npz` file it came from.
        md5: MD5 of that file (recorded with results, so runs can be traced to their data).
        train, val, test: `(x, y)` tuples; `x` is `(N, size, size, size, 1)` with raw
            0-255 values in the requested dtype, `y` is `(N, 1)` int64.
    """

    info: DatasetInfo
    size: int
    path: Path
    md5: str
    train: tuple = dataclasses.field(repr=False)
    val: tuple = dataclasses.field(repr=False)
    test: tuple = dataclasses.field(repr=False)

    def split(self, name):
        """`(x, y)` of split `name`: `"train"`, `"val"` or `"test"`."""
        if name not in SPLITS:
            raise DataError(f"Unknown split {name!r}: valid splits are {', '.join(SPLITS)}.")
        return getattr(self, name)

    def provenance(self):
        """What a run records about its data (metrics.json `data`): file, absolute path, MD5, split sizes.

        A custom file adds `custom: true` and its class names, so that a report or `lnn-keras explain`
        can find and describe it again.
        """
        record = {"file": self.path.name, "path": str(Path(self.path).resolve()), "md5": self.md5,
                  "n_samples": {split: len(self.split(split)[1]) for split in SPLITS}}
        if self.info.custom:
            record.update(custom=True, classes=[self.info.labels[k] for k in range(self.info.n_classes)])
        return record


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """Where a dataset's file is and what it is checked against: what `load_dataset` needs.

    Attributes:
        info: The dataset's `DatasetInfo`; for a custom file its name is the file's stem and
            its classes come from the labels (see `resolve_dataset_source`).
        size: Volume edge length, 28 or 64.
        path: The `.npz` file (a MedMNIST file may not exist yet: `load_dataset(download=True)` fetches it).
        md5: The MD5 the file must have when verified: the official one, or the one given for a
            custom file (`None`: not checked).
    """

    info: DatasetInfo
    size: int
    path: Path
    md5: str = None

    @property
    def custom(self):
        return self.info.custom


def is_dataset_file(name_or_path):
    """Whether `--dataset` names a file (a path, or a name ending in `.npz`) rather than a MedMNIST dataset."""
    text = os.fspath(name_or_path)
    return text.lower().endswith(".npz") or "/" in text or os.sep in text


def resolve_dataset_source(name_or_path, size=None, data_dir=None, md5=None):
    """Resolves `--dataset`: a MedMNIST 3D name, or a `.npz` file in MedMNIST's layout.

    A MedMNIST name (`"adrenal"`, `"AdrenalMNIST3D"`) is looked up in `data_dir` at `size`
    (default 28). A path whose file name is an official one (`.../adrenalmnist3d_64.npz`) is
    that dataset, with its size from the name. Any other `.npz` is a custom dataset: its name
    is the file's stem (run folders `exp1_myscans`), its size the volumes' edge (28 or 64), its
    number of classes `max(label) + 1` over the splits (or the number of class names, from a
    `classes` string array in the file or a JSON list in `<stem>.classes.json` beside it).

    Args:
        name_or_path: e.g. `"adrenal"` or `"scans/myscans.npz"`.
        size: Volume edge length; `None`: 28 for a name, the file's own for a file (a
            different size given for a file is an error).
        data_dir: MedMNIST root for names; `None` means `default_data_dir()`.
        md5: The MD5 a custom file must have (checked by `load_dataset(verify=True)`); a
            MedMNIST file is checked against the official MD5 unless another is given.

    Returns:
        A `DatasetSource`. Only a custom file's labels and array headers are read here.

    Raises:
        DataError: unknown name, missing or unreadable file, a custom file named like a
            MedMNIST dataset, volumes not `(N, S, S, S)` with S = 28 or 64, bad class names.

    Example:

    ```python
    source = resolve_dataset_source("scans/myscans.npz")
    source.info.name, source.size, source.info.n_classes  # ("myscans", 64, 3)
    data = load_dataset(source)
    ```
    """
    if isinstance(name_or_path, DatasetSource):
        return name_or_path
    if not is_dataset_file(name_or_path):
        info = resolve_dataset(name_or_path)
        size = 28 if size is None else size
        return DatasetSource(info, size, dataset_path(info.name, size, data_dir), md5 or expected_md5(info, size))
    path = Path(name_or_path).expanduser()
    official = _official_file(path)
    if official:
        info, file_size = official
        _check_requested_size(path, file_size, size)
        return DatasetSource(info, file_size, path, md5 or expected_md5(info, file_size))
    if not path.is_file():
        raise DataError(
            f"Dataset file not found: {path} (--dataset takes a MedMNIST 3D name or a .npz file in MedMNIST's layout)."
        )
    info, file_size = _custom_info(path)
    _check_requested_size(path, file_size, size)
    return DatasetSource(info, file_size, path, md5)


def _check_requested_size(path, file_size, size):
    if size is not None and size != file_size:
        raise DataError(f"{path} holds {file_size}^3 volumes, not the {size}^3 asked for (--size).")


def _official_file(path):
    """`(info, size)` when `path`'s name is a MedMNIST file name (adrenalmnist3d_64.npz); a custom file
    named like a MedMNIST dataset is refused: run folders and reports tell datasets apart by name."""
    stem = path.name[: -len(".npz")] if path.name.lower().endswith(".npz") else path.stem
    try:
        info = resolve_dataset(stem.removesuffix("_64"))
    except DataError:
        return None
    for size in SIZES:
        if path.name == info.filename(size):
            return info, size
    raise DataError(
        f"{path}: a custom dataset needs a name of its own, not MedMNIST's {info.python_class} "
        f"(the official files are named {info.filename(28)} and {info.filename(64)}); rename the file."
    )


def _custom_info(path):
    """The `DatasetInfo` and size of a custom file, from its labels, class names and array headers."""
    arrays, headers = _read_npz(path, load=[key for key in KEYS if key.endswith("_labels")], peek=KEYS[::2])
    shape = headers["train_images"][0]
    if len(shape) != 4 or len(set(shape[1:])) != 1 or shape[1] not in SIZES:
        raise DataError(
            f"{path}: train_images has shape {shape}, expected (N, S, S, S) volumes with S = "
            f"{' or '.join(map(str, SIZES))}."
        )
    class_names, names_source = _class_names(path)
    labels = [arrays[f"{split}_labels"] for split in SPLITS]
    largest = max((int(np.max(y)) for y in labels if y.size and np.issubdtype(y.dtype, np.integer)), default=0)
    n_classes = len(class_names) if class_names is not None else largest + 1
    if largest >= n_classes:
        raise DataError(f"{path}: the labels go up to {largest}, but {names_source} names only {n_classes} classes.")
    if n_classes < 2:
        raise DataError(
            f"{path}: the labels hold a single class ({n_classes} class name{'s' * (n_classes != 1)} or "
            "labels all 0); a classification needs at least 2 classes."
        )
    n_samples = {split: headers[f"{split}_images"][0][0] for split in SPLITS}
    return custom_dataset_info(path.stem, n_classes, n_samples, class_names, f"custom dataset from {path}"), shape[1]


def _class_names(path):
    """`(names, where they came from)` for a custom file: its `classes` array, else `<stem>.classes.json`, else None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            names = npz[CLASSES_KEY] if CLASSES_KEY in npz.files else None
    except ValueError:  # an object array: pickles are never loaded
        raise DataError(
            f"{path}: {CLASSES_KEY} must be an array of strings, e.g. np.array(['benign', 'malignant']), "
            "not an object array."
        ) from None
    source, beside = f"{path}: {CLASSES_KEY}", path.with_suffix(CLASSES_SUFFIX)
    if names is None and beside.is_file():
        source = str(beside)
        try:
            names = json.loads(beside.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise DataError(f"{beside} is not readable JSON: {error}") from None
    if names is None:
        return None, None
    names = np.asarray(names)
    if names.ndim != 1 or names.dtype.kind not in "US":
        raise DataError(f"{source} must be a list of class names (strings), one per class index; found {names!r}.")
    return [str(name) for name in names.tolist()], source


def load_dataset(name, size=None, data_dir=None, verify=True, dtype="float32", download=False, mirror=None, md5=None):
    """Loads and checks a MedMNIST 3D file, or a custom file in MedMNIST's layout.

    Always checked: the file is a readable `.npz` with the six keys
    (`train_images`, `train_labels`, `val_images`, ...); images are uint8
    `(N, size, size, size)`; labels are integer `(N, 1)` with the same N and values
    in `[0, n_classes)`; no split is empty. With `verify=True` (the default) a MedMNIST file must also be
    the official one: its MD5 must match medmnist's and its split sizes must match
    `info.n_samples`. Pass `verify=False` for derived files (subsets, re-splits) that
    keep the layout but not the bytes or the split sizes. A custom file (see
    `resolve_dataset_source`) has no official MD5 or split sizes: its MD5 is checked only
    when `md5` is given.

    Args:
        name: Short name, medmnist flag or class name, e.g. `"adrenal"`; or a `.npz` path;
            or a `DatasetSource` (then `size`, `data_dir` and `md5` are its own).
        size: Volume edge length, 28 or 64 (`None`: 28, or a file's own size).
        data_dir: MedMNIST root; `None` means `default_data_dir()`.
        verify: Check the MD5 and split sizes against medmnist's table (a custom file: against `md5`).
        dtype: dtype of the images. Values stay 0-255 (the models rescale).
        download: Download a missing MedMNIST file first (see `download`).
        mirror: Base URL for that download.
        md5: The MD5 a custom file must have (`None`: not checked).

    Returns:
        A `MedMNIST3D`. Its `md5` is always computed, whatever `verify` says.

    Raises:
        DataError: with the file's path and what was expected versus found.

    Example:

    ```python
    data = load_dataset("vessel", data_dir="../shared/medmnist")
    x, y = data.split("val")  # (191, 28, 28, 28, 1) float32, (191, 1) int64
    mine = load_dataset("scans/myscans.npz")  # mine.info.name == "myscans"
    ```
    """
    source = resolve_dataset_source(name, size, data_dir, md5)
    info, size, path = source.info, source.size, source.path
    if download and not source.custom and not path.is_file():
        _download(info.name, size, path.parent, mirror)
    if not path.is_file():
        raise DataError(
            f"MedMNIST file not found: {path}. Download it with `lnn-keras download {info.name}"
            f"{'' if size == 28 else f' --size {size}'}` (add --data-dir to use another folder), "
            f"or fetch {info.url(size)} and save it as {path}."
        )
    arrays = _read_npz(path)[0]
    md5 = file_md5(path)
    if verify and source.md5 and md5 != source.md5:
        if source.custom:
            raise DataError(f"{path} has MD5 {md5}, expected {source.md5} (--md5).")
        raise DataError(
            f"{path} has MD5 {md5}, expected {source.md5} (the official {info.filename(size)}). "
            "If this is a derived or custom file, load it with --no-verify (verify=False)."
        )
    for split in SPLITS:
        # A custom file's split sizes are its own (info.n_samples was read from it).
        _check_split(path, info, size, split, arrays[f"{split}_images"], arrays[f"{split}_labels"],
                     verify and not source.custom)
    splits = {}
    for split in SPLITS:
        # pop: the uint8 array is freed once converted; [..., None] is a view, not a copy.
        images = arrays.pop(f"{split}_images").astype(dtype, copy=False)
        splits[split] = (images[..., None], arrays.pop(f"{split}_labels").astype(np.int64))
    return MedMNIST3D(info=info, size=size, path=path, md5=md5, **splits)


_download = download  # load_dataset's `download` argument shadows the function.


def _read_npz(path, load=KEYS, peek=()):
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


def _check_split(path, info, size, split, images, labels, verify):
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
