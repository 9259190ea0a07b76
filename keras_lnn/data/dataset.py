"""A loaded MedMNIST 3D file (`MedMNIST3D`), and `load_dataset`, which loads one with checks."""
import dataclasses
from pathlib import Path

import numpy as np

from keras_lnn.data.fetch import download as _download  # load_dataset's `download` argument shadows the function.
from keras_lnn.data.files import file_md5
from keras_lnn.data.npz import SPLITS, check_split, read_npz
from keras_lnn.data.sources import resolve_dataset_source
from keras_lnn.errors import DataError
from keras_lnn.data.info import DatasetInfo


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
    arrays = read_npz(path)[0]
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
        check_split(path, info, size, split, arrays[f"{split}_images"], arrays[f"{split}_labels"],
                    verify and not source.custom)
    splits = {}
    for split in SPLITS:
        # pop: the uint8 array is freed once converted; [..., None] is a view, not a copy.
        images = arrays.pop(f"{split}_images").astype(dtype, copy=False)
        splits[split] = (images[..., None], arrays.pop(f"{split}_labels").astype(np.int64))
    return MedMNIST3D(info=info, size=size, path=path, md5=md5, **splits)

