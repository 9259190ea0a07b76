"""What `lnn-keras explain` reads: a run's model (its `.keras` file) and the data it was trained on."""
import json
import zipfile
from pathlib import Path

from keras_lnn.errors import DataError, KerasLnnError


def load_model(model_dir):
    """The Keras model of a model folder of `lnn-keras run` (its `model.keras`), or of a `.keras` file.

    Raises:
        KerasLnnError: no such file, or one Keras cannot load (named).
    """
    import keras_lnn

    path = Path(model_dir)
    path = path / "model.keras" if path.is_dir() else path
    if not path.is_file():
        raise KerasLnnError(f"{path} not found: pass a model folder of `lnn-keras run` (it holds model.keras)")
    try:
        return keras_lnn.load_model(path, compile=False)
    except (OSError, ValueError, TypeError, KeyError, zipfile.BadZipFile) as error:
        raise KerasLnnError(f"cannot load {path}: {type(error).__name__}: {error}") from None


def run_record(model_dir):
    """metrics.json (else settings.json) of a model folder, or {} where it has neither."""
    folder = Path(model_dir) if Path(model_dir).is_dir() else Path(model_dir).parent
    for name in ("metrics.json", "settings.json"):
        if (folder / name).is_file():
            try:
                return json.loads((folder / name).read_text())
            except (OSError, UnicodeDecodeError, ValueError) as error:
                raise KerasLnnError(f"cannot read {folder / name}: {error}") from None
    return {}


def check_fits(model, data):
    size, outputs = model.input_shape[1], model.output_shape[-1]
    if data.size != size:
        raise DataError(f"{data.path} holds {data.size}^3 volumes; {model.name} takes {size}^3 volumes.")
    if outputs != (1 if data.info.n_classes == 2 else data.info.n_classes):
        raise DataError(f"{data.path} has {data.info.n_classes} classes; {model.name} has {outputs} outputs.")
