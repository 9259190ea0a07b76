"""Levers beyond the paper's protocol (`TrainingOptions`): augmentation, class weights, test-time augmentation.

All are off by default, and then a run trains, evaluates and is named exactly as the paper's.
"""
import dataclasses
from typing import Optional, Union

import numpy as np

from keras_lnn.errors import KerasLnnError

# The training augmentations, in the order they are applied and named (see `training.augment`).
AUGMENTATIONS = {
    "flip": "random flips along each of the three volume axes (each with probability 1/2)",
    "rot90": "a random number (0-3) of quarter turns of the slice plane",
    "intensity": "the raw 0-255 values scaled by a random factor in [0.9, 1.1], clipped to 0-255",
}


class OptionsError(KerasLnnError, ValueError):
    """A training option is unknown or out of range (an augmentation name, a class weight)."""


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """What a run changes about the paper's training and evaluation; the defaults are the paper's.

    Part of a run's identity: settings.json records them where they differ from the defaults
    (so a paper run's settings.json is as it always was), and a rerun with other options is
    refused unless `--overwrite`. Augmentation and class weights change the trained weights,
    so they name the run folder (`run_suffix`); `tta` changes only the evaluation.

    Args:
        augment: names from `AUGMENTATIONS` applied to the training batches (any order; kept in
            the table's order, without repeats).
        class_weight: None, `"balanced"` (`n / (k * n_c)` from the training split) or one
            non-negative weight per class.
        tta: evaluate also on the average of the 8 flips of each volume (`training.augment`).

    Example:

    >>> options = TrainingOptions(augment=("rot90", "flip"), class_weight="balanced")
    >>> options.augment, options.run_suffix
    (('flip', 'rot90'), '_aug-flip-rot90_cw-balanced')
    """

    augment: tuple = ()
    class_weight: Optional[Union[str, tuple]] = None
    tta: bool = False

    def __post_init__(self):
        names = (self.augment,) if isinstance(self.augment, str) else tuple(self.augment)
        unknown = [name for name in names if name not in AUGMENTATIONS]
        if unknown:
            raise OptionsError(f"unknown augmentation {', '.join(map(repr, unknown))}; "
                               f"expected a comma list of {', '.join(AUGMENTATIONS)}")
        object.__setattr__(self, "augment", tuple(name for name in AUGMENTATIONS if name in names))
        weight = self.class_weight
        if weight is not None and weight != "balanced":
            if isinstance(weight, str):
                raise OptionsError(f"class weight {weight!r}: expected 'balanced' or one weight per class")
            weight = tuple(float(w) for w in weight)
            if not weight or any(not np.isfinite(w) or w < 0 for w in weight):
                raise OptionsError(f"class weights {list(weight)}: expected finite weights >= 0, one per class")
            if not any(weight):
                raise OptionsError(f"class weights {list(weight)}: at least one must be above 0")
            object.__setattr__(self, "class_weight", weight)
        object.__setattr__(self, "tta", bool(self.tta))

    @property
    def is_paper(self):
        """Whether these are the paper's (no option on)."""
        return self == TrainingOptions()

    @property
    def run_suffix(self):
        """What the run folder's name gets: `_aug-<names>` and `_cw-<balanced or weights>`; `""` for the paper's."""
        suffix = f"_aug-{'-'.join(self.augment)}" if self.augment else ""
        if self.class_weight == "balanced":
            suffix += "_cw-balanced"
        elif self.class_weight is not None:
            suffix += "_cw-" + "-".join(f"{w:g}" for w in self.class_weight)
        return suffix

    def as_dict(self):
        """The record of metrics.json and settings.json (`training_options`, docs/records.md)."""
        weight = list(self.class_weight) if isinstance(self.class_weight, tuple) else self.class_weight
        return {"augment": list(self.augment), "class_weight": weight, "tta": self.tta}

    @classmethod
    def from_dict(cls, record):
        """The options of an `as_dict` record (a missing record: the paper's)."""
        record = record or {}
        return cls(tuple(record.get("augment", ())), record.get("class_weight"), record.get("tta", False))

    def check(self, n_classes, dataset="the dataset"):
        """Refuses a weight list whose length is not `n_classes` (the classes of `dataset`, a name for the message)."""
        if isinstance(self.class_weight, tuple) and len(self.class_weight) != n_classes:
            raise OptionsError(f"--class-weight {','.join(f'{w:g}' for w in self.class_weight)}: "
                               f"{len(self.class_weight)} weights, but {dataset} has {n_classes} classes; "
                               "expected one weight per class")

    def class_weights(self, labels, n_classes):
        """Each class's loss weight as float32 `(n_classes,)`, or None without class weights.

        Args:
            labels: the training split's labels (for `"balanced"`: `n / (k * n_c)`).
            n_classes: k.

        Example:

        >>> TrainingOptions(class_weight="balanced").class_weights([0, 0, 0, 1], 2)
        array([0.6666667, 2.       ], dtype=float32)
        """
        if self.class_weight is None:
            return None
        self.check(n_classes)
        if self.class_weight != "balanced":
            return np.asarray(self.class_weight, dtype="float32")
        counts = np.bincount(np.asarray(labels).reshape(-1).astype(int), minlength=n_classes)
        if np.any(counts == 0):
            raise OptionsError(f"--class-weight balanced: class(es) {np.flatnonzero(counts == 0).tolist()} have no "
                               "training volume; give the weights instead")
        return (len(np.asarray(labels).reshape(-1)) / (n_classes * counts)).astype("float32")
