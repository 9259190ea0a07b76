"""Evaluation: every metric of a model, defined once, from labels and probabilities.

`lnn-keras run` builds metrics.json's split records with it after training, and `lnn-keras
evaluate` rebuilds them from predictions.csv (docs/records.md is the schema). Nothing else
defines a metric: the summary, the model card and the report read these records. It computes
and writes no file: the files of a run folder are `keras_lnn.runs`'s.

The modules follow the parts of an evaluation:

    classification   MedMNIST's ACC and AUC, the loss, threshold and per-class metrics, Youden's threshold
    intervals        stratified percentile-bootstrap intervals of ACC and AUC, DeLong's interval
    calibration      Brier score, ECE over 15 bins, reliability points
    record           a split's record (`split_record`), val and test at once (`split_records`)
    upgrade          a metrics dict brought to version 2, its records rebuilt from predictions
    stats            the report's statistics: mean and std, Welch's t-test, prediction intervals, Holm
    delong           DeLong's test of two AUCs on the same volumes, and DeLong's interval of one

Example:

>>> from keras_lnn.evaluation import basic_metrics
>>> metrics = basic_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # labels, probabilities of class 1
>>> {name: round(value, 3) for name, value in metrics.items()}
{'acc': 0.75, 'auc': 0.75, 'loss': 0.472}

A split's whole record, with intervals and calibration: `split_records` (`keras_lnn.evaluation.record`).
"""
from keras_lnn.evaluation.calibration import brier_score, calibration, expected_calibration_error, reliability
from keras_lnn.evaluation.classification import (
    accuracy, auc, confusion_matrix, cross_entropy, per_class_metrics, threshold_metrics, youden_threshold,
)
from keras_lnn.evaluation.intervals import bootstrap_intervals, delong_auc_interval, rank_auc, stratified_indices
from keras_lnn.evaluation.record import (
    METRICS_VERSION, basic_metrics, evaluation_info, majority_record, split_record, split_records,
)
from keras_lnn.evaluation.upgrade import (
    evaluated_metrics, evaluation_blocks, logged_val_metrics, upgraded_record,
)

__all__ = [
    "METRICS_VERSION", "accuracy", "auc", "basic_metrics", "bootstrap_intervals", "brier_score", "calibration",
    "confusion_matrix", "cross_entropy", "delong_auc_interval", "evaluated_metrics", "evaluation_blocks",
    "evaluation_info", "expected_calibration_error", "logged_val_metrics", "majority_record", "per_class_metrics",
    "rank_auc", "reliability", "split_record", "split_records", "stratified_indices", "threshold_metrics",
    "upgraded_record", "youden_threshold",
]
