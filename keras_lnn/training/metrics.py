"""A trained model's predicted probabilities (the metrics of them are `keras_lnn.evaluation`'s)."""
import numpy as np


def predict_probabilities(model, x, batch_size):
    """The model's output probabilities for the volumes `x`, as a numpy array, batch by batch.

    One batch per traced call, whatever the model was compiled with: Keras's TensorFlow
    `predict` unrolls `steps_per_execution` copies of the model into one graph (not a loop,
    as `fit` has), so the whole-epoch setting of `compile_model` would trace up to 19 copies
    of a recurrent model per split, and again for each other number of batches. The
    probabilities are those of the same per-batch computation.

    (`keras_lnn.deploy.predict.predict` is the other side of the package: a saved model folder run on a
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
