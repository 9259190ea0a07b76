"""Classification metrics from labels and probabilities, defined once: MedMNIST's ACC and AUC, the loss,
threshold metrics (binary), per-class metrics (multi-class) and Youden's threshold.

Probabilities are `(N, 1)` or `(N,)` for a binary model (of class 1) and `(N, C)` for a
multi-class one. A ratio whose denominator is 0 is `None`, never a crash or a silent 0.

Example:

>>> acc = accuracy([0, 1, 1], [[0.2], [0.5], [0.9]])   # 0.5 is not a positive: 2 of 3
>>> round(acc, 3)
0.667
>>> auc([0, 1, 1], [[0.2], [0.5], [0.9]]).value
1.0
"""
import dataclasses

import numpy as np


def as_labels(labels):
    """Integer class labels as a flat array."""
    return np.asarray(labels).reshape(-1).astype(int)


def as_probabilities(probabilities):
    """Probabilities as float64 `(N, C)`; a flat array is a binary model's `(N, 1)`."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return probabilities[:, None] if probabilities.ndim == 1 else probabilities


def is_binary(probabilities):
    return as_probabilities(probabilities).shape[1] == 1


def n_classes_of(probabilities):
    """2 for a binary model's one column, else the number of columns."""
    return max(2, as_probabilities(probabilities).shape[1])


def predicted_classes(probabilities, threshold=0.5):
    """Binary: `p > threshold` (MedMNIST's rule: 0.5 itself is negative); multi-class: argmax."""
    probabilities = as_probabilities(probabilities)
    if probabilities.shape[1] == 1:
        return (probabilities[:, 0] > threshold).astype(int)
    return np.argmax(probabilities, axis=1)


def accuracy(labels, probabilities):
    """ACC as `medmnist.Evaluator` defines it (binary: `p > 0.5`; multi-class: argmax).

    Example:

    >>> accuracy([0, 2, 1], [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.5, 0.4, 0.1]])
    0.6666666666666666
    """
    return float(np.mean(predicted_classes(probabilities) == as_labels(labels)))


@dataclasses.dataclass(frozen=True)
class AucResult:
    """An AUC, or None with the reason it is undefined on these labels."""

    value: float = None
    undefined: str = None


def auc(labels, probabilities):
    """ROC AUC as `medmnist.Evaluator` defines it: binary ROC AUC; multi-class, the mean of the
    one-vs-rest AUCs over *all* classes.

    Undefined (value None, with the reason) where a class the mean needs is absent from the labels:
    binary, a split of one class; multi-class, any class absent.

    Example:

    >>> auc([1, 1], [0.3, 0.6]).undefined
    'the split holds class 1 only: an AUC needs both classes'
    """
    from sklearn.metrics import roc_auc_score

    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    counts = np.bincount(labels, minlength=n_classes_of(probabilities))
    if probabilities.shape[1] == 1:
        if counts.min() == 0:
            return AucResult(undefined=f"the split holds class {int(np.argmax(counts))} only: an AUC needs both classes")
        return AucResult(float(roc_auc_score(labels, probabilities[:, 0])))
    absent = [int(k) for k in np.flatnonzero(counts == 0)]
    if absent:
        return AucResult(undefined=f"class {', '.join(map(str, absent))} absent from the split: MedMNIST's AUC "
                                   "averages the one-vs-rest AUCs of all classes")
    per_class = [roc_auc_score(labels == c, probabilities[:, c]) for c in range(probabilities.shape[1])]
    return AucResult(float(np.mean(per_class)))


def cross_entropy(labels, probabilities):
    """Binary or categorical cross-entropy, with Keras's clipping (so it matches `model.evaluate`)."""
    import keras

    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    eps = keras.config.epsilon()
    clipped = np.clip(probabilities, eps, 1 - eps)
    if probabilities.shape[1] == 1:
        return float(-np.mean(labels * np.log(clipped[:, 0]) + (1 - labels) * np.log(1 - clipped[:, 0])))
    return float(-np.mean(np.log(clipped[np.arange(len(labels)), labels])))


def confusion_matrix(labels, predicted, n_classes):
    """Counts `[true][predicted]`, as a list of lists of ints."""
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (as_labels(labels), as_labels(predicted)), 1)
    return matrix.tolist()


def ratio(numerator, denominator):
    """`numerator / denominator`, or None when the denominator is 0."""
    return float(numerator / denominator) if denominator else None


def threshold_metrics(labels, positive_probability, threshold):
    """A binary model's metrics at `threshold` (a positive is `p > threshold`).

    Returns:
        `{"threshold", "sensitivity", "specificity", "ppv", "npv", "f1", "balanced_accuracy",
        "confusion_matrix": [[tn, fp], [fn, tp]]}`; a ratio with denominator 0 is None.

    Example:

    >>> m = threshold_metrics([0, 0, 1, 1], [0.2, 0.6, 0.7, 0.4], 0.5)
    >>> m["sensitivity"], m["ppv"], m["confusion_matrix"]
    (0.5, 0.5, [[1, 1], [1, 1]])
    """
    labels = as_labels(labels)
    predicted = (np.asarray(positive_probability, dtype=np.float64).reshape(-1) > threshold).astype(int)
    (tn, fp), (fn, tp) = confusion_matrix(labels, predicted, 2)
    sensitivity, specificity = ratio(tp, tp + fn), ratio(tn, tn + fp)
    return {
        "threshold": float(threshold),
        "sensitivity": sensitivity,
        "specificity": specificity,
        "ppv": ratio(tp, tp + fp),
        "npv": ratio(tn, tn + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "balanced_accuracy": None if None in (sensitivity, specificity) else (sensitivity + specificity) / 2,
        "confusion_matrix": [[tn, fp], [fn, tp]],
    }


def youden_threshold(labels, positive_probability):
    """The threshold that maximises Youden's J (sensitivity + specificity - 1), a positive being `p > t`.

    Candidates are the midpoints between consecutive distinct scores, so the threshold never equals
    a score of the split it was chosen on; of equal J the one nearest 0.5 (then the lower) is taken.

    Returns:
        The threshold, or None where the labels hold one class (J is undefined) or all scores are equal.

    Example:

    >>> round(youden_threshold([0, 0, 1, 1], [0.1, 0.3, 0.35, 0.9]), 3)
    0.325
    """
    labels = as_labels(labels)
    scores = np.asarray(positive_probability, dtype=np.float64).reshape(-1)
    distinct = np.unique(scores)
    if len(np.unique(labels)) < 2 or len(distinct) < 2:
        return None
    candidates = (distinct[1:] + distinct[:-1]) / 2
    predicted = scores[None, :] > candidates[:, None]
    sensitivity = predicted[:, labels == 1].mean(axis=1)
    specificity = 1 - predicted[:, labels == 0].mean(axis=1)
    j = sensitivity + specificity - 1
    best = np.flatnonzero(j >= j.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


def per_class_metrics(labels, probabilities):
    """A multi-class model's precision, recall and F1 per class (argmax predictions), with support.

    Returns:
        `[{"class": k, "precision", "recall", "f1", "support"}, ...]`; None where undefined
        (no volume predicted as k: precision; none of class k: recall).
    """
    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    matrix = np.array(confusion_matrix(labels, predicted_classes(probabilities), probabilities.shape[1]))
    rows = []
    for k in range(matrix.shape[0]):
        tp, predicted, support = matrix[k, k], matrix[:, k].sum(), matrix[k, :].sum()
        rows.append({"class": k, "precision": ratio(tp, predicted), "recall": ratio(tp, support),
                     "f1": ratio(2 * tp, predicted + support), "support": int(support)})
    return rows
