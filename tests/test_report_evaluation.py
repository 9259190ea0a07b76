"""The report's evaluation: Holm's correction, family bests chosen on validation, one group per setting,
the test majority as constant predictor, the MedMNIST v2 benchmarks, intervals and reliability diagrams."""
import itertools
import math
import random

import pytest

from keras_lnn.evaluation import stats


# ---------------------------------------------------------------- Holm
def _holm_by_the_procedure(p_values):
    """Adjusted p as the smallest alpha at which Holm's sequential procedure rejects each test (brute force)."""
    m = len(p_values)

    def rejected(alpha):
        out = set()
        for k, i in enumerate(sorted(range(m), key=lambda i: p_values[i])):
            if p_values[i] > alpha / (m - k):
                break
            out.add(i)
        return out

    candidates = sorted({min(1.0, (m - k) * p) for k in range(m) for p in p_values})
    # Never rejected at alpha = 1: the adjusted p is capped there.
    return [next((alpha for alpha in candidates if i in rejected(alpha + 1e-12)), 1.0) for i in range(m)]


def test_holm_on_a_worked_example():
    # Sorted 0.01, 0.03, 0.04 of m = 3: 3 * 0.01 = 0.03; 2 * 0.03 = 0.06; 1 * 0.04 = 0.04, raised to 0.06.
    assert stats.holm_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    # Capped at 1, order kept, a test not made passes through and does not count in m.
    adjusted = stats.holm_adjust([0.6, None, 0.2, math.nan, 0.7])
    assert adjusted[1] is None and math.isnan(adjusted[3])
    assert adjusted[0] == pytest.approx(1.0) and adjusted[2] == pytest.approx(0.6) and adjusted[4] == pytest.approx(1.0)
    assert stats.holm_adjust([]) == [] and stats.holm_adjust([0.04]) == [0.04]


def test_holm_matches_the_sequential_procedure():
    rng = random.Random(0)
    for m in (2, 3, 6, 9):
        for _ in range(20):
            p = [rng.choice([rng.random(), rng.random() / 50, 0.02]) for _ in range(m)]
            assert stats.holm_adjust(p) == pytest.approx(_holm_by_the_procedure(p), abs=1e-9)
            adjusted = stats.holm_adjust(p)
            assert all(a >= raw for a, raw in zip(adjusted, p)) and max(adjusted) <= 1.0
            for i, j in itertools.permutations(range(m), 2):  # monotone in the raw p-values
                if p[i] <= p[j]:
                    assert adjusted[i] <= adjusted[j]


# ---------------------------------------------------------------- runs written by hand
import os  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats as scipy_stats  # noqa: E402

from keras_lnn import report  # noqa: E402
from keras_lnn.data import file_md5  # noqa: E402
from tests.conftest import write_medmnist_npz  # noqa: E402
from tests.test_report import PNG_SIGNATURE, _row, _write_predictions, write_run  # noqa: E402


def split_record(auc, acc=0.8, *, sensitivity=0.6, specificity=0.9, ece=0.05, ci=None, bins=None):
    """A metrics_version 2 split record (docs/records.md), binary, with the keys the report reads."""
    return {"n": 10, "class_counts": [7, 3], "acc": acc, "auc": auc, "loss": 0.4, "auc_undefined": None,
            "acc_ci95": [acc - 0.1, acc + 0.05], "auc_ci95": ci or [auc - 0.1, auc + 0.05],
            "auc_ci95_delong": [auc - 0.09, auc + 0.06],
            "at_0.5": {"threshold": 0.5, "sensitivity": sensitivity, "specificity": specificity},
            "calibration": {"brier": 0.1, "ece": ece, "bins": 15, "of": "positive-class probability",
                            "reliability": bins or [{"low": 0.0, "high": 0.2, "count": 6, "confidence": 0.1,
                                                     "observed": 0.15},
                                                    {"low": 0.6, "high": 0.8, "count": 4, "confidence": 0.7,
                                                     "observed": 0.5}]}}


def write_v2_run(out, model, seed, val_auc, test_auc, **extra):
    """A finished metrics_version 2 run: split records for val and test."""
    return write_run(out, model, seed, test_auc, metrics_version=2, val=split_record(val_auc),
                     test=split_record(test_auc), **extra)


def _markdown(out, tmp_path, **kwargs):
    return report.write_report(out, tmp_path / "r", **kwargs)["markdown"].read_text()


def test_family_best_is_chosen_on_validation_not_test(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_v2_run(out, "LiqExp2N2", seed, 0.80 + seed / 100, 0.60 + seed / 50, test_acc=0.8)  # best on val
        write_v2_run(out, "LiqExp2N5", seed, 0.70 + seed / 100, 0.90 + seed / 50, test_acc=0.8)  # best on test
        write_v2_run(out, "CNNExp2N4", seed, 0.75 + seed / 100, 0.70 + seed / 25, test_acc=0.8)
    # Test ACCs differ too, so that the section holds two Welch tests for Holm.
    for seed, acc in ((0, 0.85), (1, 0.9)):
        path = out / f"exp2_vessel_seed{seed}" / "CNNExp2N4" / "metrics.json"
        metrics = __import__("json").loads(path.read_text())
        metrics["test"]["acc"] = acc
        path.write_text(__import__("json").dumps(metrics))
    md = _markdown(out, tmp_path)
    assert "Best model of each family by mean validation AUC over seeds: LTC: LiqExp2N2" in md
    assert "| LiqExp2N2 vs CNNExp2N4 | AUC |" in md and "LiqExp2N5 vs" not in md
    # Holm over m = 2: the smaller p doubled, the larger one at least that; cross-checked with scipy directly.
    p_auc = scipy_stats.ttest_ind([0.60, 0.62], [0.70, 0.74], equal_var=False).pvalue
    p_acc = scipy_stats.ttest_ind([0.8, 0.8], [0.85, 0.9], equal_var=False).pvalue
    low, high = sorted([p_auc, p_acc])
    expected = {p_auc: min(1, 2 * low) if p_auc == low else max(min(1, 2 * low), high)}
    row = _row(md, "LiqExp2N2 vs CNNExp2N4", "### Which differences exceed seed noise")
    assert f"| {stats.format_p_value(p_auc)} | {stats.format_p_value(expected[p_auc])} |" in row
    assert "over the 2 tests of this table" in md
    # The per-seed intervals of the family bests.
    best_row = _row(md, "LTC", "### Family bests")
    assert best_row == "| LTC | LiqExp2N2 | 0 | 0.800 | 0.600 | 0.500 to 0.650 | 0.510 to 0.660 | 0.050 |"


def test_holm_counts_delong_tests_of_the_section(tmp_path):
    out = tmp_path / "OUT"
    labels = [0, 0, 1, 1, 0, 1]
    for seed in (0, 1):
        liquid = write_run(out, "LiqExp2N2", seed, 0.6 + seed / 100)
        cnn = write_run(out, "CNNExp2N4", seed, 0.7 + seed / 100)
        _write_predictions(liquid, labels, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
        _write_predictions(cnn, labels, [0.5] * 6)
    md = _markdown(out, tmp_path)
    # Two seeds, each p = 0.0133 (tests/test_stats.py): Holm gives 2 * 0.0133 = 0.027 to both.
    section = md[md.index("### Which differences exceed test-set noise"):]
    assert "over the 2 tests of this table" in section
    assert section.count("| 2.47 | 0.013 | 0.027 | exceeds test-set noise |") == 2


def test_constant_predictor_is_the_test_majority_class_one(tmp_path):
    labels = np.array([[1]] * 7 + [[0]] * 3, dtype=np.uint8)  # a user's data whose majority class is 1
    data = write_medmnist_npz(tmp_path / "data" / "vesselmnist3d.npz", counts=(4, 2, 10), overrides={"test_labels": labels})
    out = tmp_path / "OUT"
    write_run(out, "CNNExp2N4", 0, 0.7, n_seeds=1, data_md5=file_md5(data))
    md = _markdown(out, tmp_path, data_dir=tmp_path / "data")
    assert "| always class 1, the test majority (constant) | - | 0.700 | 0.500 |" in md
    assert "always negative" not in md

    recorded = tmp_path / "OUT2"  # v2 records it: no data file needed
    write_run(recorded, "CNNExp2N4", 0, 0.7, n_seeds=1, test_majority={"class": 1, "acc": 0.64})
    assert "| always class 1, the test majority (constant) | - | 0.640 |" in _markdown(recorded, tmp_path)

    predicted = tmp_path / "OUT3"  # from predictions.csv: 4 of 6 test labels are 1
    _write_predictions(write_run(predicted, "CNNExp2N4", 0, 0.7, n_seeds=1), [1, 1, 0, 1, 0, 1], [0.5] * 6)
    md = _markdown(predicted, tmp_path, data_dir=tmp_path / "nothing")
    assert "| always class 1, the test majority (constant) | - | 0.667 |" in md and "predictions.csv" in md


def test_constant_predictor_ties_go_to_the_lower_class():
    from keras_lnn.report.constant import _majority

    assert _majority([2, 2, 1, 1, 0]) == (1, 0.4) and _majority([0, 1]) == (0, 0.5)


def test_runs_that_differ_in_backend_or_protocol_are_separate_rows(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_run(out, "CNNExp2N4", seed, 0.70 + seed / 100)
        write_run(tmp_path / "JAX", "CNNExp2N4", seed, 0.90 + seed / 100, backend="jax")
        write_run(tmp_path / "LONG", "CNNExp2N4", seed, 0.80, epochs=3)  # max_epochs 3, not 2
        write_run(tmp_path / "AUG", "CNNExp2N4", seed, 0.60,
                  training_options={"augment": ["flip"], "class_weight": "balanced", "tta": False})
        write_run(tmp_path / "PAPER", "LiqExp2N2", seed + 2, 0.5,  # explicit paper options = absent options
                  training_options={"augment": [], "class_weight": None, "tta": False})
        write_run(out, "LiqExp2N2", seed, 0.5)
    md = _markdown([out, tmp_path / "JAX", tmp_path / "LONG", tmp_path / "AUG", tmp_path / "PAPER"], tmp_path)
    assert "These runs differ in backend, protocol, training options" in md
    table2 = md[md.index("## Table 2"):]
    assert "| CNNExp2N4 [backend tensorflow; max_epochs 2; paper's training options] | exp2 | 0.880 ± 0.000 (n=2) | 0.705 ± 0.007 (n=2) |" in table2
    assert "| CNNExp2N4 [backend jax; max_epochs 2; paper's training options] | exp2 | 0.880 ± 0.000 (n=2) | 0.905 ± 0.007 (n=2) |" in table2
    assert "| CNNExp2N4 [backend tensorflow; max_epochs 3; paper's training options] |" in table2
    assert "| CNNExp2N4 [backend tensorflow; max_epochs 2; augment flip, class_weight balanced] |" in table2
    liquid = [line for line in table2.splitlines() if line.startswith("| LiqExp2N2 [")]
    assert len(liquid) == 1 and "0.500 ± 0.000 (n=4)" in liquid[0]  # the same setting: pooled
    assert "- training options: augment flip, class_weight balanced (2 runs); paper's training options (10 runs)" in md
    assert "Setting: backend jax; max_epochs 2; paper's training options." in md  # families compared per setting
    cost = md[md.index("## Training cost"):]
    assert "| vessel | CNNExp2N4 [backend jax; max_epochs 2; paper's training options] | 2 |" in cost


def test_a_duplicate_seed_is_reported_and_counted_once(tmp_path):
    write_run(tmp_path / "A", "CNNExp2N4", 0, 0.70, n_seeds=1, finished_at="2025-01-01T10:00:00")
    write_run(tmp_path / "B", "CNNExp2N4", 0, 0.80, n_seeds=1, finished_at="2025-02-01T10:00:00")
    md = _markdown([tmp_path / "A", tmp_path / "B"], tmp_path)
    assert "Seeds run more than once under one setting" in md
    line = next(line for line in md.splitlines() if line.startswith("- CNNExp2N4 on vessel, seed 0: 2 runs"))
    assert line.index("/B/") < line.index("/A/")  # the latest first: the one used
    assert "test AUC 0.800" in line and "test AUC 0.700" in line
    assert "0.800 ± - (n=1)" in _row(md, "CNNExp2N4")  # one seed, not two


def test_benchmark_rows_for_the_datasets_the_paper_left_out(tmp_path):
    out = tmp_path / "OUT"
    write_run(out, "CNNExp1N4", 0, 0.9, experiment="exp1", dataset="organ", n_seeds=1, n_classes=11, test_acc=0.5)
    write_run(out, "CNNExp1N4", 0, 0.6, experiment="exp1", dataset="synapse", n_seeds=1)
    write_run(tmp_path / "OUT64", "CNNExp1N4", 0, 0.6, experiment="exp1", dataset="fracture", n_seeds=1, size=64)
    md = _markdown([out, tmp_path / "OUT64"], tmp_path)
    organ = md[md.index("## Table 2: organ"):md.index("## Table 2: synapse")]
    assert "| ResNet-18 + 3D | 0.907 | 0.996 |" in organ and "| AutoKeras | 0.804 | 0.979 |" in organ
    assert "MedMNIST v2 (Yang et al., Scientific Data" in organ
    assert "| ResNet-50 + 3D | 0.795 | 0.851 |" in md[md.index("## Table 2: synapse"):]
    assert "MedMNIST benchmarks" not in md[md.index("## Table 2: fracture"):md.index("## Table 2: organ")]  # 64^3


def test_table2_intervals_calibration_tta_and_the_reliability_figure(tmp_path):
    import matplotlib.image

    out = tmp_path / "OUT"
    write_v2_run(out, "CNNExp2N4", 0, 0.8, 0.85, n_seeds=1,
                 tta={"views": 8, "test": split_record(0.88), "val": split_record(0.81)})
    write_v2_run(out, "LiqExp2N2", 0, 0.7, 0.75, n_seeds=1)
    write_run(out, "CNNExp2N1", 0, 0.7, n_seeds=1)  # metrics_version 1
    previous = os.umask(0o022)
    try:
        paths = report.write_report(out, tmp_path / "r")
    finally:
        os.umask(previous)
    md = paths["markdown"].read_text()
    assert "| AUC 95% CI | sens @0.5 | spec @0.5 | ECE | TTA test AUC |" in md
    assert _row(md, "CNNExp2N4").startswith(
        "| CNNExp2N4 | exp2 | 0.800 ± - (n=1) | 0.850 ± - (n=1) | 0.750 to 0.900 | 0.600 | 0.900 | 0.050 | 0.880 ± - (n=1) |")
    assert "| LiqExp2N2 | exp2 | 0.800 ± - (n=1) | 0.750 ± - (n=1) | 0.650 to 0.800 | 0.600 | 0.900 | 0.050 | - |" in md
    assert "| CNNExp2N1 | exp2 | 0.880 ± - (n=1) | 0.700 ± - (n=1) | - | - | - | - | - |" in md
    assert md.count("`lnn-keras evaluate RUN_DIR` adds them") == 1  # said once, for the one v1 run
    assert "- records: 1 finished run recorded before metrics_version 2" in md
    figure = tmp_path / "r" / "figures" / "vessel_reliability.png"
    assert "](figures/vessel_reliability.png)" in md and figure in paths["figures"]
    assert figure.read_bytes().startswith(PNG_SIGNATURE) and matplotlib.image.imread(figure).shape[0] > 300
    assert (figure.stat().st_mode & 0o777) == 0o644  # keras_lnn.io's atomic write, with the user's umask


def test_reliability_figure_draws_the_bins_and_needs_records():
    from keras_lnn.report.collect import ModelResults
    from keras_lnn.report.figures import reliability_figure

    run = {"seed": 0, "status": "finished", "test": split_record(0.8), "_path": "x"}
    old = {"seed": 0, "status": "finished", "test": {"acc": 0.8, "auc": 0.8}, "_path": "y"}
    assert reliability_figure([("CNN", ModelResults("vessel", 28, "exp2", "CNNExp2N4", [old]))]) is None
    png = reliability_figure([("CNN", ModelResults("vessel", 28, "exp2", "CNNExp2N4", [run]))], "vessel")
    assert png.startswith(PNG_SIGNATURE)


def test_slice_profiles_rank_each_family_on_validation(tmp_path):
    from keras_lnn.report.families import family
    from keras_lnn.report.profiles import _best_first

    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_v2_run(out, "LiqExp2N2", seed, 0.80, 0.60)  # best on validation
        write_v2_run(out, "LiqExp2N5", seed, 0.70, 0.90)  # best on test
    results = report.group_results([report.load_metrics(p) for p in report.find_metrics_files([out])])
    assert [r.model for r in _best_first(results, family)["LTC"]] == ["LiqExp2N2", "LiqExp2N5"]


def test_figures_dir_moves_the_figures_and_their_links(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_v2_run(out, "LiqExp2N2", seed, 0.80, 0.60)
    paths = report.write_report(out, tmp_path / "docs", name="evaluation", figures_dir="figures/evaluation")
    md = paths["markdown"].read_text()
    assert paths["figures"] and all(p.parent == tmp_path / "docs" / "figures" / "evaluation" for p in paths["figures"])
    assert all(p.is_file() for p in paths["figures"])
    assert "](figures/evaluation/" in md and "](figures/exp" not in md
