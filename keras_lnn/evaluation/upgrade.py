"""A model's metrics dict brought to metrics_version 2 (docs/records.md), its split records rebuilt from its predictions.

Version 1 files (no `metrics_version`) stored Keras's logged values at the best epoch as `best_val`,
with Keras's approximate 200-threshold AUC under the name `auc`; version 2 keeps them as
`best_val_logged`, that AUC renamed `auc_keras_approx`. Everything else of the training record
(sessions, versions, data, ...) is kept as it is.

Example:

```python
from keras_lnn.runs.predictions import read_predictions

updated = evaluated_metrics(old_metrics, read_predictions(model_dir / "predictions.csv"))
updated["metrics_version"], "best_val" in updated  # (2, False)
```
"""
from keras_lnn.evaluation.classification import n_classes_of
from keras_lnn.evaluation.record import METRICS_VERSION, evaluation_info, majority_record, split_records
from keras_lnn.settings import TrainingOptions

LOGGED_NAMES = {"auc": "auc_keras_approx"}  # Keras's logged name -> what it is


def logged_val_metrics(best_val):
    """`best_val_logged` from Keras's logged validation values (`loss`, `accuracy`, `auc`) at the best epoch.

    Example:

    >>> logged_val_metrics({"loss": 0.3, "accuracy": 0.9, "auc": 0.85})
    {'loss': 0.3, 'accuracy': 0.9, 'auc_keras_approx': 0.85}
    """
    return {LOGGED_NAMES.get(key, key): value for key, value in (best_val or {}).items()}


def upgraded_record(metrics):
    """`metrics` as version 2 without touching its split records: `best_val` renamed, `metrics_version` and
    `training_options` (the paper's protocol where absent) added. Keys keep their order."""
    updated = {"metrics_version": METRICS_VERSION}
    for key, value in metrics.items():
        if key == "best_val":
            updated["best_val_logged"] = logged_val_metrics(value)
        elif not key.startswith("_") and key != "metrics_version":
            updated[key] = value
    updated.setdefault("training_options", TrainingOptions().as_dict())
    return updated


def evaluation_blocks(predictions, n_classes, views=None, source="predictions.csv"):
    """The blocks of metrics.json built from a model's predictions: `evaluation`, `val`, `test`, `test_majority`,
    `test_majority_acc` and, where the predictions hold test-time-augmented probabilities, `tta`.

    Args:
        predictions: a `Predictions` (see `read_predictions`).
        n_classes: the model's number of classes.
        views: how many augmented views the `tta` probabilities average (recorded in `tta`).
    """
    splits = predictions.splits
    blocks = {"evaluation": evaluation_info(source), **split_records(val=splits["val"], test=splits["test"])}
    if predictions.tta:
        tta = split_records(val=(splits["val"][0], predictions.tta["val"]), test=(splits["test"][0], predictions.tta["test"]))
        blocks["tta"] = {"views": views, **tta}
    majority = majority_record(splits["test"][0], n_classes)
    blocks.update(test_majority=majority, test_majority_acc=majority["acc"])
    return blocks


def evaluated_metrics(metrics, predictions, source="predictions.csv", views=None):
    """`metrics` as version 2 with every split record rebuilt from `predictions` (a `Predictions`).

    `views`: how many views the `_tta` probabilities average (default: as `metrics` recorded).
    """
    updated = upgraded_record(metrics)
    views = views or (updated.get("tta") or {}).get("views")
    updated.pop("tta", None)  # rebuilt from the _tta columns, or gone with them
    n_classes = updated.get("n_classes") or n_classes_of(predictions.splits["test"][1])  # early v1 files lack it
    updated.update(evaluation_blocks(predictions, n_classes, views, source))
    return updated
