"""Splitting scans into train, val and test: given splits kept, the rest stratified by label and grouped by patient."""
import collections

import numpy as np

from keras_lnn.data.npz import SPLITS
from keras_lnn.errors import DataError

DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)


def parse_fractions(text):
    """`--split`'s value `"0.7,0.1,0.2"` -> `(0.7, 0.1, 0.2)`: three positive fractions summing to 1."""
    try:
        fractions = tuple(float(value) for value in text.split(","))
    except ValueError:
        fractions = ()
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f"--split {text!r}: expected three positive fractions TRAIN,VAL,TEST summing to 1, "
                        "e.g. 0.7,0.1,0.2")
    return fractions


def assign_splits(rows, labels, names, table, fractions=DEFAULT_FRACTIONS, seed=0):
    """One split per row: a row's given split, its patient's given split, or one assigned by the fractions.

    The patients with no given split are split per class (each patient counted in the class of
    most of its scans): their order is shuffled with `seed`; where a class has three patients or
    more, each split first gets one of them (the smallest); then each goes to the split furthest
    below its share of that class's scans.

    Args:
        rows: the table's `Row`s (`patient`, `split`).
        labels: their class indices.
        names: the class names, by index.
        table: the CSV's path, for errors.
        fractions: the train, val and test shares.
        seed: the shuffle's seed.

    Returns:
        A list of split names, one per row.

    Raises:
        DataError: a patient given two splits, or a class with no scan in some split.

    Example:

    ```python
    splits = assign_splits(rows, labels, ["benign", "malignant"], "labels.csv", (0.7, 0.1, 0.2), seed=0)  # ["train", "test", ...]
    ```
    """
    given = {}
    for row in rows:
        if row.split is None:
            continue
        first = given.setdefault(row.patient, (row.split, row.number))
        if first[0] != row.split:
            who = f"scan {row.image!r}" if row.patient == row.image else f"patient {row.patient!r}"
            raise DataError(f"{table}: {who} is given two splits ({first[0]} in row {first[1]}, {row.split} in row "
                            f"{row.number}); all of a patient's scans go to one split")
    scans = collections.defaultdict(list)  # patient -> class indices of its scans
    for row, label in zip(rows, labels):
        if row.patient not in given:
            scans[row.patient].append(label)
    assigned = {patient: split for patient, (split, _) in given.items()}
    assigned.update(_stratified(scans, fractions, np.random.default_rng(seed)))
    splits = [assigned[row.patient] for row in rows]
    _check_every_class(labels, names, splits, table)
    return splits


def _stratified(scans, fractions, rng):
    """`{patient: split}` for patients with no given split, stratified by each patient's main class."""
    strata = collections.defaultdict(list)
    for patient in sorted(scans):
        counts = collections.Counter(scans[patient])
        strata[max(sorted(counts), key=counts.get)].append(patient)
    assigned = {}
    for label in sorted(strata):
        patients = [strata[label][k] for k in rng.permutation(len(strata[label]))]
        patients.sort(key=lambda patient: -len(scans[patient]))  # large groups first (stable: shuffled ties)
        quota = np.array(fractions) * sum(len(scans[patient]) for patient in patients)
        taken = np.zeros(len(SPLITS))
        if len(patients) >= len(SPLITS):  # one patient each first, the smallest to the smallest share
            for k in np.argsort(fractions, kind="stable"):
                patient = patients.pop()
                assigned[patient], taken[k] = SPLITS[k], len(scans[patient])
        for patient in patients:
            k = int(np.argmax(quota - taken))
            assigned[patient] = SPLITS[k]
            taken[k] += len(scans[patient])
    return assigned


def _check_every_class(labels, names, splits, table):
    """Every class has a scan in every split: training, early stopping and AUC need them all."""
    present = collections.defaultdict(collections.Counter)  # class -> split -> scans
    for label, split in zip(labels, splits):
        present[label][split] += 1
    for split in SPLITS:
        for label, name in enumerate(names):
            if not present[label][split]:
                found = ", ".join(f"{present[label][s]} {s}" for s in SPLITS)
                raise DataError(f"{table}: class {name!r} has no scan in the {split} split ({found}); every class "
                                "needs scans in train, val and test (more scans, or other --split fractions or splits)")
