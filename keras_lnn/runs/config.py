"""The dataset a run's settings (`keras_lnn.settings.RunConfig`) name, loaded as a run keeps it."""
from keras_lnn.data import load_dataset

# Volumes stay uint8 in memory (a 64^3 split is 4x smaller than as float32, and no float copy
# of it exists); the models' Rescaling layer casts each batch, with identical results.
VOLUME_DTYPE = "uint8"


def load_run_data(config, source=None):
    """The dataset of a run, as `config` says (downloaded first where missing), volumes as uint8.

    Args:
        source: the `DatasetSource` that `config.dataset` resolved to, where the caller has it
            (`resolve_dataset_source`): it is not resolved again.
    """
    return load_dataset(source or config.dataset, size=config.size, data_dir=config.data_dir, verify=config.verify,
                        download=True, mirror=config.mirror, dtype=VOLUME_DTYPE, md5=config.md5)
