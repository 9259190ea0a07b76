"""predictions.csv: a row per val and test volume (`split, index, label`, then the probabilities), written and read.

Binary models have one `probability` column (of class 1), multi-class models `probability_0 ..
probability_{C-1}`; probabilities from test-time augmentation repeat them with the suffix `_tta`.
Reading checks the file (columns, each split's indices 0..N-1, labels and probabilities in range)
and names it in a one-line `EvaluationError` when it is damaged.

Example:

>>> rows = prediction_rows("test", [0, 1], [[0.2], [0.7]])
>>> rows[1]
{'split': 'test', 'index': 1, 'label': 1, 'probability': 0.7}

and, from a model's folder, `read_predictions("saved_models/exp1_adrenal/CNNExp1N4/predictions.csv").splits["test"]`:
its test labels and probabilities.
"""
import csv
import dataclasses
from pathlib import Path

import numpy as np

from keras_lnn.errors import EvaluationError
from keras_lnn.io import atomic_write_csv

FILE = "predictions.csv"
SPLITS = ("val", "test")
TTA_SUFFIX = "_tta"


def probability_columns(n_columns, tta=False):
    """`["probability"]` for one column, else `probability_<k>`; with `tta` the `_tta` names."""
    names = ["probability"] if n_columns == 1 else [f"probability_{k}" for k in range(n_columns)]
    return [name + TTA_SUFFIX for name in names] if tta else names


def prediction_rows(split, labels, probabilities, tta_probabilities=None):
    """Rows of predictions.csv for one split: split, index (position in the split's arrays), label,
    the probabilities and, given `tta_probabilities`, the same columns with `_tta`."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities[:, None] if probabilities.ndim == 1 else probabilities
    columns = probability_columns(probabilities.shape[1])
    blocks = [(columns, probabilities)]
    if tta_probabilities is not None:
        tta_probabilities = np.asarray(tta_probabilities, dtype=np.float64).reshape(probabilities.shape)
        blocks.append((probability_columns(probabilities.shape[1], tta=True), tta_probabilities))
    rows = []
    for i, label in enumerate(np.asarray(labels).reshape(-1)):
        row = {"split": split, "index": i, "label": int(label)}
        for names, values in blocks:
            row.update({name: float(value) for name, value in zip(names, values[i])})
        rows.append(row)
    return rows


def write_predictions(path, splits, tta=None):
    """Writes predictions.csv atomically.

    Args:
        splits: `{split: (labels, probabilities)}`.
        tta: None, or `{split: probabilities}` from test-time augmentation.
    """
    rows = []
    for split, (labels, probabilities) in splits.items():
        rows += prediction_rows(split, labels, probabilities, None if tta is None else tta[split])
    atomic_write_csv(path, rows, list(rows[0]))


@dataclasses.dataclass
class Predictions:
    """A read predictions.csv.

    Attributes:
        splits: `{split: (labels (N,), probabilities (N, C))}` for val and test.
        tta: `{split: probabilities (N, C)}` of the `_tta` columns, or None where the file has none.
    """

    splits: dict
    tta: dict = None


def read_predictions(path, n_classes=None):
    """Reads and checks a predictions.csv.

    Args:
        path: the file.
        n_classes: where known (metrics.json), the number of classes the columns and labels must fit.

    Raises:
        EvaluationError: missing or damaged, one line naming the file and what is wrong.
    """
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            header, rows = list(reader.fieldnames or []), list(reader)
    except FileNotFoundError:
        raise EvaluationError(f"{path}: missing (the model's val and test probabilities are needed)") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise EvaluationError(f"{path}: unreadable ({type(error).__name__}: {error})") from None
    try:
        return _parse(header, rows, n_classes)
    except (KeyError, ValueError, TypeError) as error:
        raise EvaluationError(f"{path}: damaged ({error})") from None


def _parse(header, rows, n_classes):
    missing = [c for c in ("split", "index", "label") if c not in header]
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    plain = [c for c in header if c.startswith("probability") and not c.endswith(TTA_SUFFIX)]
    expected_n = 1 if plain == ["probability"] else len(plain)
    if plain != probability_columns(expected_n) or not plain:
        raise ValueError(f"probability columns {plain}, expected 'probability' or probability_0..probability_<C-1>")
    if n_classes is not None and expected_n != (1 if n_classes == 2 else n_classes):
        raise ValueError(f"{len(plain)} probability column(s) for a model of {n_classes} classes")
    tta_columns = [c for c in header if c.endswith(TTA_SUFFIX)]
    if tta_columns and tta_columns != probability_columns(expected_n, tta=True):
        raise ValueError(f"test-time-augmentation columns {tta_columns} do not match {plain}")
    classes = max(2, expected_n)
    splits, tta = {}, {}
    for split in SPLITS:
        chosen = [row for row in rows if row["split"] == split]
        if not chosen:
            raise ValueError(f"no rows of the {split} split")
        indices = [int(row["index"]) for row in chosen]
        if indices != list(range(len(chosen))):
            raise ValueError(f"the {split} split's indices are not 0..{len(chosen) - 1} in order")
        labels = np.array([int(row["label"]) for row in chosen])
        if labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"a {split} label outside 0..{classes - 1}")
        splits[split] = (labels, _probabilities(chosen, plain, split))
        if tta_columns:
            tta[split] = _probabilities(chosen, tta_columns, split)
    return Predictions(splits, tta or None)


def _probabilities(rows, columns, split):
    try:
        values = np.array([[float(row[c]) for c in columns] for row in rows], dtype=np.float64)
    except (ValueError, TypeError) as error:
        bad = next(row for row in rows if not _floats(row, columns))
        raise ValueError(f"{split} row {bad['index']}: {error}") from None
    if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
        raise ValueError(f"a {split} probability outside [0, 1] in {', '.join(columns)}")
    return values


def _floats(row, columns):
    try:
        [float(row[c]) for c in columns]
        return True
    except (ValueError, TypeError):
        return False
