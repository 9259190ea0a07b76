"""New scans for a trained model: cubes made by the recipe of the model's own training data."""
import dataclasses
from pathlib import Path

import numpy as np

from keras_lnn.data.scans.cube import scan_cube
from keras_lnn.data.scans.reading import scan_format
from keras_lnn.data.scans.record import read_record
from keras_lnn.data.scans.table import class_names, read_table
from keras_lnn.errors import DataError


@dataclasses.dataclass(frozen=True)
class ScanVolumes:
    """Scans made into cubes for a model.

    Attributes:
        volumes: `(N, S, S, S)` uint8 cubes.
        labels: `(N,)` class indices where a table gave every scan a label, else None.
        sources: each cube's scan, as given (a path, or the table's `image` entry).
    """

    volumes: np.ndarray
    labels: np.ndarray
    sources: list


def is_scan_input(path):
    """Whether `path` is a scan (a NIfTI, NRRD, MetaImage or DICOM file, a DICOM folder) or a CSV of scans."""
    path = Path(path)
    return path.suffix.lower() == ".csv" or scan_format(path) is not None


def scans_for_data(input_path, data_file, md5=None):
    """The cubes of the scan(s) at `input_path`, made as the prepared `data_file`'s were (its record's recipe).

    Args:
        input_path: a scan file, a DICOM folder, or a CSV with an `image` column (and, optionally,
            `label`, and the mask column the data was prepared with).
        data_file: the `.npz` a model was trained on (a run's metrics.json `data.path`).
        md5: that file's MD5 when the model was trained (metrics.json `data.md5`): the record must
            describe that very file.

    Returns:
        A `ScanVolumes`.

    Raises:
        DataError: no record beside `data_file`, a bad scan or table row, a label the model does not know.

    Example:

    ```python
    scans = scans_for_data("new/case42.nii.gz", "scans.npz")
    scans.volumes.shape        # (1, 28, 28, 28)
    ```
    """
    record = read_record(data_file, md5)
    recipe, mask_column = record["recipe"], record["settings"].get("mask_column")
    input_path = Path(input_path)
    if input_path.suffix.lower() != ".csv":
        if mask_column:
            raise DataError(f"{input_path}: {Path(data_file).name} was cropped around masks (column {mask_column!r}); "
                            f"give a CSV with columns image,{mask_column} instead of a scan")
        return ScanVolumes(scan_cube(input_path, recipe)[None], None, [str(input_path)])
    rows = read_table(input_path, mask_column, labels=False)
    volumes = np.stack([scan_cube(row.path, recipe, row.mask, row.where(input_path)) for row in rows])
    labels = None
    if all(row.label is not None for row in rows):
        labels = np.array(class_names(rows, input_path, record["classes"])[1])
    return ScanVolumes(volumes, labels, [row.image for row in rows])
