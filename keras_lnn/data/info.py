"""Facts about the six MedMNIST 3D datasets, read from medmnist's own `INFO` table.

Everything else in the package (paths, downloads, validation, the CLI) reads
these facts from `DATASETS`, so the URLs, MD5 sums, labels and split sizes
live in one place: medmnist's `info.py`.

Example:

```python
from keras_lnn.data.info import DATASETS, resolve_dataset

info = resolve_dataset("AdrenalMNIST3D")
info.name, info.n_classes, info.n_samples["train"]  # ("adrenal", 2, 1188)
info.filename(64)  # "adrenalmnist3d_64.npz"
```
"""
import dataclasses
import importlib.util
from pathlib import Path

from keras_lnn.errors import DataError

DATASET_NAMES = ["nodule", "adrenal", "vessel", "fracture", "organ", "synapse"]
SIZES = (28, 64)


def _load_medmnist_info():
    # `import medmnist` runs its __init__, which imports torch and torchvision
    # (seconds, and a hard dependency we do not want); medmnist/info.py on its
    # own is a plain table, so locate it without executing the package and run
    # just that file.
    spec = importlib.util.find_spec("medmnist")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("keras_lnn needs the `medmnist` package for its dataset table: pip install medmnist")
    path = Path(list(spec.submodule_search_locations)[0]) / "info.py"
    module_spec = importlib.util.spec_from_file_location("keras_lnn._medmnist_info", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.INFO


def _check_size(size):
    if size not in SIZES:
        raise DataError(f"Unsupported MedMNIST 3D size {size!r}: valid sizes are {', '.join(map(str, SIZES))}.")
    return size


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """One MedMNIST 3D dataset, as described by medmnist's `INFO`.

    Attributes:
        name: Short name used by this package, e.g. `"adrenal"`.
        flag: medmnist's key, e.g. `"adrenalmnist3d"`.
        python_class: medmnist's class name, e.g. `"AdrenalMNIST3D"`.
        task: medmnist's task string, e.g. `"binary-class"` or `"multi-class"`.
        labels: Class index -> class name.
        n_classes: Number of classes (`len(labels)`).
        n_samples: Split name (`"train"`, `"val"`, `"test"`) -> number of volumes.
        license: Data license, e.g. `"CC BY 4.0"`.
        description: medmnist's description of the dataset.
        urls: Volume size (28 or 64) -> official download URL.
        md5s: Volume size (28 or 64) -> MD5 of the official file.
        custom: True for a user's own file in MedMNIST's layout (see `custom_dataset_info`):
            no official URL, MD5 or split sizes.
    """

    name: str
    flag: str
    python_class: str
    task: str
    labels: dict
    n_classes: int
    n_samples: dict
    license: str
    # Long or low-level: kept out of repr so a printed dataset stays readable.
    description: str = dataclasses.field(repr=False)
    urls: dict = dataclasses.field(repr=False)
    md5s: dict = dataclasses.field(repr=False)
    custom: bool = False

    def filename(self, size=28):
        """File name medmnist uses, e.g. `nodulemnist3d.npz` (28) or `nodulemnist3d_64.npz` (64)."""
        suffix = "" if _check_size(size) == 28 else f"_{size}"
        return f"{self.flag}{suffix}.npz"

    def url(self, size=28):
        """Official download URL of the file for `size`."""
        self._check_official("download URL")
        return self.urls[_check_size(size)]

    def md5(self, size=28):
        """MD5 of the official file for `size`."""
        self._check_official("MD5")
        return self.md5s[_check_size(size)]

    def _check_official(self, what):
        if self.custom:
            raise DataError(f"{self.name} is a custom dataset: it has no official {what}.")


def _dataset_info(name, entry):
    labels = {int(key): value for key, value in entry["label"].items()}
    return DatasetInfo(
        name=name,
        flag=f"{name}mnist3d",
        python_class=entry["python_class"],
        task=entry["task"],
        labels=labels,
        n_classes=len(labels),
        n_samples=dict(entry["n_samples"]),
        license=entry["license"],
        description=entry["description"],
        urls={28: entry["url"], 64: entry["url_64"]},
        md5s={28: entry["MD5"], 64: entry["MD5_64"]},
    )


_INFO = _load_medmnist_info()
DATASETS = {name: _dataset_info(name, _INFO[f"{name}mnist3d"]) for name in DATASET_NAMES}


def resolve_dataset(name):
    """Looks up a dataset by short name, medmnist flag or class name (any case).

    Args:
        name: e.g. `"adrenal"`, `"adrenalmnist3d"` or `"AdrenalMNIST3D"`.

    Returns:
        The `DatasetInfo` from `DATASETS` (read at call time, so tests can patch it).

    Raises:
        DataError: `name` is not one of the six MedMNIST 3D datasets.

    Example:

    ```python
    resolve_dataset("VesselMNIST3D").name  # "vessel"
    ```
    """
    key = str(name).strip().lower()
    for short, info in DATASETS.items():
        if key in (short, info.flag, info.python_class.lower()):
            return info
    raise DataError(
        f"Unknown MedMNIST 3D dataset {name!r}: valid names are {', '.join(DATASET_NAMES)} "
        "(or their medmnist flags / class names, e.g. adrenalmnist3d, AdrenalMNIST3D)."
    )


def custom_dataset_info(name, n_classes, n_samples, class_names=None, description=""):
    """The facts of a user's own dataset, read from its file (see `keras_lnn.data.resolve_dataset_source`).

    Args:
        name: the dataset's name: its file's stem, e.g. `"myscans"` for `myscans.npz`.
        n_classes: number of classes (2: binary, sigmoid output; more: softmax).
        n_samples: split name -> number of volumes in the file.
        class_names: optional names of the classes, by class index (default: "0", "1", ...).
        description: one line on where the data came from.

    Returns:
        A `DatasetInfo` with `custom=True` and no URLs or MD5s.

    Example:

    ```python
    info = custom_dataset_info("myscans", 3, {"train": 90, "val": 20, "test": 30}, ["a", "b", "c"])
    info.task, info.labels[2]  # ("multi-class", "c")
    ```
    """
    names = list(class_names) if class_names is not None else [str(index) for index in range(n_classes)]
    return DatasetInfo(
        name=name,
        flag=name,
        python_class=name,
        task="binary-class" if n_classes == 2 else "multi-class",
        labels=dict(enumerate(names)),
        n_classes=n_classes,
        n_samples=dict(n_samples),
        license="unknown",
        description=description,
        urls={},
        md5s={},
        custom=True,
    )
