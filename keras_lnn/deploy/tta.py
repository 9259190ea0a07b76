"""Test-time augmentation: a predictor's probabilities averaged over the 8 flips of each volume, on numpy.

One function for every format (`lnn-keras run --tta` evaluates a Keras model with it, `lnn-keras
predict --tta` a SavedModel, ONNX or LiteRT file), so no Keras is needed where none is used.

Example:

>>> x = np.arange(8, dtype="float32").reshape(1, 2, 2, 2, 1)  # one 2x2x2 volume
>>> len(TTA_VIEWS), tta_probabilities(lambda v: v[:, 0, 0, 0, :], x, batch_size=64)  # the mean of its 8 corners
(8, array([[3.5]]))

With a model: `tta_probabilities(lambda v: model.predict(v, verbose=0), x_test, batch_size=64)`.
"""
import itertools

import numpy as np

VOLUME_AXES = (1, 2, 3)  # slices, height, width of `(N, S, S, S, 1)` volumes
TTA_VIEWS = tuple(itertools.product((False, True), repeat=3))  # which of the 3 axes each view flips


def flip_volumes(x, flips):
    """`x` flipped along the volume axes whose entry of `flips` (three booleans) is true."""
    axes = tuple(axis for axis, flip in zip(VOLUME_AXES, flips) if flip)
    return np.flip(x, axes) if axes else x


def tta_views(x):
    """The 8 flips of volumes `x` (every combination of flipping the 3 axes; the first is `x`), contiguous."""
    return [np.ascontiguousarray(flip_volumes(x, flips)) for flips in TTA_VIEWS]


def tta_probabilities(predict_fn, x, batch_size=64):
    """Probabilities averaged over the 8 flips of each volume (test-time augmentation).

    Args:
        predict_fn: volumes `(B, S, S, S, 1)` -> probabilities `(B, k)`: any format's predictor
            (`keras_lnn.deploy.load_predictor`, a Keras model's `predict`, ...).
        x: volumes `(N, S, S, S, 1)`.
        batch_size: volumes per call of `predict_fn` (8 flipped copies of one batch at a time).

    Returns:
        float64 `(N, k)`: the mean of the 8 views' probabilities, summed in `TTA_VIEWS`' order.

    Example:

    >>> tta_probabilities(lambda v: v.mean(axis=(1, 2, 3)), np.ones((3, 2, 2, 2, 1)), batch_size=2).shape
    (3, 1)
    """
    chunks = []
    for start in range(0, len(x), batch_size):
        views = tta_views(x[start: start + batch_size])
        chunks.append(sum(np.asarray(predict_fn(view), dtype="float64") for view in views) / len(views))
    return np.concatenate(chunks) if chunks else np.zeros((0, 1))
