"""metrics.json of a trained model (docs/records.md, metrics_version 2): its training record and its split records.

`metrics_record` is the one place `lnn-keras run` builds it; the split records (`val`, `test`,
`tta`) come from `keras_lnn.evaluation`, as `lnn-keras evaluate` rebuilds them later.

Example:

```python
metrics = metrics_record(settings, result, model, data, protocol, environment, sessions, predictions)
metrics["metrics_version"], metrics["test"]["auc_ci95"]
```
"""
import time

from keras_lnn import evaluation, models
from keras_lnn.settings import TrainingOptions

IDENTITY_KEYS = ("model", "experiment", "dataset", "size", "n_classes", "seed", "backend")


def metrics_record(settings, result, model, data, protocol, environment, sessions, predictions=None, tta_views=None):
    """The metrics.json dict of a model trained with `training.fit`.

    Args:
        settings: the model's `model_settings` (identity; `training_options` where present).
        result: the `FitResult` (history, early stop, NaN loss).
        model: the trained Keras model (its parameters are counted).
        data: the loaded dataset (provenance, MD5, test labels).
        protocol: the `Protocol` trained with.
        environment: `provenance.environment()` of this process.
        sessions: the training sessions, with their epochs.
        predictions: the `keras_lnn.runs.predictions.Predictions` of val and test (None for a failed model).
        tta_views: the number of test-time-augmentation views, where `predictions.tta` holds their mean.
    """
    from keras_lnn import training

    history = result.history
    best_epoch, best_logged = training.best_epoch_summary(history)
    trainable, non_trainable = models.count_params(model)
    n_classes = settings["n_classes"]
    majority = evaluation.majority_record(data.test[1], n_classes)
    record = {
        "metrics_version": evaluation.METRICS_VERSION,
        **{key: settings[key] for key in IDENTITY_KEYS},
        "status": "failed" if result.nan_loss else "finished",
        "error": "loss became NaN" if result.nan_loss else None,
        "epochs": len(history),
        "stopped_early": result.stopped_early,
        "val": None,
        "test": None,
        "best_val_epoch": best_epoch,
        "best_val_logged": evaluation.logged_val_metrics(best_logged),
        "params": {"trainable": trainable, "non_trainable": non_trainable,
                   "paper": models.get_architecture(settings["model"]).paper_params},
        "train_seconds": round(sum(row.get("epoch_seconds", 0.0) for row in history), 3),
        "protocol": protocol.as_dict(),
        "training_options": settings.get("training_options", TrainingOptions().as_dict()),
        "evaluated_weights": "stopping epoch (the paper's protocol)",
        "data": data.provenance(),
        "data_md5": data.md5,
        # The constant majority-class predictor of the test split: the floor to read test ACC against.
        "test_majority": majority,
        "test_majority_acc": majority["acc"],
        "versions": environment,
        # More than one where the run was interrupted and resumed, possibly on another machine.
        "sessions": sessions,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if predictions is not None:
        record.update(evaluation.evaluation_blocks(predictions, n_classes, tta_views))
    return record
