"""Calibration: the Brier score and the expected calibration error (ECE) with its reliability curve.

Binary models are judged on the positive-class probability (`observed` = the share of positives
in a bin); multi-class models on the top-class confidence (`observed` = the accuracy in a bin).
Bins are equal-width on [0, 1] (the last includes 1.0); empty bins are left out of the curve.

Example:

>>> record = calibration([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3], bins=2)
>>> round(record["brier"], 3), round(record["ece"], 3)
(0.075, 0.25)
"""
import numpy as np

from keras_lnn.evaluation.classification import as_labels, as_probabilities

BINS = 15


def brier_score(labels, probabilities):
    """Binary: mean `(p - y)^2`. Multi-class: mean over volumes of the squared distance to the one-hot label
    (summed over classes, Brier's original form)."""
    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    if probabilities.shape[1] == 1:
        return float(np.mean((probabilities[:, 0] - labels) ** 2))
    one_hot = np.eye(probabilities.shape[1])[labels]
    return float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))


def confidence_and_outcome(labels, probabilities):
    """What the bins sort and what each volume's outcome is, and what they are called."""
    labels, probabilities = as_labels(labels), as_probabilities(probabilities)
    if probabilities.shape[1] == 1:
        return probabilities[:, 0], (labels == 1).astype(float), "positive-class probability"
    confidence = probabilities.max(axis=1)
    return confidence, (probabilities.argmax(axis=1) == labels).astype(float), "top-class confidence"


def reliability(confidence, outcome, bins=BINS):
    """`[{"low", "high", "count", "confidence", "observed"}, ...]`: the non-empty equal-width bins."""
    confidence, outcome = np.asarray(confidence, dtype=np.float64), np.asarray(outcome, dtype=np.float64)
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    points = []
    for b in range(bins):
        members = which == b
        if members.any():
            points.append({"low": b / bins, "high": (b + 1) / bins, "count": int(members.sum()),
                           "confidence": float(confidence[members].mean()), "observed": float(outcome[members].mean())})
    return points


def expected_calibration_error(points, n):
    """ECE: the count-weighted mean of `|confidence - observed|` over the reliability points of `n` volumes."""
    return float(sum(p["count"] * abs(p["confidence"] - p["observed"]) for p in points) / n)


def calibration(labels, probabilities, bins=BINS):
    """The split record's `calibration`: `{"brier", "ece", "bins", "of", "reliability"}`."""
    confidence, outcome, of = confidence_and_outcome(labels, probabilities)
    points = reliability(confidence, outcome, bins)
    return {"brier": brier_score(labels, probabilities), "ece": expected_calibration_error(points, len(outcome)),
            "bins": bins, "of": of, "reliability": points}
