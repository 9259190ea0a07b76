"""The paper's tables shipped in the package, against ../shared/paper/*.csv where present."""
import csv
from importlib import resources

import pytest

from keras_lnn import paper

BENCHMARKS = [
    "ResNet-18 + 2.5D", "ResNet-18 + 3D", "ResNet-18 + ACS", "ResNet-50 + 2.5D", "ResNet-50 + 3D",
    "ResNet-50 + ACS", "auto-sklearn", "AutoKeras",
]
TABLE2_MODELS = [
    "CNNExp2N4", "CNNExp4N1", "LiqExp4N2", "LiqExp4N6", "CNNExp3N1", "CNNExp3N6", "LSTMExp5N2", "CNNExp2N3",
    "LiqExp3N2",
]


def _rows(handle):
    return list(csv.DictReader(handle))


def _packaged(filename):
    with resources.files("keras_lnn").joinpath("paper_tables", filename).open(newline="") as handle:
        return _rows(handle)


def _shared(folder, filename):
    path = folder / filename
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(newline="") as handle:
        return _rows(handle)


@pytest.mark.parametrize("filename", ["table1_parameters.csv", "table2_results.csv"])
def test_packaged_tables_equal_the_shared_ones(shared_paper, filename):
    assert _packaged(filename) == _shared(shared_paper, filename)


def test_table1_equals_the_shared_csv(shared_paper):
    rows = _shared(shared_paper, "table1_parameters.csv")
    assert paper.table1_parameters() == {row["model"]: int(row["parameters"]) for row in rows}


def test_table2_equals_the_shared_csv(shared_paper):
    rows = _shared(shared_paper, "table2_results.csv")
    expected = {
        row["method"]: {
            **{ds: {"acc": float(row[f"{ds}_acc"]), "auc": float(row[f"{ds}_auc"])} for ds in paper.PAPER_DATASETS},
            "parameters": row["parameters"],
        }
        for row in rows
    }
    assert paper.table2_results() == expected


def test_table1_has_the_30_models_in_the_papers_order():
    table1 = paper.table1_parameters()
    assert len(table1) == 30
    assert list(table1)[:3] == ["CNNExp1N1", "LiqExp1N2", "CNNExp1N3"]
    assert list(table1)[-1] == "RNNExp5N6"
    assert all(isinstance(count, int) and count > 0 for count in table1.values())
    assert table1["CNNExp2N4"] == 13739 and table1["LiqExp3N2"] == 127537


def test_table2_values():
    table2 = paper.table2_results()
    assert list(table2) == BENCHMARKS + TABLE2_MODELS
    assert table2["CNNExp2N4"]["vessel"] == {"acc": 0.878, "auc": 0.796}
    assert table2["LiqExp3N2"]["vessel"] == {"acc": 0.935, "auc": 0.903}
    assert table2["LSTMExp5N2"]["nodule"] == {"acc": 0.867, "auc": 0.871}
    assert table2["ResNet-18 + 3D"]["adrenal"] == {"acc": 0.721, "auc": 0.827}
    assert table2["auto-sklearn"]["parameters"] == "unknown"
    assert table2["ResNet-50 + ACS"]["parameters"] == ">1m"


def test_table2_parameters_agree_with_table1():
    table1, table2 = paper.table1_parameters(), paper.table2_results()
    for name in TABLE2_MODELS:
        assert int(table2[name]["parameters"]) == table1[name], name


def test_table2_scores_are_probabilities():
    for method, entry in paper.table2_results().items():
        assert set(entry) == {*paper.PAPER_DATASETS, "parameters"}, method
        for dataset in paper.PAPER_DATASETS:
            assert set(entry[dataset]) == {"acc", "auc"}
            assert all(0.5 <= value <= 1.0 for value in entry[dataset].values()), (method, dataset)


def test_medmnist_benchmarks_equal_the_shared_csv(shared_medmnist):
    rows = _shared(shared_medmnist, "benchmark_3d.csv")
    assert _packaged("medmnist_benchmark_3d.csv") == rows
    table = paper.medmnist_benchmarks_3d()
    assert sorted(table) == ["adrenal", "fracture", "nodule", "organ", "synapse", "vessel"]
    assert all([method for method, _ in entries] == BENCHMARKS for entries in table.values())


def test_medmnist_benchmarks_agree_with_the_papers_table2():
    # The paper copied MedMNIST v2's rows for its three datasets: both tables must say the same.
    table2 = paper.table2_results()
    for dataset in paper.PAPER_DATASETS:
        for method, scores in paper.medmnist_benchmarks_3d()[dataset]:
            assert table2[method][dataset] == scores, (method, dataset)
