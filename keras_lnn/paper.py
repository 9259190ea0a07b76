"""The paper's Table 1 (parameters) and Table 2 (test results), and MedMNIST v2's 3D benchmarks, shipped
inside the package.

They are needed at run time (audit, report) on machines without `../shared`;
`tests/test_paper.py` checks them against the paper's own CSV files and MedMNIST's benchmark table
where the test machine has them.
"""
import csv
import functools
from importlib import resources

# The datasets the paper's Table 2 reports (`keras_lnn.data.info.DATASETS` holds all six MedMNIST 3D ones).
PAPER_DATASETS = ("adrenal", "nodule", "vessel")


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
        entry = {ds: {"acc": float(row[f"{ds}_acc"]), "auc": float(row[f"{ds}_auc"])} for ds in PAPER_DATASETS}
        entry["parameters"] = row["parameters"]
        results[row["method"]] = entry
    return results


MEDMNIST_BENCHMARK_SOURCE = (
    "MedMNIST v2 (Yang et al., Scientific Data 10, 41, 2023), table of 3D results: ResNet-18/50 with 2.5D, "
    "3D and ACS convolutions, auto-sklearn and AutoKeras, on the official 28^3 test splits"
)


@functools.lru_cache(maxsize=None)
def medmnist_benchmarks_3d():
    """MedMNIST v2's 3D benchmarks: `{dataset: [(method, {"acc": float, "auc": float}), ...]}`, in the table's order.

    All six 3D datasets (organ, nodule, fracture, adrenal, vessel, synapse); the source is
    `MEDMNIST_BENCHMARK_SOURCE`.

    Example:

    >>> dict(medmnist_benchmarks_3d()["organ"])["ResNet-18 + 3D"]
    {'acc': 0.907, 'auc': 0.996}
    """
    results = {}
    for row in _read("medmnist_benchmark_3d.csv"):
        scores = {"acc": float(row["acc"]), "auc": float(row["auc"])}
        results.setdefault(row["dataset"], []).append((row["method"], scores))
    return results

