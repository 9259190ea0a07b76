"""Augmented training batches, drawn from (seed, epoch, batch) alone.

Volumes are `(N, slices, height, width, 1)` arrays of raw 0-255 values (the models rescale them).
Augmentation runs on numpy, before the model, so it is never part of a saved or exported model.
The 8 flips of test-time augmentation are `keras_lnn.deploy.tta`'s.

Example:

>>> x = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 28, 1)).astype("float32")
>>> batch = augment_batch(x, ("flip", "rot90"), seed=0, epoch=3, batch=1)
>>> batch.shape, np.array_equal(batch, augment_batch(x, ("flip", "rot90"), seed=0, epoch=3, batch=1))  # the same on every call
((4, 28, 28, 28, 1), True)
"""
import numpy as np

from keras_lnn.settings import AUGMENTATIONS

VOLUME_AXES = (1, 2, 3)  # slices, height, width
SLICE_PLANE = (2, 3)
INTENSITY_RANGE = (0.9, 1.1)


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
    return _grouped(x, patterns, lambda rows, flips: np.flip(rows, [a for a, f in zip(VOLUME_AXES, flips) if f]))


def _rot90(x, rng):
    turns = rng.integers(0, 4, size=len(x)).tolist()
    return _grouped(x, turns, lambda rows, k: np.rot90(rows, k, axes=SLICE_PLANE))


def _intensity(x, rng):
    factors = rng.uniform(*INTENSITY_RANGE, size=len(x)).astype("float32").reshape(-1, 1, 1, 1, 1)
    return np.clip(x.astype("float32") * factors, 0.0, 255.0)


_AUGMENTERS = {"flip": _flip, "rot90": _rot90, "intensity": _intensity}
assert set(_AUGMENTERS) == set(AUGMENTATIONS)
