"""keras_lnn.evaluation: every metric on hand-worked examples, cross-checked with scikit-learn and medmnist's Evaluator."""
import time

import numpy as np
import pytest
from sklearn import metrics as skm

from keras_lnn import evaluation
from keras_lnn.evaluation import delong, stats
from keras_lnn.evaluation import classification, intervals


def _medmnist_evaluator():
    return pytest.importorskip("medmnist.evaluator", reason="medmnist's evaluator needs pandas")


def _binary_case(n_negative=339, n_positive=43, seed=0, decimals=None):
    rng = np.random.default_rng(seed)
    labels = np.r_[np.zeros(n_negative), np.ones(n_positive)].astype(int)
    scores = np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0, 1)
    return labels, (np.round(scores, decimals) if decimals else scores)[:, None]


def _multiclass_case(n=120, classes=4, seed=1):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    logits = rng.normal(size=(n, classes)) + 1.5 * np.eye(classes)[labels]
    return labels, np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


# ------------------------------------------------------------------ ACC and AUC as MedMNIST defines them
def test_worked_binary_acc_and_auc():
    labels = [0, 0, 1, 1, 1]
    scores = [[0.2], [0.6], [0.5], [0.9], [0.7]]
    # 0.5 is negative (p > 0.5): correct are 0.2, 0.9, 0.7 -> 3/5. Pairs (pos, neg) won: 0.5>0.2, 0.9>both, 0.7>both -> 5/6.
    assert evaluation.accuracy(labels, scores) == pytest.approx(3 / 5)
    assert evaluation.auc(labels, scores).value == pytest.approx(5 / 6)


@pytest.mark.parametrize("case, task", [(_binary_case, "binary-class"), (_multiclass_case, "multi-class")])
def test_acc_and_auc_equal_medmnists_own_functions(case, task):
    evaluator = _medmnist_evaluator()
    labels, probabilities = case()
    y_true = labels[:, None]
    assert evaluation.accuracy(labels, probabilities) == evaluator.getACC(y_true, probabilities, task)
    assert evaluation.auc(labels, probabilities).value == pytest.approx(evaluator.getAUC(y_true, probabilities, task),
                                                                        abs=1e-15)


def test_multiclass_auc_averages_over_all_classes_so_an_absent_class_leaves_it_undefined():
    labels, probabilities = _multiclass_case()
    kept = labels != 3  # class 3 absent: medmnist's getAUC would fail on it
    result = evaluation.auc(labels[kept], probabilities[kept])
    assert result.value is None and "class 3 absent" in result.undefined


def test_one_class_split_gives_a_null_auc_with_the_reason_and_no_crash():
    labels = np.ones(6, dtype=int)
    record = evaluation.split_record(labels, np.linspace(0.2, 0.9, 6)[:, None], val_threshold=0.5)
    assert record["auc"] is None and record["auc_ci95"] is None and record["auc_ci95_delong"] is None
    assert record["auc_undefined"] == "the split holds class 1 only: an AUC needs both classes"
    # Scores 0.2, 0.34, 0.48, 0.62, 0.76, 0.9: three above 0.5; resamples of the six still have an ACC.
    assert record["acc"] == 0.5 and record["acc_ci95"][0] < 0.5 < record["acc_ci95"][1]
    assert record["at_0.5"]["specificity"] is None and record["at_0.5"]["sensitivity"] == 0.5
    assert evaluation.split_records(val=(labels, np.full((6, 1), 0.7)), test=(labels, np.full((6, 1), 0.7)))[
        "test"]["at_val_threshold"] is None  # no threshold can be chosen on a one-class val split


def test_worked_threshold_metrics():
    labels = [0, 0, 0, 1, 1]
    scores = [0.1, 0.6, 0.4, 0.8, 0.3]
    m = evaluation.threshold_metrics(labels, scores, 0.5)
    # Predicted positive: 0.6 (fp), 0.8 (tp). tn 2, fp 1, fn 1, tp 1.
    assert m["confusion_matrix"] == [[2, 1], [1, 1]]
    assert (m["sensitivity"], m["specificity"], m["ppv"], m["npv"]) == (0.5, pytest.approx(2 / 3), 0.5, pytest.approx(2 / 3))
    assert m["f1"] == pytest.approx(0.5) and m["balanced_accuracy"] == pytest.approx((0.5 + 2 / 3) / 2)
    none_positive = evaluation.threshold_metrics(labels, scores, 0.9)
    assert none_positive["ppv"] is None and none_positive["sensitivity"] == 0.0


def test_threshold_metrics_agree_with_sklearn():
    labels, probabilities = _binary_case(60, 25, seed=3)
    p = probabilities[:, 0]
    for threshold in (0.5, 0.37):
        m = evaluation.threshold_metrics(labels, p, threshold)
        predicted = p > threshold
        assert m["confusion_matrix"] == skm.confusion_matrix(labels, predicted).tolist()
        assert m["sensitivity"] == pytest.approx(skm.recall_score(labels, predicted))
        assert m["specificity"] == pytest.approx(skm.recall_score(labels, predicted, pos_label=0))
        assert m["ppv"] == pytest.approx(skm.precision_score(labels, predicted))
        assert m["npv"] == pytest.approx(skm.precision_score(labels, predicted, pos_label=0))
        assert m["f1"] == pytest.approx(skm.f1_score(labels, predicted))
        assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(labels, predicted))


def test_youden_threshold_worked_and_maximal():
    # Midpoints 0.2, 0.325, 0.625; J = 0.5, 1.0, 0.5: the middle one separates the classes.
    assert evaluation.youden_threshold([0, 0, 1, 1], [0.1, 0.3, 0.35, 0.9]) == pytest.approx(0.325)
    labels, probabilities = _binary_case(80, 30, seed=5)
    p = probabilities[:, 0]
    threshold = evaluation.youden_threshold(labels, p)
    fpr, tpr, _ = skm.roc_curve(labels, p)
    chosen = evaluation.threshold_metrics(labels, p, threshold)
    assert chosen["sensitivity"] + chosen["specificity"] - 1 == pytest.approx(np.max(tpr - fpr))
    assert threshold not in set(p)  # a midpoint, never a score itself
    assert evaluation.youden_threshold([0, 1, 1], [0.4, 0.4, 0.4]) is None


def test_per_class_metrics_and_confusion_matrix_agree_with_sklearn():
    labels, probabilities = _multiclass_case()
    predicted = probabilities.argmax(axis=1)
    rows = evaluation.per_class_metrics(labels, probabilities)
    precision, recall, f1, support = skm.precision_recall_fscore_support(labels, predicted)
    for row, p, r, f, s in zip(rows, precision, recall, f1, support):
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == (
            pytest.approx(p), pytest.approx(r), pytest.approx(f), s)
    record = evaluation.split_record(labels, probabilities)
    assert record["confusion_matrix"] == skm.confusion_matrix(labels, predicted).tolist()
    assert "at_0.5" not in record and record["per_class"] == rows


def test_per_class_precision_is_null_for_a_class_never_predicted():
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
    rows = evaluation.per_class_metrics([0, 1, 2], probabilities)
    assert rows[2] == {"class": 2, "precision": None, "recall": 0.0, "f1": 0.0, "support": 1}
    assert rows[0]["precision"] == 0.5 and rows[0]["recall"] == 1.0


# ------------------------------------------------------------------ calibration
def test_worked_calibration():
    record = evaluation.calibration([0, 1, 1, 0], [[0.1], [0.8], [0.6], [0.3]])
    # Brier: (0.01 + 0.04 + 0.16 + 0.09) / 4. Bins of 1/15: each score alone; |conf - observed| = 0.1, 0.2, 0.4, 0.3.
    assert record["brier"] == pytest.approx(0.075) and record["ece"] == pytest.approx(0.25)
    assert record["bins"] == 15 and record["of"] == "positive-class probability"
    assert [(p["count"], p["observed"]) for p in record["reliability"]] == [(1, 0.0), (1, 0.0), (1, 1.0), (1, 1.0)]
    assert record["reliability"][0]["low"] == pytest.approx(1 / 15) and record["reliability"][0]["high"] == pytest.approx(2 / 15)


def test_calibration_cross_checked():
    labels, probabilities = _binary_case(200, 100, seed=7)
    record = evaluation.calibration(labels, probabilities)
    assert record["brier"] == pytest.approx(skm.brier_score_loss(labels, probabilities[:, 0]))
    assert sum(p["count"] for p in record["reliability"]) == 300
    # ECE the slow way: bin by bin.
    p = probabilities[:, 0]
    which = np.minimum((p * 15).astype(int), 14)
    slow = sum(abs(p[which == b].mean() - labels[which == b].mean()) * np.sum(which == b) for b in set(which)) / 300
    assert record["ece"] == pytest.approx(slow)
    labels, probabilities = _multiclass_case()
    multi = evaluation.calibration(labels, probabilities)
    assert multi["of"] == "top-class confidence"
    one_hot = np.eye(4)[labels]
    assert multi["brier"] == pytest.approx(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))
    total = sum(p["count"] * p["observed"] for p in multi["reliability"]) / len(labels)
    assert total == pytest.approx(evaluation.accuracy(labels, probabilities))  # observed = accuracy per bin


# ------------------------------------------------------------------ intervals
def test_stratified_resamples_keep_the_class_counts():
    labels = np.array([0, 1, 0, 0, 1, 2, 2])
    indices = evaluation.stratified_indices(labels, resamples=50, seed=4)
    assert indices.shape == (50, 7)
    assert all(np.bincount(labels[row], minlength=3).tolist() == [3, 2, 2] for row in indices)


def test_rank_auc_of_resamples_equals_sklearn_with_ties():
    labels, probabilities = _binary_case(50, 20, seed=2, decimals=1)  # many ties
    indices = evaluation.stratified_indices(labels, resamples=30, seed=9)
    aucs = evaluation.rank_auc(probabilities[:, 0], labels == 1, indices)
    expected = [skm.roc_auc_score(labels[row], probabilities[row, 0]) for row in indices]
    np.testing.assert_allclose(aucs, expected, rtol=0, atol=1e-12)


def test_bootstrap_is_reproducible_for_a_seed_and_contains_the_estimate():
    for labels, probabilities in (_binary_case(), _multiclass_case()):
        first = evaluation.bootstrap_intervals(labels, probabilities, seed=11)
        assert first == evaluation.bootstrap_intervals(labels, probabilities, seed=11)
        assert first != evaluation.bootstrap_intervals(labels, probabilities, seed=12)
        for key, estimate in (("acc", evaluation.accuracy(labels, probabilities)),
                              ("auc", evaluation.auc(labels, probabilities).value)):
            low, high = first[key]
            assert low < estimate < high


def test_bootstrap_of_auc_on_382_volumes_is_fast():
    labels, probabilities = _binary_case()
    start = time.perf_counter()
    evaluation.bootstrap_intervals(labels, probabilities)
    assert time.perf_counter() - start < 1.0


def test_delong_interval_worked_and_against_the_bootstrap():
    auc, low, high = delong.delong_interval([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    # Placements of the positives: 2/3, 1, 1; of the negatives (share of positives above): 1, 2/3, 1.
    # Sample variances 1/27 each, so Var = (1/27) / 3 + (1/27) / 3 = 2/81.
    assert auc == pytest.approx(8 / 9)
    assert low == pytest.approx(8 / 9 - 1.959963984540054 * np.sqrt(2 / 81)) and high == 1.0
    labels, probabilities = _binary_case(300, 100, seed=8)
    interval = evaluation.delong_auc_interval(labels, probabilities[:, 0])
    boot = evaluation.bootstrap_intervals(labels, probabilities)["auc"]
    assert interval[0] == pytest.approx(boot[0], abs=0.01) and interval[1] == pytest.approx(boot[1], abs=0.01)
    assert evaluation.delong_auc_interval([0, 1, 1], [0.2, 0.6, 0.7]) is None  # one negative: no variance


def test_delong_test_unchanged_by_the_shared_variance_code():
    result = delong.delong_test([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], [0.5] * 6)
    # Var of the difference = Var(a) alone (b is constant): z = (8/9 - 1/2) / sqrt(2/81).
    assert result.z == pytest.approx((8 / 9 - 0.5) / np.sqrt(2 / 81))


# ------------------------------------------------------------------ records
def test_split_records_apply_the_val_threshold_to_test():
    val, test = _binary_case(100, 40, seed=1), _binary_case(120, 30, seed=2)
    records = evaluation.split_records(val=val, test=test)
    threshold = evaluation.youden_threshold(val[0], val[1][:, 0])
    assert records["val"]["at_val_threshold"]["threshold"] == records["test"]["at_val_threshold"]["threshold"] == threshold
    assert records["test"]["at_val_threshold"] == evaluation.threshold_metrics(test[0], test[1][:, 0], threshold)
    assert records["test"]["n"] == 150 and records["test"]["class_counts"] == [120, 30]
    assert set(records["test"]) == {"n", "class_counts", "acc", "auc", "loss", "auc_undefined", "acc_ci95", "auc_ci95",
                                    "calibration", "auc_ci95_delong", "at_0.5", "at_val_threshold"}


def test_majority_record_ties_to_the_lower_class():
    assert evaluation.majority_record([1, 0, 1, 0, 2], 3) == {"class": 0, "acc": 0.4}


def test_upgraded_record_renames_best_val_and_keeps_the_rest():
    v1 = {"model": "M", "status": "failed", "best_val": {"loss": 0.4, "accuracy": 0.8, "auc": 0.7},
          "sessions": [{"first_epoch": 0}], "val": None, "_path": "x"}
    v2 = evaluation.upgraded_record(v1)
    assert v2 == {"metrics_version": 2, "model": "M", "status": "failed", "sessions": [{"first_epoch": 0}], "val": None,
                  "best_val_logged": {"loss": 0.4, "accuracy": 0.8, "auc_keras_approx": 0.7},
                  "training_options": {"augment": [], "class_weight": None, "tta": False}}
