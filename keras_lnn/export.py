"""SavedModels that TensorFlow Serving loads as they are, and the Serving config of a run.

A SavedModel goes to `<model_dir>/1/` (Serving's version-folder layout) with a
`serving_default` signature: input `volume`, float32 `(None, S, S, S, 1)` with
raw 0-255 values; output `probability`. Writing one needs TensorFlow: the
TensorFlow backend exports in process; on JAX and PyTorch `export_run` re-runs
itself in a TensorFlow-backend subprocess from the `.keras` files.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from keras_lnn.errors import KerasLnnError
from keras_lnn.io import atomic_replace_dir, atomic_write_text
from keras_lnn.locks import ModelBusy, model_lock

SERVING_VERSION = "1"
INPUT_NAME, OUTPUT_NAME = "volume", "probability"


def tensorflow_available():
    return importlib.util.find_spec("tensorflow") is not None


def export_saved_model(model, path):
    """Writes `model` as a SavedModel at `path` (atomically), on the TensorFlow backend.

    Args:
        model: a keras_lnn model (input `(S, S, S, 1)` volumes).
        path: the folder to create, e.g. `<model_dir>/1`.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        raise KerasLnnError(
            f"writing a SavedModel needs the TensorFlow backend (this process runs {keras.backend.backend()}); "
            "use `lnn-keras export RUN_DIR`"
        )

    def serve(volume):
        return {OUTPUT_NAME: model(volume, training=False)}

    def build(folder):
        archive = keras.export.ExportArchive()
        archive.track(model)
        spec = keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype="float32", name=INPUT_NAME)
        archive.add_endpoint("serve", serve, input_signature=[spec])
        archive.write_out(str(folder), verbose=False)

    atomic_replace_dir(build, path)
    return Path(path)


def model_dirs(run_dir):
    """Model folders of a run (those holding a `model.keras`), sorted by name."""
    return sorted(p.parent for p in Path(run_dir).glob("*/model.keras"))


def export_run(run_dir, overwrite=False, echo=print):
    """Writes the missing SavedModels of a run's finished models from their `.keras` files, then its `models.config`.

    On a backend other than TensorFlow this runs `lnn-keras export` in a
    subprocess with `KERAS_BACKEND=tensorflow`. Each model is exported holding its
    lock (see `keras_lnn.locks`); one another process holds is skipped with a line.

    Returns:
        The model folders that received a SavedModel.
    """
    import keras

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KerasLnnError(f"{run_dir}: no such run folder")
    # A model.keras without metrics.json is an interrupted attempt's: its model is trained again.
    todo = [d for d in model_dirs(run_dir) if (d / "metrics.json").exists() and (overwrite or not (d / SERVING_VERSION).exists())]
    if todo and keras.backend.backend() != "tensorflow":
        _export_in_tensorflow_process(run_dir, overwrite)
        return todo
    import keras_lnn.layers  # noqa: F401  (registers the custom layers for loading)

    exported = []
    for model_dir in todo:
        try:
            with model_lock(model_dir):
                if overwrite or not (model_dir / SERVING_VERSION).exists():  # not by another process meanwhile
                    _export_keras_file(model_dir)
                    exported.append(model_dir)
                    echo(f"exported {model_dir / SERVING_VERSION}")
        except ModelBusy as busy:
            echo(f"skipped: {busy}")
    write_models_config(run_dir)
    return exported


def _export_keras_file(model_dir):
    import keras

    # compile=False: the optimizer state is not served, and restoring a torch-trained
    # optimizer imports torch beside TensorFlow, which crashes the process.
    model = keras.saving.load_model(model_dir / "model.keras", compile=False)
    export_saved_model(model, model_dir / SERVING_VERSION)


def _export_in_tensorflow_process(run_dir, overwrite):
    if not tensorflow_available():
        raise KerasLnnError(
            "TensorFlow is not installed here, so no SavedModel can be written; "
            f"copy {run_dir} to a machine with TensorFlow and run `lnn-keras export {run_dir}` there"
        )
    command = [sys.executable, "-m", "keras_lnn.cli", "export", str(run_dir)] + (["--overwrite"] if overwrite else [])
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    if subprocess.run(command, env=env).returncode != 0:
        raise KerasLnnError(f"exporting {run_dir} in a TensorFlow process failed (see its output above)")


def write_models_config(run_dir):
    """Writes TF Serving's `models.config`, serving every exported model of the run by its name.

    Paths are absolute: mount the run folder at the same path in a Serving
    container (the README shows the docker command).
    """
    run_dir = Path(run_dir).resolve()
    entries = [
        f'  config {{\n    name: "{d.name}"\n    base_path: "{d}"\n    model_platform: "tensorflow"\n  }}\n'
        for d in model_dirs(run_dir)
        if (d / SERVING_VERSION / "saved_model.pb").exists()
    ]
    atomic_write_text(run_dir / "models.config", "model_config_list {\n" + "".join(entries) + "}\n")
    return run_dir / "models.config"
