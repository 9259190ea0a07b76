"""The record beside a prepared file (`scans.npz` -> `scans.prepare.json`): how it was made, from what.

It holds the `Recipe` (so that `predict` prepares a new scan the same way), the split settings,
the library versions, the labels table's and every source's SHA-256, and the MD5 of the `.npz`
it describes (so that a record is never read for another file of the same name).
"""
import importlib.metadata
import json
import platform
from pathlib import Path

from keras_lnn.data.files import file_md5
from keras_lnn.data.scans.recipe import Recipe
from keras_lnn.errors import DataError

RECORD_SUFFIX = ".prepare.json"
KIND = "keras-lnn prepare record"
VERSION = 1
LIBRARIES = ("keras-lnn", "SimpleITK", "numpy")


def record_path(data_file):
    """Where the record of `data_file` is: `scans.npz` -> `scans.prepare.json`."""
    data_file = Path(data_file)
    return data_file.with_name(data_file.name.removesuffix(".npz") + RECORD_SUFFIX)


def versions():
    """The versions of the libraries that shape the cubes, and Python's."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return {**found, "python": platform.python_version()}


def make_record(recipe, table, classes, settings, sources, data_md5):
    """The record's dict.

    Args:
        recipe: the `Recipe`.
        table: `{"path": ..., "sha256": ...}` of the labels table.
        classes: the class names, by index.
        settings: the split and mask settings (`fractions`, `seed`, `mask_column`).
        sources: one dict per scan (image, label, class, patient, split, its index in the split, sha256).
        data_md5: the MD5 of the `.npz` written.
    """
    return {"kind": KIND, "version": VERSION, "data_md5": data_md5, "recipe": recipe.to_dict(),
            "classes": list(classes), "labels_table": table, "settings": settings, "versions": versions(),
            "sources": list(sources)}


def read_record(data_file, md5=None):
    """The record of the prepared file `data_file`, checked to describe that very file.

    Args:
        data_file: the `.npz` (its record lies beside it).
        md5: the MD5 the data file had when used (a run's metrics.json `data.md5`); default its MD5 now.

    Returns:
        The record's dict, with `recipe` as a `Recipe`.

    Raises:
        DataError: no record, an unreadable one, or one written for another file.

    Example:

    ```python
    record = read_record("scans/scans.npz")
    record["recipe"].size, record["classes"]    # (28, ['benign', 'malignant'])
    ```
    """
    path = record_path(data_file)
    if not path.is_file():
        raise DataError(f"{path}: not found; scans are classified by the recipe `lnn-keras prepare` recorded beside "
                        f"{Path(data_file).name}, and this model's data has none")
    try:
        record = json.loads(path.read_text())
        if record.get("kind") != KIND:
            raise ValueError(f"its kind is {record.get('kind')!r}, not {KIND!r}")
        record["recipe"] = Recipe.from_dict(record["recipe"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise DataError(f"{path}: not a readable preparation record ({error})") from None
    expected = md5 or (file_md5(data_file) if Path(data_file).is_file() else None)
    if expected and record.get("data_md5") != expected:
        raise DataError(f"{path} describes a file of MD5 {record.get('data_md5')}, not {Path(data_file).name} "
                        f"(MD5 {expected}): the data file was replaced after its record was written")
    return record
