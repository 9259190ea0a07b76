"""`prepare_dataset`: a labels table of scans -> a MedMNIST-layout `.npz` and its record, written whole or not at all."""
import dataclasses
import hashlib
import io
from pathlib import Path

import numpy as np

from keras_lnn.data.info import resolve_dataset
from keras_lnn.data.npz import SPLITS
from keras_lnn.data.scans.cube import scan_cube
from keras_lnn.data.scans.reading import checksum
from keras_lnn.data.scans.recipe import Recipe
from keras_lnn.data.scans.record import make_record, record_path
from keras_lnn.data.scans.splitting import DEFAULT_FRACTIONS, assign_splits
from keras_lnn.data.scans.table import class_names, read_table
from keras_lnn.errors import DataError
from keras_lnn.io import atomic_write_bytes, atomic_write_json

SOURCES_KEY = "{split}_sources"  # each split's `image` entries, in the order of its volumes


@dataclasses.dataclass(frozen=True)
class PreparedDataset:
    """What `prepare_dataset` wrote.

    Attributes:
        path: the `.npz` file.
        record: its record (`<stem>.prepare.json`).
        classes: the class names, by index.
        counts: `{split: {class name: scans}}`.
    """

    path: Path
    record: Path
    classes: list
    counts: dict


def prepare_dataset(labels_csv, output, recipe=Recipe(), fractions=DEFAULT_FRACTIONS, seed=0, mask_column=None,
                    classes=None, echo=None):
    """Turns the scans of a labels table into a MedMNIST-layout `.npz` that `lnn-keras run --dataset` trains on.

    Each scan becomes a cube by `recipe` (see `scan_cube`); rows keep their given split, the others are
    split by `fractions` and `seed` (see `assign_splits`). The file holds `train_images` ... `test_labels`
    (uint8 `(N, S, S, S)`, labels `(N, 1)`), `classes` and `train_sources`, `val_sources`, `test_sources`
    (each volume's `image` entry); beside it, `<stem>.prepare.json` (see `record`). Nothing is written
    unless every scan was read and every check passed.

    Args:
        labels_csv: the labels table (see `read_table`); image paths are relative to it.
        output: the `.npz` to write (its stem names the dataset: run folders `exp1_<stem>`).
        recipe: the `Recipe`.
        fractions: train, val and test shares for rows without a given split.
        seed: the split's seed.
        mask_column: the table's column of mask paths: cubes are centred on each mask's bounding box.
        classes: the class names in index order; default the sorted names (or the integer labels).
        echo: called with one line per scan read (progress), if given.

    Returns:
        A `PreparedDataset`.

    Raises:
        DataError: one line naming the table's row or file and what was expected.

    Example:

    ```python
    from keras_lnn.data import Recipe, prepare_dataset

    prepared = prepare_dataset("scans/labels.csv", "scans.npz", Recipe(size=28, window=(40, 400)), seed=0)
    prepared.counts["test"]          # {'benign': 6, 'malignant': 4}
    ```
    """
    table, output = Path(labels_csv), Path(output)
    _check_output(output)
    rows = read_table(table, mask_column)
    names, labels = class_names(rows, table, classes)
    splits = assign_splits(rows, labels, names, table, fractions, seed)
    volumes, sources = {split: [] for split in SPLITS}, []
    for number, (row, label, split) in enumerate(zip(rows, labels, splits), start=1):
        if echo:
            echo(f"{number}/{len(rows)} {row.image} ({split})")
        volumes[split].append(scan_cube(row.path, recipe, row.mask, row.where(table)))
        sources.append({"image": row.image, "label": row.label, "class": label, "patient": row.patient,
                        "split": split, "index": len(volumes[split]) - 1, "sha256": checksum(row.path),
                        **({"mask": row.mask_entry, "mask_sha256": checksum(row.mask)}
                           if row.mask else {})})
    arrays = _arrays(volumes, sources, names, recipe.size)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    record = make_record(recipe, {"path": str(table.resolve()), "sha256": checksum(table)}, names,
                         {"fractions": list(fractions), "seed": seed, "mask_column": mask_column}, sources,
                         hashlib.md5(data).hexdigest())
    _write(output, data, record)
    counts = {split: {name: sum(1 for s in sources if s["split"] == split and s["class"] == k)
                      for k, name in enumerate(names)} for split in SPLITS}
    return PreparedDataset(output, record_path(output), names, counts)


def _check_output(output):
    """The output is a `.npz` whose stem is not a MedMNIST dataset's (run folders and reports tell them apart)."""
    if not output.name.lower().endswith(".npz"):
        raise DataError(f"--output {output}: expected a .npz file name")
    stem = output.name[: -len(".npz")]
    try:
        info = resolve_dataset(stem.removesuffix("_64"))
    except DataError:
        return
    raise DataError(f"--output {output}: a dataset of your own needs a name other than MedMNIST's {info.python_class}")


def _arrays(volumes, sources, names, size):
    arrays = {}
    for split in SPLITS:
        in_split = [source for source in sources if source["split"] == split]
        arrays[f"{split}_images"] = np.stack(volumes[split]) if volumes[split] else np.zeros((0,) + (size,) * 3,
                                                                                             np.uint8)
        arrays[f"{split}_labels"] = np.array([[source["class"]] for source in in_split], np.uint8).reshape(-1, 1)
        arrays[SOURCES_KEY.format(split=split)] = np.array([source["image"] for source in in_split], dtype=str)
    arrays["classes"] = np.array(names, dtype=str)
    return arrays


def _write(output, data, record):
    """The `.npz` and its record, each written atomically; the `.npz` is removed again if its record fails."""
    atomic_write_bytes(output, data)
    try:
        atomic_write_json(record_path(output), record)
    except BaseException:
        output.unlink(missing_ok=True)
        raise
