"""What `lnn-keras explain` reads beside the model (`keras_lnn.load_model`): the run's record, and whether the data fits."""
import json
from pathlib import Path

from keras_lnn.errors import DataError, KerasLnnError


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
