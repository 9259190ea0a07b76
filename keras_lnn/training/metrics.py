"""A trained model's predicted probabilities, and `compute_metrics` (kept by name: `keras_lnn.evaluation` defines the metrics)."""
import numpy as np


def compute_metrics(labels, probabilities):
    """Accuracy, ROC AUC and cross-entropy of predicted probabilities: `keras_lnn.evaluation.basic_metrics`.

    Binary (probabilities `(N, 1)`): accuracy at threshold 0.5 (a positive is
    `p > 0.5`, as MedMNIST's evaluator counts it), ROC AUC and binary cross-entropy.
    Multi-class (`(N, C)`): argmax accuracy, MedMNIST's macro one-vs-rest AUC over all
    classes, and categorical cross-entropy. AUC is None where a class it needs is absent.
    The full split record (intervals, thresholds, calibration) is `keras_lnn.evaluation.split_records`.

    Returns:
        {"acc": float, "auc": float or None, "loss": float}

    Example:

    >>> compute_metrics([0, 1, 1], [[0.2], [0.4], [0.9]])["auc"]
    1.0
    """
    from keras_lnn.evaluation import basic_metrics  # the one definition; imported here, where it is used

    return basic_metrics(labels, probabilities)


def predict_probabilities(model, x, batch_size):
    """The model's output probabilities for the volumes `x`, as a numpy array, batch by batch.

    One batch per traced call, whatever the model was compiled with: Keras's TensorFlow
    `predict` unrolls `steps_per_execution` copies of the model into one graph (not a loop,
    as `fit` has), so the whole-epoch setting of `compile_model` would trace up to 19 copies
    of a recurrent model per split, and again for each other number of batches. The
    probabilities are those of the same per-batch computation.

    (`keras_lnn.predict.predict` is the other side of the package: a saved model folder run on a
    file of volumes in any exported format.)
    """
    steps = getattr(model, "steps_per_execution", 1)
    if steps == 1:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    # The 1-step function is kept beside Keras's own, which stays what `model.predict` uses.
    keras_own = model.predict_function
    model.steps_per_execution, model.predict_function = 1, getattr(model, "_one_step_predict", None)
    try:
        probabilities = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
        model._one_step_predict = model.predict_function
        return probabilities
    finally:
        model.steps_per_execution, model.predict_function = steps, keras_own
