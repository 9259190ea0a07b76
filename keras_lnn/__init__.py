"""keras-lnn: Liquid Time-Constant networks on MedMNIST 3D volumes, in Keras 3.

`import keras_lnn` stays light (the command line starts without a backend): the
models are `keras_lnn.models` (`create_model`, `list_models`, ...), the data
`keras_lnn.data` (`load_dataset`, `download`). Its layers are registered with Keras
as soon as Keras is imported, before or after this package, so
`keras.saving.load_model` reads every `.keras` file the package writes:

```python
import keras_lnn, keras
model = keras.saving.load_model("saved_models/exp1_adrenal/LiqExp1N2/model.keras")
```

`KERAS_LNN_LOG=0` keeps the backends' start-up log lines off stderr (see `keras_lnn.system.logs`).
Importing keras_lnn before TensorFlow turns TensorFlow's oneDNN kernels on
(`TF_ENABLE_ONEDNN_OPTS=1`, unless you set it: see `keras_lnn.system.machine`).
"""
import os as _os
import zipfile as _zipfile
from pathlib import Path as _Path

import wrapt

from keras_lnn.errors import KerasLnnError as _KerasLnnError
from keras_lnn.system.machine import enable_onednn as _enable_onednn

__version__ = "0.1.0"

_enable_onednn()  # before any backend loads: TensorFlow reads the variable once, when it loads

if _os.environ.get("KERAS_LNN_LOG") == "0":  # set by `lnn-keras`: its child processes stay quiet too
    from keras_lnn.system.logs import quiet_backends as _quiet_backends

    _quiet_backends()


def _register_layers(keras_module):
    import keras_lnn.layers  # noqa: F401  (registering is what importing the layers does)


# A post-import hook (wrapt's, the library TensorFlow uses for it): runs now if Keras is imported
# already, else right after its import, so `import keras_lnn` itself imports no backend.
wrapt.register_post_import_hook(_register_layers, "keras")


def load_model(path, compile=True):
    """`keras.saving.load_model` for a `.keras` file written by keras_lnn (any backend).

    Args:
        path: a `model.keras` file, or the model folder of `lnn-keras run` holding one.
        compile: restore the optimizer and loss too (False for inference only).

    Raises:
        KerasLnnError: no such file, or one Keras cannot load (named).
    """
    import keras

    path = _Path(path)
    path = path / "model.keras" if path.is_dir() else path
    if not path.is_file():
        raise _KerasLnnError(f"{path} not found: pass a model folder of `lnn-keras run` (it holds model.keras)")
    try:
        return keras.saving.load_model(path, compile=compile)
    except (OSError, ValueError, TypeError, KeyError, _zipfile.BadZipFile) as error:
        raise _KerasLnnError(f"cannot load {path}: {type(error).__name__}: {error}") from None


__all__ = ["load_model"]
