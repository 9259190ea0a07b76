"""95% intervals of ACC and AUC: a stratified percentile bootstrap, and DeLong's interval of a binary AUC.

The bootstrap resamples each class on its own (with replacement, keeping its count), so every
resample holds every class of the split and its AUC is defined wherever the split's is. The AUCs
of all resamples come at once from mid-ranks (Mann-Whitney), counted on the `(resamples, N)`
matrix of resampled indices.

Example:

>>> intervals = bootstrap_intervals([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
>>> low, high = intervals["auc"]
>>> low <= 0.889 <= high
True
"""
import numpy as np

from keras_lnn.evaluation.classification import as_labels, as_probabilities, predicted_classes
from keras_lnn.evaluation.delong import delong_interval

RESAMPLES = 2000
SEED = 0
LEVEL = 0.95
METHOD = "stratified percentile"


def stratified_indices(labels, resamples=RESAMPLES, seed=SEED):
    """`(resamples, N)` indices into `labels`: each row draws every class's volumes with replacement, keeping
    the class's count, the classes in blocks (ascending class), so `labels[indices]` is the same in every row.

    Example:

    >>> labels = np.array([1, 0, 1, 1])
    >>> indices = stratified_indices(labels, resamples=3, seed=1)
    >>> labels[indices].tolist()
    [[0, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]]
    """
    labels = as_labels(labels)
    rng = np.random.default_rng(seed)
    blocks = []
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        blocks.append(members[rng.integers(0, len(members), size=(resamples, len(members)))])
    return np.concatenate(blocks, axis=1)


def rank_auc(scores, is_positive, indices):
    """ROC AUCs of resamples: row `b` scores volumes `indices[b]` against `is_positive[indices[b]]`, ties half.

    The Mann-Whitney form, `(sum of the positives' mid-ranks - n1 (n1 + 1) / 2) / (n1 n0)`, with the
    ranks counted, not sorted: a resample is a count per distinct score, and the mid-rank of a score is
    the count below it plus half its own count plus 1/2. `O(resamples x N)` time and memory.

    Args:
        scores: `(N,)` scores of the volumes.
        is_positive: `(N,)` 0/1 per volume.
        indices: `(B, M)` volume indices per resample, each row with the same number of positives.

    Returns:
        `(B,)` AUCs.
    """
    distinct, group = np.unique(np.asarray(scores, dtype=np.float64), return_inverse=True)
    indices = np.atleast_2d(indices)
    rows, width = indices.shape
    offsets = (np.arange(rows) * len(distinct))[:, None]
    positive = np.asarray(is_positive, dtype=bool)[indices]

    def counts(mask):
        flat = (offsets + group[indices])[mask]
        return np.bincount(flat, minlength=rows * len(distinct)).reshape(rows, len(distinct))

    everyone, positives = counts(np.ones_like(positive)), counts(positive)
    mid_ranks = np.cumsum(everyone, axis=1) - everyone + (everyone + 1) / 2
    n1 = positive[0].sum()
    n0 = width - n1
    return ((positives * mid_ranks).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def resampled_aucs(labels, probabilities, indices):
    """MedMNIST's AUC (binary, or the mean over all classes of one-vs-rest) of each resample `indices` row."""
    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    if probabilities.shape[1] == 1:
        return rank_auc(probabilities[:, 0], labels == 1, indices)
    return np.mean([rank_auc(probabilities[:, c], labels == c, indices) for c in range(probabilities.shape[1])], axis=0)


def percentile_interval(values, level=LEVEL):
    """The central `level` share of `values`: `[low, high]` (percentiles, linear interpolation)."""
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def bootstrap_intervals(labels, probabilities, resamples=RESAMPLES, seed=SEED, level=LEVEL, auc_defined=True):
    """Stratified percentile-bootstrap intervals of ACC and AUC (MedMNIST's definitions).

    Args:
        labels: class per volume.
        probabilities: `(N, 1)` binary or `(N, C)`.
        resamples, seed, level: the bootstrap's size, random seed and coverage.
        auc_defined: False where the split's own AUC is undefined (a class absent): no AUC interval.

    Returns:
        `{"acc": [low, high], "auc": [low, high] or None}`.
    """
    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    indices = stratified_indices(labels, resamples, seed)
    correct = (predicted_classes(probabilities) == labels).astype(np.float64)
    result = {"acc": percentile_interval(correct[indices].mean(axis=1), level), "auc": None}
    if auc_defined:
        result["auc"] = percentile_interval(resampled_aucs(labels, probabilities, indices), level)
    return result


def delong_auc_interval(labels, positive_probability, level=LEVEL):
    """DeLong's `[low, high]` of a binary AUC (`keras_lnn.evaluation.delong.delong_interval`), or None with fewer
    than 2 volumes of a class."""
    try:
        _, low, high = delong_interval(labels, positive_probability, level)
    except ValueError:
        return None
    return [low, high]
