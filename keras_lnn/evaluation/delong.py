"""DeLong's test of two models' ROC AUCs on the same test volumes, and DeLong's interval of one model's AUC.

Example:

>>> from keras_lnn.evaluation import delong
>>> result = delong.delong_test([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], [0.5] * 6)
>>> round(result.z, 2), result.verdict()
(2.47, 'exceeds test-set noise')
"""
import dataclasses
import math

from keras_lnn.evaluation.stats import ALPHA

DELONG_NAME = "DeLong's test of two correlated ROC AUCs (paired on the same volumes, two-sided)"


@dataclasses.dataclass(frozen=True)
class DeLongResult:
    """Outcome of `delong_test`.

    Attributes:
        auc_a, auc_b: the two ROC AUCs.
        z: (auc_a - auc_b) over DeLong's standard error of the difference (NaN when it is 0).
        p_value: two-sided p-value (NaN in the same case).
    """

    auc_a: float
    auc_b: float
    z: float
    p_value: float

    @property
    def difference(self):
        return self.auc_a - self.auc_b

    def verdict(self, alpha=ALPHA):
        """"exceeds test-set noise", "within test-set noise", or why there is no verdict."""
        if math.isnan(self.p_value):
            return "no verdict (identical rankings)"
        return "exceeds test-set noise" if self.p_value < alpha else "within test-set noise"


def delong_test(labels, scores_a, scores_b):
    """DeLong's test of two correlated ROC AUCs: two models scored on the same volumes.

    DeLong, DeLong & Clarke-Pearson (1988): each AUC is the mean of its placement values
    (a positive's share of negatives scored below it, ties counting half); their covariance over
    positives and over negatives gives the variance of the paired difference. It measures how much
    the AUC difference could move with another test set of the same size, which seeds cannot show.

    Args:
        labels: 0/1 per volume.
        scores_a, scores_b: each model's probability of class 1 per volume.

    Returns:
        A `DeLongResult`.

    Raises:
        ValueError: the labels hold one class, or fewer than 2 of one, or the lengths differ.

    Example:

    >>> result = delong_test([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    >>> round(result.auc_a, 3), result.auc_b
    (0.889, 0.5)
    """
    from scipy.stats import norm

    auc, s10, s01, m, n = _delong_components(labels, [scores_a, scores_b])
    variance = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / m + (s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]) / n
    if variance <= 1e-15:
        return DeLongResult(float(auc[0]), float(auc[1]), math.nan, math.nan)
    z = float((auc[0] - auc[1]) / math.sqrt(variance))
    return DeLongResult(float(auc[0]), float(auc[1]), z, float(2 * norm.sf(abs(z))))


def delong_interval(labels, scores, level=0.95):
    """DeLong's confidence interval of one model's ROC AUC: `auc ± z · sqrt(S10/m + S01/n)`.

    The variance is the one `delong_test` uses for each model (the placement values' variances
    over the `m` positives and the `n` negatives), with the normal quantile `z` of `level`; the
    interval is clipped to [0, 1].

    Args:
        labels: 0/1 per volume.
        scores: the model's probability of class 1 per volume.
        level: coverage, between 0 and 1.

    Returns:
        `(auc, low, high)`.

    Raises:
        ValueError: the labels hold one class, or fewer than 2 of one, or the lengths differ.

    Example:

    >>> auc, low, high = delong_interval([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(auc, 3), round(low, 3), round(high, 3)
    (0.889, 0.581, 1.0)
    """
    from scipy.stats import norm

    auc, s10, s01, m, n = _delong_components(labels, [scores])
    half = float(norm.ppf((1 + level) / 2)) * math.sqrt(max(s10[0, 0] / m + s01[0, 0] / n, 0.0))
    return float(auc[0]), max(0.0, float(auc[0]) - half), min(1.0, float(auc[0]) + half)


def _delong_components(labels, score_rows):
    """DeLong's AUCs and placement-value covariances of models scored on the same volumes.

    Returns:
        `(auc, s10, s01, m, n)`: the AUC per model, the covariance matrices (models x models) of the
        positives' and of the negatives' placement values, and the numbers of positives and negatives.
    """
    import numpy as np

    labels = np.asarray(labels).reshape(-1).astype(int)
    scores = np.stack([np.asarray(row, dtype=np.float64).reshape(-1) for row in score_rows])
    if scores.shape[1] != len(labels):
        raise ValueError(f"{len(labels)} labels but {scores.shape[1]} scores per model")
    positives, negatives = scores[:, labels == 1], scores[:, labels == 0]
    if positives.shape[1] < 2 or negatives.shape[1] < 2:
        raise ValueError(f"DeLong's test needs at least 2 volumes of each class, got {positives.shape[1]} positive "
                         f"and {negatives.shape[1]} negative")
    # psi[model, positive, negative]: 1 if the positive scores higher, 1/2 on a tie.
    psi = (positives[:, :, None] > negatives[:, None, :]) + 0.5 * (positives[:, :, None] == negatives[:, None, :])
    v10, v01 = psi.mean(axis=2), psi.mean(axis=1)  # placement values of positives, of negatives
    s10, s01 = np.atleast_2d(np.cov(v10)), np.atleast_2d(np.cov(v01))
    return v10.mean(axis=1), s10, s01, v10.shape[1], v01.shape[1]
