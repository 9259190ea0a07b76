"""What `--dataset` names: a MedMNIST 3D dataset, or a user's own .npz file with its size and classes."""
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from keras_lnn.data.files import dataset_path, expected_md5
from keras_lnn.data.npz import KEYS, SPLITS, read_npz
from keras_lnn.errors import DataError
from keras_lnn.data.info import SIZES, DatasetInfo, custom_dataset_info, resolve_dataset

CLASSES_KEY = "classes"  # optional in a custom file: the class names, by class index
CLASSES_SUFFIX = ".classes.json"  # or beside it: myscans.npz -> myscans.classes.json


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
    arrays, headers = read_npz(path, load=[key for key in KEYS if key.endswith("_labels")], peek=KEYS[::2])
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

