"""A run's settings, made once and passed down whole (`RunConfig`), and the dataset they name."""
import dataclasses
from typing import Optional

from keras_lnn.training import Protocol, TrainingOptions

# Volumes stay uint8 in memory (a 64^3 split is 4x smaller than as float32, and no float copy
# of it exists); the models' Rescaling layer casts each batch, with identical results.
VOLUME_DTYPE = "uint8"


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


def load_run_data(config):
    """The dataset of a run, as `config` says (downloaded first where missing), volumes as uint8."""
    from keras_lnn.data import load_dataset

    return load_dataset(config.dataset, size=config.size, data_dir=config.data_dir, verify=config.verify,
                        download=True, mirror=config.mirror, dtype=VOLUME_DTYPE, md5=config.md5)
