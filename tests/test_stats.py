"""keras_lnn.evaluation.stats and .delong on hand-made numbers: mean, sample std, formatting, Welch's t-test, prediction
intervals, DeLong's test."""
import math

import numpy as np
import pytest

from keras_lnn.evaluation import delong, stats


def test_mean_and_sample_std():
    assert stats.mean([1, 2, 3]) == 2.0
    assert stats.mean([1, None, 3]) == 2.0  # None: a failed run, left out
    assert stats.mean([]) is None
    # Var with ddof=1 of 2,4,4,4,5,5,7,9: sum of squares 32 over 7.
    assert stats.std([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(math.sqrt(32 / 7))
    assert stats.std([2, 4, 4, 4, 5, 5, 7, 9], ddof=0) == pytest.approx(2.0)
    assert stats.std([0.7, 0.7, 0.7]) == 0.0  # not the 1e-16 that the float mean 0.7000000000000001 gives
    assert stats.std([0.5]) is None and stats.std([]) is None


def test_format_mean_std():
    assert stats.format_mean_std([0.80, 0.82, 0.81]) == "0.810 ± 0.010 (n=3)"
    assert stats.format_mean_std([0.8123]) == "0.812 ± - (n=1)"
    assert stats.format_mean_std([0.8, None, 0.8]) == "0.800 ± 0.000 (n=2)"
    assert stats.format_mean_std([]) == "-"
    assert stats.format_mean_std([1, 2], digits=1) == "1.5 ± 0.7 (n=2)"


def test_format_numbers():
    assert stats.format_number(0.81234) == "0.812"
    assert stats.format_number(0.1, signed=True) == "+0.100"
    assert stats.format_number(-0.1, signed=True) == "-0.100"
    assert stats.format_number(None) == "-" and stats.format_number(math.nan) == "-"
    assert stats.format_p_value(0.0412) == "0.041"
    assert stats.format_p_value(1e-7) == "< 0.001"
    assert stats.format_p_value(math.nan) == "-"


def test_welch_matches_the_formula():
    a, b = [1, 2, 3, 4], [2, 4, 6, 8, 10]
    # By hand: var(a)/n = (5/3)/4, var(b)/n = 10/5; t = (2.5 - 6) / sqrt(5/12 + 2).
    se2 = 5 / 12 + 2
    result = stats.welch_t_test(a, b)
    assert result.difference == pytest.approx(-3.5)
    assert result.t == pytest.approx(-3.5 / math.sqrt(se2))
    assert result.df == pytest.approx(se2**2 / ((5 / 12) ** 2 / 3 + 2**2 / 4))
    assert result.df == pytest.approx(5.5208, abs=1e-4)
    assert 0.05 < result.p_value < 0.1  # t = -2.25 on 5.5 df
    assert (result.n_a, result.n_b) == (4, 5)


def test_welch_verdicts():
    clear = stats.welch_t_test([0.90, 0.91, 0.92, 0.905], [0.70, 0.71, 0.72, 0.715])
    assert clear.p_value < 1e-6
    assert clear.exceeds_noise() is True and clear.verdict() == "exceeds seed noise"
    noise = stats.welch_t_test([0.80, 0.82, 0.78], [0.81, 0.79, 0.83])
    assert noise.p_value > 0.4
    assert noise.exceeds_noise() is False and noise.verdict() == "within seed noise"
    # alpha is the caller's: a p of about 0.07 passes at 0.1 but not at 0.05.
    middling = stats.welch_t_test([1, 2, 3, 4], [2, 4, 6, 8, 10])
    assert middling.verdict(alpha=0.1) == "exceeds seed noise" and middling.verdict() == "within seed noise"


def test_welch_from_summaries_is_the_same_test_as_from_the_samples():
    # The worked example above, from its summaries: means 2.5 and 6, sample variances 5/3 and 10.
    a, b = [1, 2, 3, 4], [2, 4, 6, 8, 10]
    summary = stats.welch_from_summaries(2.5, math.sqrt(5 / 3), 4, 6.0, math.sqrt(10), 5)
    samples = stats.welch_t_test(a, b)
    for field in ("difference", "t", "df", "p_value"):
        assert getattr(summary, field) == pytest.approx(getattr(samples, field), rel=1e-12)
    # An independent cross-check of the p-value: Student's t distribution at Welch's df.
    from scipy import stats as scipy_stats

    assert summary.p_value == pytest.approx(2 * scipy_stats.t.sf(abs(summary.t), summary.df), rel=1e-10)
    with pytest.raises(ValueError, match="at least 2"):
        stats.welch_from_summaries(0.8, 0.01, 1, 0.7, 0.01, 3)
    assert math.isnan(stats.welch_from_summaries(0.8, 0.0, 3, 0.7, 0.0, 3).p_value)


def test_welch_edge_cases():
    with pytest.raises(ValueError, match="at least 2"):
        stats.welch_t_test([0.8], [0.7, 0.71])
    with pytest.raises(ValueError, match="at least 2"):
        stats.welch_t_test([0.8, None], [0.7, 0.71])
    flat = stats.welch_t_test([0.887, 0.887], [0.887, 0.887])
    assert flat.exceeds_noise() is None and flat.verdict().startswith("no verdict")


def test_prediction_interval_matches_the_formula():
    # mean 0.81, s 0.01, n 3: half-width t(2, 0.975) * 0.01 * sqrt(4/3) = 4.302653 * 0.011547
    low, high = stats.prediction_interval([0.80, 0.82, 0.81])
    assert (low, high) == pytest.approx((0.81 - 0.0496828, 0.81 + 0.0496828), abs=1e-6)
    low90, high90 = stats.prediction_interval([0.80, 0.82, 0.81, None], level=0.90)  # None: a failed run
    assert low < low90 < 0.81 < high90 < high
    assert stats.prediction_interval([0.7, 0.7]) == (0.7, 0.7)  # no spread: a point
    with pytest.raises(ValueError, match="at least 2"):
        stats.prediction_interval([0.8, None])


def test_delong_on_a_hand_worked_example():
    # Negatives 0.1, 0.4, 0.2; positives 0.35, 0.8, 0.9. Model a's placement values: positives 2/3, 1, 1
    # (AUC 8/9), negatives 1, 2/3, 1; each has variance 1/27. Model b is constant (AUC 1/2, no variance),
    # so Var(a - b) = (1/27)/3 + (1/27)/3 = 2/81 and z = (8/9 - 1/2) / (sqrt(2)/9) = 2.4749.
    labels = [0, 0, 1, 1, 0, 1]
    result = delong.delong_test(labels, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], [0.5] * 6)
    assert result.auc_a == pytest.approx(8 / 9) and result.auc_b == 0.5
    assert result.z == pytest.approx((8 / 9 - 0.5) / (math.sqrt(2) / 9))
    assert result.p_value == pytest.approx(0.013328, abs=1e-5)
    assert result.verdict() == "exceeds test-set noise" and result.difference == pytest.approx(8 / 9 - 0.5)
    swapped = delong.delong_test(labels, [0.5] * 6, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    assert swapped.z == pytest.approx(-result.z) and swapped.p_value == pytest.approx(result.p_value)


def test_delong_standard_error_matches_a_paired_bootstrap():
    """On 300 simulated volumes, DeLong's SE of the AUC difference is within 10% of a stratified bootstrap's."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    labels = np.array([1] * 60 + [0] * 240)
    shared = rng.normal(size=300)  # the two models' scores are correlated, as on one test set
    a = labels * 1.0 + shared + 0.5 * rng.normal(size=300)
    b = labels * 0.6 + shared + 0.5 * rng.normal(size=300)
    result = delong.delong_test(labels, a, b)
    assert result.auc_a == pytest.approx(roc_auc_score(labels, a)) and result.auc_b == pytest.approx(roc_auc_score(labels, b))
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    differences = []
    for _ in range(1000):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        differences.append(roc_auc_score(labels[idx], a[idx]) - roc_auc_score(labels[idx], b[idx]))
    assert result.difference / result.z == pytest.approx(np.std(differences), rel=0.10)


def test_delong_edge_cases():
    with pytest.raises(ValueError, match="at least 2 volumes of each class"):
        delong.delong_test([0, 0, 1], [0.1, 0.2, 0.9], [0.3, 0.2, 0.9])
    with pytest.raises(ValueError, match="4 labels but 3 scores"):
        delong.delong_test([0, 0, 1, 1], [0.1, 0.2, 0.9], [0.3, 0.2, 0.9])
    same = delong.delong_test([0, 1, 0, 1], [0.1, 0.7, 0.3, 0.9], [0.2, 0.8, 0.4, 0.95])  # same ranking
    assert same.difference == 0 and same.verdict() == "no verdict (identical rankings)"
