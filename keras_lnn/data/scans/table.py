"""The labels table: a CSV with one row per scan (`image`, `label`, and optional `patient`, `split`, mask)."""
import csv
import dataclasses
from pathlib import Path

from keras_lnn.data.npz import SPLITS
from keras_lnn.errors import DataError

# The table's columns: name -> (required, what it holds). `mask` is the default name of the mask column.
COLUMNS = {
    "image": (True, "the scan: a NIfTI, NRRD or MetaImage file or a DICOM series folder, relative to the CSV"),
    "label": (True, "its class: a class name or an integer class index"),
    "patient": (False, "who it belongs to: all of a patient's scans go to one split (default: each scan alone)"),
    "split": (False, "train, val or test: kept as given (blank: assigned by --split and --seed)"),
}


@dataclasses.dataclass(frozen=True)
class Row:
    """One scan of the table.

    Attributes:
        number: its line number in the CSV (the header is line 1), for error messages.
        image: the `image` entry as written (the output's `*_sources` hold it).
        path: that entry resolved against the CSV's folder.
        label: the `label` entry as written (a class name or index), or None where the table has no labels.
        patient: the `patient` entry, or the image entry where there is none.
        split: `train`, `val` or `test`, or None to be assigned.
        mask: the mask's resolved path, or None.
        mask_entry: the mask column's entry as written (the record holds it), or None.
    """

    number: int
    image: str
    path: Path
    label: str = None
    patient: str = None
    split: str = None
    mask: Path = None
    mask_entry: str = None

    def where(self, table):
        """How an error names this row: `labels.csv row 4 (scans/a.nii.gz)`."""
        return f"{table} row {self.number} ({self.image})"


def read_table(path, mask_column=None, labels=True):
    """The rows of a labels table, checked: the columns are there, no entry is blank where it must not be,
    every `split` is train, val or test.

    Args:
        path: the CSV file.
        mask_column: the column naming each scan's mask (relative paths), or None for no masks.
        labels: whether the `label` column is required (`predict` reads tables without labels).

    Returns:
        A list of `Row`s, in the table's order.

    Example:

    ```python
    rows = read_table("scans/labels.csv")
    rows[0].path, rows[0].label, rows[0].patient   # (PosixPath('scans/case01.nii.gz'), 'benign', 'P01')
    ```
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            records = [{key.strip(): (value or "").strip() for key, value in record.items() if key}
                       for record in reader]
    except FileNotFoundError:
        raise DataError(f"{path}: no such labels table; expected a CSV with columns image,label") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV file ({error})") from None
    required = [name for name, (needed, _) in COLUMNS.items() if needed and (labels or name != "label")]
    required += [mask_column] if mask_column else []
    missing = [name for name in required if name not in header]
    if missing:
        raise DataError(f"{path}: no column {', '.join(missing)}; its columns are {', '.join(header) or 'none'} "
                        f"(expected {', '.join(required)}{', patient, split' * labels})")
    if not records:
        raise DataError(f"{path}: no rows; expected one row per scan")
    return [_row(path, number, record, mask_column, labels) for number, record in enumerate(records, start=2)]


def _row(table, number, record, mask_column, labels):
    image = record["image"]
    where = f"{table} row {number}"
    if not image:
        raise DataError(f"{where}: no image; expected {COLUMNS['image'][1]}")
    label = record.get("label") or None
    if labels and label is None:
        raise DataError(f"{where} ({image}): no label; expected {COLUMNS['label'][1]}")
    split = record.get("split", "").lower() or None
    if split is not None and split not in SPLITS:
        raise DataError(f"{where} ({image}): unknown split {record['split']!r}; expected {', '.join(SPLITS)} "
                        "or blank")
    mask = record.get(mask_column) if mask_column else None
    if mask_column and not mask:
        raise DataError(f"{where} ({image}): no {mask_column}; expected the path of the scan's mask")
    return Row(number, image, table.parent / image, label, record.get("patient") or image, split,
               table.parent / mask if mask else None, mask)


def class_names(rows, table, classes=None):
    """The classes by index, and each row's class index.

    Labels that are all integers are class indices (classes `"0"`, `"1"`, ... up to the largest);
    otherwise they are names, in sorted order unless `classes` gives the order.

    Args:
        rows: the table's `Row`s.
        table: the CSV's path, for errors.
        classes: the class names in index order (`--classes`); then every label must be one of them.

    Returns:
        `(names, indices)`: the class names, and one class index per row.

    Raises:
        DataError: a label not among `classes`, a class named twice, or fewer than 2 classes.
    """
    labels = [row.label for row in rows]
    if classes is None:
        if all(label.isdigit() for label in labels):
            names = [str(k) for k in range(max(int(label) for label in labels) + 1)]
            labels = [str(int(label)) for label in labels]
        else:
            names = sorted(set(labels))
    else:
        names = list(classes)
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice or not all(names):
            wrong = "a blank class name" if not all(names) else f"class {twice[0]!r} named twice"
            raise DataError(f"--classes {','.join(names)}: {wrong}; expected each class's name once, in index order")
    index = {name: k for k, name in enumerate(names)}
    for row, label in zip(rows, labels):
        if label not in index:
            raise DataError(f"{row.where(table)}: unknown label {row.label!r}; expected one of the classes "
                            f"{', '.join(names)}")
    if len(names) < 2:
        raise DataError(f"{table}: a single class ({', '.join(names)}); a classification needs at least 2")
    return names, [index[label] for label in labels]
