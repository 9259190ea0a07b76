"""Small statistics for results over seeds: mean, sample std, "0.812 ± 0.013 (n=3)", Welch's t-test,
the prediction interval that a single run (such as the paper's) should fall in, and Holm's correction
(DeLong's test and interval on the same test volumes: `keras_lnn.evaluation.delong`).

Example:

>>> from keras_lnn.evaluation import stats
>>> stats.format_mean_std([0.80, 0.82, 0.81])
'0.810 ± 0.010 (n=3)'
>>> result = stats.welch_t_test([0.90, 0.91, 0.92], [0.70, 0.71, 0.72])
>>> round(result.difference, 3), result.verdict()
(0.2, 'exceeds seed noise')
"""
import dataclasses
import math

ALPHA = 0.05
TEST_NAME = "Welch's two-sample t-test (unequal variances, two-sided)"


def _clean(values):
    """The numbers among `values` as floats; None (a failed run) is left out."""
    return [float(v) for v in values if v is not None]


def mean(values):
    """Arithmetic mean of `values` (None entries ignored), or None when there are none.

    Args:
        values: iterable of numbers or None.

    Example:

    >>> mean([1, 2, None, 3])
    2.0
    """
    values = _clean(values)
    return sum(values) / len(values) if values else None


def std(values, ddof=1):
    """Sample standard deviation (`ddof=1` by default), or None with fewer than `ddof + 1` values.

    Args:
        values: iterable of numbers or None (None entries ignored).
        ddof: delta degrees of freedom; 1 gives the unbiased sample variance.

    Example:

    >>> round(std([2, 4, 4, 4, 5, 5, 7, 9]), 4)
    2.1381
    """
    values = _clean(values)
    if len(values) <= ddof:
        return None
    if min(values) == max(values):
        return 0.0  # exactly: the float mean of equal values can be off by an ulp
    centre = sum(values) / len(values)
    return math.sqrt(sum((v - centre) ** 2 for v in values) / (len(values) - ddof))


def format_mean_std(values, digits=3):
    """`"mean ± std (n=k)"`, with "-" for the std when n is 1 and a bare "-" when n is 0.

    Args:
        values: per-seed results (None entries, failed runs, are ignored).
        digits: decimals shown.

    Example:

    >>> format_mean_std([0.8123])
    '0.812 ± - (n=1)'
    """
    values = _clean(values)
    if not values:
        return "-"
    spread = std(values)
    spread_text = "-" if spread is None else f"{spread:.{digits}f}"
    return f"{mean(values):.{digits}f} ± {spread_text} (n={len(values)})"


def format_number(value, digits=3, signed=False):
    """`value` with `digits` decimals ("-" for None or NaN); `signed` adds "+" to positive numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def format_p_value(p):
    """A p-value with 3 decimals, or "< 0.001" below that."""
    if p is None or math.isnan(p):
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


@dataclasses.dataclass(frozen=True)
class WelchResult:
    """Outcome of `welch_t_test`.

    Attributes:
        difference: mean(a) - mean(b).
        t: Welch's t statistic (NaN when both samples have zero variance).
        df: Welch-Satterthwaite degrees of freedom (NaN in the same case).
        p_value: two-sided p-value (NaN in the same case).
        n_a, n_b: sample sizes.
    """

    difference: float
    t: float
    df: float
    p_value: float
    n_a: int
    n_b: int

    def exceeds_noise(self, alpha=ALPHA):
        """True when the difference is significant at `alpha`; None when it cannot be tested."""
        if math.isnan(self.p_value):
            return None
        return self.p_value < alpha

    def verdict(self, alpha=ALPHA):
        """"exceeds seed noise", "within seed noise", or why there is no verdict."""
        outcome = self.exceeds_noise(alpha)
        if outcome is None:
            return "no verdict (no spread over seeds in either model)"
        return "exceeds seed noise" if outcome else "within seed noise"


def prediction_multiplier(n, level=0.95):
    """How many sample standard deviations the prediction interval of `n` scores reaches each side of their mean.

    `t(n-1) · sqrt(1 + 1/n)` (see `prediction_interval`).

    Example:

    >>> round(prediction_multiplier(3), 2), round(prediction_multiplier(2), 1)
    (4.97, 15.6)
    """
    from scipy import stats as scipy_stats

    if n < 2:
        raise ValueError(f"a prediction interval needs at least 2 values, got {n}")
    return float(scipy_stats.t.ppf((1 + level) / 2, n - 1)) * math.sqrt(1 + 1 / n)


def prediction_interval(values, level=0.95):
    """The interval that one more run falls in with probability `level`, if runs vary normally.

    `mean ± t(n-1) · s · sqrt(1 + 1/n)` over `n` per-seed scores with sample std `s`, where
    `t(n-1)` is Student's two-sided quantile. A single run made elsewhere (the paper trained
    each model once) that lies outside it is unlikely to be the same experiment's seed noise.
    With few seeds the interval is wide: t(2) is 4.30 at 95%.

    Args:
        values: per-seed results (None entries ignored); at least 2.
        level: coverage, between 0 and 1.

    Returns:
        `(low, high)`.

    Raises:
        ValueError: fewer than 2 values.

    Example:

    >>> low, high = prediction_interval([0.80, 0.82, 0.81])
    >>> round(low, 3), round(high, 3)
    (0.76, 0.86)
    """
    values = _clean(values)
    half = prediction_multiplier(len(values), level) * std(values)
    return mean(values) - half, mean(values) + half


def welch_t_test(a, b):
    """Welch's two-sided t-test of mean(a) == mean(b), not assuming equal variances.

    The test itself is `scipy.stats.ttest_ind(a, b, equal_var=False)` (scipy comes
    with scikit-learn, a dependency of this package); the degrees of freedom are
    the Welch-Satterthwaite ones, computed here because older scipy releases do
    not return them.

    Args:
        a, b: per-seed results of two models (None entries ignored); each needs at least 2.

    Returns:
        A `WelchResult`.

    Raises:
        ValueError: a sample has fewer than 2 values.

    Example:

    >>> welch_t_test([0.80, 0.81, 0.79], [0.80, 0.82, 0.78]).verdict()
    'within seed noise'
    """
    a, b = _clean(a), _clean(b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"Welch's t-test needs at least 2 values per sample, got {len(a)} and {len(b)}")
    return welch_from_summaries(mean(a), std(a), len(a), mean(b), std(b), len(b))


def welch_from_summaries(mean_a, std_a, n_a, mean_b, std_b, n_b):
    """Welch's test from each sample's mean, sample std and size: a study that kept only "mean ± std (n=3)".

    The same test as `welch_t_test` (`scipy.stats.ttest_ind_from_stats(..., equal_var=False)`); with
    rounded summaries (three decimals, as reports print them) the p-value is that of the rounded numbers.

    Example:

    >>> round(welch_from_summaries(0.812, 0.009, 3, 0.842, 0.008, 3).p_value, 3)
    0.013
    """
    from scipy import stats as scipy_stats

    if n_a < 2 or n_b < 2:
        raise ValueError(f"Welch's t-test needs at least 2 values per sample, got {n_a} and {n_b}")
    difference = mean_a - mean_b
    var_a, var_b = std_a**2 / n_a, std_b**2 / n_b
    if var_a + var_b == 0:  # scipy would divide by zero; no spread, no test
        return WelchResult(difference, math.nan, math.nan, math.nan, n_a, n_b)
    result = scipy_stats.ttest_ind_from_stats(mean_a, std_a, n_a, mean_b, std_b, n_b, equal_var=False)
    df = (var_a + var_b) ** 2 / (var_a**2 / (n_a - 1) + var_b**2 / (n_b - 1))
    return WelchResult(difference, float(result.statistic), df, float(result.pvalue), n_a, n_b)


HOLM_NAME = "Holm's step-down correction (family-wise error rate)"


def holm_adjust(p_values):
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest of m p-values (i from 1) becomes
    `max over j <= i of min(1, (m - j + 1) * p_(j))`: monotone in the raw p-values and
    capped at 1. Rejecting where the adjusted p is below alpha keeps the chance of any
    false rejection among the m tests at most alpha (Holm, 1979). None or NaN entries
    (tests that could not be made) are passed through and not counted in m.

    Args:
        p_values: raw p-values (None or NaN for a test not made).

    Returns:
        A list of the adjusted p-values, None/NaN where the input was.

    Example:

    >>> [round(p, 3) for p in holm_adjust([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    p_values = list(p_values)
    tested = [i for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    adjusted, running = list(p_values), 0.0
    for rank, i in enumerate(sorted(tested, key=lambda i: p_values[i])):
        running = max(running, min(1.0, (len(tested) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
