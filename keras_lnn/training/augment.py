"""Augmented views of volumes: random ones for training batches, and the 8 flips of test-time augmentation.

Volumes are `(N, slices, height, width, 1)` arrays of raw 0-255 values (the models rescale them).
Both run on numpy, before the model, so no augmentation is ever part of a saved or exported model.

Example:

>>> batch = augment_batch(x[:64], ("flip", "rot90"), seed=0, epoch=3, batch=1)  # the same on every call
>>> probabilities = tta_probabilities(lambda v: model.predict(v, verbose=0), x_test, batch_size=64)
"""
import itertools

import numpy as np

from keras_lnn.settings import AUGMENTATIONS

VOLUME_AXES = (1, 2, 3)  # slices, height, width
SLICE_PLANE = (2, 3)
INTENSITY_RANGE = (0.9, 1.1)
TTA_VIEWS = tuple(itertools.product((False, True), repeat=3))  # which of the 3 axes each view flips


def augment_batch(x, augment, seed, epoch, batch):
    """`x` with the augmentations `augment` applied, drawn from (seed, epoch, batch) alone.

    Each augmentation draws from its own stream, `default_rng((seed, epoch, batch, k))` with
    `k` its place in `AUGMENTATIONS`, so a resumed run draws what an uninterrupted one would,
    and turning one augmentation on does not change another's draws.

    Args:
        x: a batch `(B, S, S, S, 1)`.
        augment: names from `AUGMENTATIONS`, applied in that table's order.
        seed, epoch, batch: where the batch is in the run.

    Returns:
        A new array: `x`'s dtype with flips and turns only, float32 with `intensity`.

    Example:

    >>> augment_batch(np.arange(8, dtype="uint8").reshape(1, 2, 2, 2, 1), ("flip",), 0, 0, 0).shape
    (1, 2, 2, 2, 1)
    """
    streams = {name: np.random.default_rng((seed, epoch, batch, k)) for k, name in enumerate(AUGMENTATIONS)}
    for name in AUGMENTATIONS:
        if name in augment:
            x = _AUGMENTERS[name](x, streams[name])
    return x


def _grouped(x, keys, transform):
    """`transform(x[rows], key)` for the rows of each key (a few array operations, not one per volume)."""
    out = np.empty_like(x)
    for key in sorted(set(keys)):
        rows = np.flatnonzero([k == key for k in keys])
        out[rows] = transform(x[rows], key)
    return out


def _flip(x, rng):
    patterns = [tuple(row) for row in rng.integers(0, 2, size=(len(x), 3)).astype(bool).tolist()]
    return _grouped(x, patterns, flip_volumes)


def _rot90(x, rng):
    turns = rng.integers(0, 4, size=len(x)).tolist()
    return _grouped(x, turns, lambda rows, k: np.rot90(rows, k, axes=SLICE_PLANE))


def _intensity(x, rng):
    factors = rng.uniform(*INTENSITY_RANGE, size=len(x)).astype("float32").reshape(-1, 1, 1, 1, 1)
    return np.clip(x.astype("float32") * factors, 0.0, 255.0)


_AUGMENTERS = {"flip": _flip, "rot90": _rot90, "intensity": _intensity}
assert set(_AUGMENTERS) == set(AUGMENTATIONS)


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
            (`keras_lnn.predict.load_predictor`, a Keras model's `predict`, ...).
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
