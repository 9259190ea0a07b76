"""The paper's Table 1 (parameters) and Table 2 (test results), shipped inside the package.

They are needed at run time (audit, report) on machines without `../shared`;
`tests/test_paper.py` checks them against `../shared/paper/*.csv` where present.
"""
import csv
import functools
from importlib import resources

DATASETS = ("adrenal", "nodule", "vessel")


def _read(filename):
    with resources.files("keras_lnn").joinpath("paper_tables", filename).open(newline="") as handle:
        return list(csv.DictReader(handle))


@functools.lru_cache(maxsize=None)
def table1_parameters():
    """Table 1: model name -> the paper's parameter count (PyTorch's count)."""
    return {row["model"]: int(row["parameters"]) for row in _read("table1_parameters.csv")}


@functools.lru_cache(maxsize=None)
def table2_results():
    """Table 2: method -> {dataset: {"acc": float, "auc": float}}, plus "parameters" (str).

    Rows are the paper's eight-plus models and the MedMNIST benchmark methods
    (ResNet variants, auto-sklearn, AutoKeras).
    """
    results = {}
    for row in _read("table2_results.csv"):
        entry = {ds: {"acc": float(row[f"{ds}_acc"]), "auc": float(row[f"{ds}_auc"])} for ds in DATASETS}
        entry["parameters"] = row["parameters"]
        results[row["method"]] = entry
    return results
