"""The split records of metrics.json (docs/records.md): every metric of a split, from labels and probabilities.

`split_records(val=..., test=...)` is the one function `lnn-keras run` and `lnn-keras evaluate` build
metrics.json's `val`, `test` (and, from test-time-augmented probabilities, `tta`) blocks with: the
binary threshold chosen on val (Youden's J) is applied to both splits.

Example:

>>> import numpy as np
>>> labels = np.array([0, 0, 1, 1, 0, 1, 0, 1, 0, 0])
>>> probabilities = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.7, 0.3, 0.9, 0.6, 0.05])
>>> records = split_records(val=(labels, probabilities), test=(labels, probabilities))
>>> round(records["test"]["auc"], 3), records["test"]["acc"], round(records["test"]["at_val_threshold"]["threshold"], 2)
(0.917, 0.8, 0.65)

(Here val and test are the same volumes, so the threshold chosen on val is applied to them too.)
"""
import time

import numpy as np

from keras_lnn.evaluation import classification, intervals
from keras_lnn.evaluation.calibration import BINS, calibration

METRICS_VERSION = 2
THRESHOLD_RULE = "youden_j_on_val"


def evaluation_info(source="predictions.csv", resamples=intervals.RESAMPLES, seed=intervals.SEED):
    """metrics.json's `evaluation`: how the split records were made."""
    return {
        "metrics_version": METRICS_VERSION,
        "threshold_rule": THRESHOLD_RULE,
        "bootstrap": {"resamples": resamples, "seed": seed, "method": intervals.METHOD, "level": intervals.LEVEL},
        "calibration_bins": BINS,
        "source": source,
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def basic_metrics(labels, probabilities):
    """`{"acc", "auc", "loss"}`: MedMNIST's ACC and AUC (None where undefined) and the cross-entropy.

    Example:

    >>> basic_metrics([0, 1, 1], [[0.2], [0.4], [0.9]])["acc"]
    0.6666666666666666
    """
    return {"acc": classification.accuracy(labels, probabilities),
            "auc": classification.auc(labels, probabilities).value,
            "loss": classification.cross_entropy(labels, probabilities)}


def split_record(labels, probabilities, val_threshold=None, resamples=intervals.RESAMPLES, seed=intervals.SEED):
    """Every metric of one split (docs/records.md, "A split record").

    Args:
        labels: class per volume.
        probabilities: `(N, 1)` (binary, of class 1) or `(N, C)`.
        val_threshold: binary only: the threshold chosen on the validation split (None: none could be;
            `at_val_threshold` is then None).
        resamples, seed: the bootstrap's.
    """
    labels, probabilities = classification.as_labels(labels), classification.as_probabilities(probabilities)
    if len(labels) != len(probabilities):
        raise ValueError(f"{len(labels)} labels but {len(probabilities)} rows of probabilities")
    auc = classification.auc(labels, probabilities)
    bootstrap = intervals.bootstrap_intervals(labels, probabilities, resamples, seed, auc_defined=auc.value is not None)
    record = {
        "n": int(len(labels)),
        "class_counts": np.bincount(labels, minlength=classification.n_classes_of(probabilities)).tolist(),
        "acc": classification.accuracy(labels, probabilities),
        "auc": auc.value,
        "loss": classification.cross_entropy(labels, probabilities),
        "auc_undefined": auc.undefined,
        "acc_ci95": bootstrap["acc"],
        "auc_ci95": bootstrap["auc"],
        "calibration": calibration(labels, probabilities),
    }
    if probabilities.shape[1] == 1:
        positive = probabilities[:, 0]
        record["auc_ci95_delong"] = intervals.delong_auc_interval(labels, positive) if auc.value is not None else None
        record["at_0.5"] = classification.threshold_metrics(labels, positive, 0.5)
        record["at_val_threshold"] = (None if val_threshold is None
                                      else classification.threshold_metrics(labels, positive, val_threshold))
    else:
        record["per_class"] = classification.per_class_metrics(labels, probabilities)
        record["confusion_matrix"] = classification.confusion_matrix(
            labels, classification.predicted_classes(probabilities), probabilities.shape[1])
    return record


def split_records(val, test, resamples=intervals.RESAMPLES, seed=intervals.SEED):
    """The `val` and `test` records, with the binary threshold chosen on val (Youden's J) applied to both.

    Args:
        val, test: `(labels, probabilities)` of each split.

    Returns:
        `{"val": record, "test": record}` (see `split_record`).
    """
    val_labels, val_probabilities = val
    threshold = None
    if classification.is_binary(val_probabilities):
        threshold = classification.youden_threshold(val_labels, classification.as_probabilities(val_probabilities)[:, 0])
    return {name: split_record(labels, probabilities, threshold, resamples, seed)
            for name, (labels, probabilities) in (("val", val), ("test", test))}


def majority_record(labels, n_classes):
    """`test_majority`: the constant predictor of the majority class (ties to the lower index) and its ACC."""
    counts = np.bincount(classification.as_labels(labels), minlength=n_classes)
    return {"class": int(np.argmax(counts)), "acc": float(counts.max() / counts.sum())}
