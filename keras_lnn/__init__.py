"""keras-lnn: Liquid Time-Constant networks on MedMNIST 3D volumes, in Keras 3.

The model API (`create_model`, `list_models`, ...) imports Keras and ncps on
first use, so `import keras_lnn` stays light and never imports TensorFlow
unless Keras's backend is TensorFlow. `KERAS_LNN_LOG=0` keeps the backends'
start-up log lines off stderr (see `keras_lnn.logs`).
"""
import os as _os

__version__ = "0.1.0"

if _os.environ.get("KERAS_LNN_LOG") == "0":  # set by `lnn-keras`: its child processes stay quiet too
    from keras_lnn.logs import quiet_backends as _quiet_backends

    _quiet_backends()

_LAZY = {
    "create_model": "keras_lnn.models",
    "list_models": "keras_lnn.models",
    "list_experiments": "keras_lnn.models",
    "experiment_models": "keras_lnn.models",
    "get_architecture": "keras_lnn.models",
    "load_dataset": "keras_lnn.data",
    "download": "keras_lnn.data",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_lnn' has no attribute {name!r}")


__all__ = sorted(_LAZY)
