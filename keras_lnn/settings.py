"""The settings a run is made of, in one module that imports neither Keras nor a backend.

    Protocol          the paper's training protocol (epochs, batch size, learning rate, early stopping)
    TrainingOptions   the levers beyond it (augmentation, class weights, test-time augmentation)
    AUGMENTATIONS     the training augmentations, by name
    RunConfig         every setting of `lnn-keras run`, made once and passed down whole

Everything else reads the defaults from here: a paper run is `RunConfig(experiment, dataset)`.

Example:

>>> config = RunConfig("exp2", "vessel", protocol=Protocol(max_epochs=5), training_options=TrainingOptions(tta=True))
>>> config.protocol.batch_size, config.training_options.run_suffix
(64, '')
"""
import dataclasses
from typing import Optional, Union

import numpy as np

from keras_lnn.errors import KerasLnnError

@dataclasses.dataclass(frozen=True)
class Protocol:
    """The training protocol; the defaults are the paper's.

    Args:
        max_epochs: upper bound on epochs (paper: 500).
        batch_size: mini-batch size (paper: 64).
        learning_rate: Adam's constant learning rate (paper: 5e-4).
        patience: early-stopping counter limit (paper: 10).
        min_delta: tolerance above the best validation loss that does not count (paper: 0.001).

    Example:

    >>> Protocol(max_epochs=90).as_dict()
    {'max_epochs': 90, 'batch_size': 64, 'learning_rate': 0.0005, 'patience': 10, 'min_delta': 0.001}
    """

    max_epochs: int = 500
    batch_size: int = 64
    learning_rate: float = 5e-4
    patience: int = 10
    min_delta: float = 0.001

    def as_dict(self):
        """The record of metrics.json and settings.json (`protocol`, docs/records.md)."""
        return dataclasses.asdict(self)


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


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every setting of `lnn-keras run`, made once (by the command line or a caller) and passed down whole.

    Args:
        experiment: exp1..exp6, `all` (the paper's five), or one model name.
        dataset: MedMNIST 3D dataset, by short name (e.g. "nodule"), or a `.npz` file in MedMNIST's
            layout (see `keras_lnn.data.resolve_dataset_source`; its run folders take the file's stem).
        models: optional subset of the experiment's models (names, experiments, wildcards).
        seeds: one run folder per seed (with one seed, no `_seed` suffix).
        protocol: the training `Protocol` (default: the paper's).
        training_options: `TrainingOptions` beyond the protocol (augmentation, class weights,
            test-time augmentation; default: none, the paper's). Part of the run's identity: they
            name the run folders (`plan.run_name`) and settings.json records them.
        size: volume edge length, 28 or 64 (None: 28 for a name, a file's own size for a file).
        data_dir: MedMNIST root (None: `$KERAS_LNN_DATA_DIR` or `~/.medmnist`).
        verify: check the data file's MD5 and split sizes (a custom file: its MD5, where `md5` is given).
        md5: the MD5 a custom data file must have (default: not checked).
        mirror: base URL to download a missing data file from (default: the official URL).
        output: folder the run folders go in.
        overwrite: replace results that came from other settings (otherwise they are refused).
        verbose: Keras's per-epoch output (0, 1 or 2); workers of `jobs` train silently.
        jobs: worker processes training models at once (one small model leaves a GPU mostly idle).
        shard: `(K, N)`: train only the K-th of N slices of the model x seed grid (see `plan_tasks`).
        deterministic: deterministic GPU kernels (see `training.configure_backend`); recorded in
            each metrics file as `versions.deterministic_ops`.
        tensorboard: a folder for TensorBoard logs, one subfolder per run folder and model
            (`<tensorboard>/<run folder name>/<model>`); recorded in the model's sessions, not
            part of its identity (it changes no result).

    Example:

    >>> config = RunConfig("exp2", "vessel", seeds=[0, 1], protocol=Protocol(max_epochs=5))
    >>> config.seeds, dataclasses.replace(config, jobs=2).jobs
    ((0, 1), 2)
    """

    experiment: str
    dataset: str
    models: Optional[tuple] = None
    seeds: tuple = (0,)
    protocol: Protocol = Protocol()
    training_options: TrainingOptions = TrainingOptions()
    size: Optional[int] = None
    data_dir: Optional[str] = None
    verify: bool = True
    md5: Optional[str] = None
    mirror: Optional[str] = None
    output: str = "saved_models"
    overwrite: bool = False
    verbose: int = 2
    jobs: int = 1
    shard: Optional[tuple] = None
    deterministic: bool = True
    tensorboard: Optional[str] = None

    def __post_init__(self):
        # Lists from callers become tuples, so that a config stays hashable (a worker's data cache key).
        if isinstance(self.models, str):
            object.__setattr__(self, "models", (self.models,))
        for name in ("models", "seeds", "shard"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))
