"""Deployable files of a run's models: SavedModel (TF Serving), ONNX and LiteRT, and Serving's config.

Per model folder:

- `1/`: a SavedModel (Serving's version-folder layout) with a `serving_default`
  signature: input `volume`, float32 `(None, S, S, S, 1)` with raw 0-255
  values; output `probability`;
- `model.onnx`: the same function for onnxruntime (input `volume`);
- `model.tflite`: the same function for the LiteRT interpreter, builtin
  operations only (no TensorFlow "select" ops).

All three come from Keras's own `model.export`, which needs TensorFlow: the
TensorFlow backend exports in process; on JAX and PyTorch `export_run` re-runs
itself in a TensorFlow-backend subprocess from the `.keras` files.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from keras_lnn.errors import KerasLnnError
from keras_lnn.io import atomic_replace_dir, atomic_write_text
from keras_lnn.locks import ModelBusy, model_lock, run_folder_lock

SERVING_VERSION = "1"
INPUT_NAME, OUTPUT_NAME = "volume", "probability"
# Each format's file or folder in a model folder.
ARTIFACTS = {"saved_model": SERVING_VERSION, "onnx": "model.onnx", "litert": "model.tflite"}
FORMATS = tuple(ARTIFACTS)


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

    import tensorflow as tf

    def serve(volume):
        return {OUTPUT_NAME: model(volume, training=False)}

    def build(folder):
        # Traced here, for the one input shape, and once more by TensorFlow's save. A function given
        # with a signature instead is traced three times (by the archive, the save and its
        # signatures), and an LTC model's trace takes seconds.
        endpoint = tf.function(serve, autograph=False)
        endpoint.get_concrete_function(
            tf.TensorSpec(shape=(None, *model.input_shape[1:]), dtype="float32", name=INPUT_NAME))
        archive = keras.export.ExportArchive()
        # The layers, not the model: the archive traces every tf.function it finds on what it
        # tracks, and a Keras model has one (its default signature). The same variables, in order.
        for layer in model.layers:
            archive.track(layer)
        archive.add_endpoint("serve", endpoint)
        archive.write_out(str(folder), verbose=False)

    atomic_replace_dir(build, path)
    return Path(path)


def converter_form(model):
    """The same model, with the same weights, in the form that ONNX and LiteRT converters take.

    Keras's LSTM and SimpleRNN layers loop with a while-loop over TensorFlow
    tensor lists, which LiteRT runs only with TensorFlow's "select" ops; over the
    fixed number of slices they can be unrolled instead (`unroll=True`: the same
    function). keras_lnn's LTC and CfC layers are unrolled already. Every other
    layer is shared with `model`, not copied.
    """
    import keras

    kinds = (keras.layers.LSTM, keras.layers.SimpleRNN, keras.layers.GRU)
    replaced = {}

    def unrolled(layer):
        if not isinstance(layer, kinds) or layer.unroll:
            return layer
        replaced[layer] = layer.__class__.from_config({**layer.get_config(), "unroll": True})
        return replaced[layer]

    clone = keras.models.clone_model(model, clone_function=unrolled)
    if not replaced:
        return model
    for original, copy in replaced.items():
        copy.set_weights(original.get_weights())
    return clone


def export_file(model, path, fmt):
    """Writes `model` as an ONNX (`fmt="onnx"`) or LiteRT (`"litert"`) file at `path`, atomically."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        converted = converter_form(model)
        # Keras exports only models that have been called on data (loading a file does not count).
        converted(np.zeros((1, *model.input_shape[1:]), "float32"), training=False)
        _convert(converted, partial, fmt)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _convert(model, partial, fmt):
    """Keras's `model.export` to ONNX or LiteRT, with tf2onnx's optimizers on the graph itself.

    tf2onnx deep-copies the whole graph before each of its optimizers, on every pass, so that one
    that fails can be skipped: about a quarter of an LTC model's conversion (8.4 s -> 6.1 s on a
    2-core CPU, docs/performance.md). Without the copies the optimizers do the same work, and the
    file holds the same graph. Where one fails, the conversion runs again with them (tf2onnx's
    default). A `TF2ONNX_CATCH_ERRORS` of the user's own is left to rule (tf2onnx 1.17 skips the
    copies whenever it is set, whatever its value).
    """
    def convert():
        model.export(str(partial), format=fmt, verbose=False)

    if fmt == "onnx" and "TF2ONNX_CATCH_ERRORS" not in os.environ:
        os.environ["TF2ONNX_CATCH_ERRORS"] = "FALSE"
        try:
            return convert()
        except Exception:  # an optimizer failed on the graph itself: tf2onnx's default below skips it
            pass
        finally:
            del os.environ["TF2ONNX_CATCH_ERRORS"]
    convert()


def export_model(model, model_dir, fmt):
    """Writes one deployable file of `model` into its folder; returns its path (see `ARTIFACTS`)."""
    target = Path(model_dir) / ARTIFACTS[fmt]
    if fmt == "saved_model":
        return export_saved_model(model, target)
    return export_file(model, target, fmt)


def model_dirs(run_dir):
    """Model folders of a run (those holding a `model.keras`), sorted by name."""
    return sorted(p.parent for p in Path(run_dir).glob("*/model.keras"))


def export_run(run_dir, formats=("saved_model",), overwrite=False, echo=print):
    """Writes a run's finished models' missing deployable files from their `.keras` files, then its `models.config`.

    On a backend other than TensorFlow this runs `lnn-keras export` in a
    subprocess with `KERAS_BACKEND=tensorflow`. Each model is exported holding its
    lock (see `keras_lnn.locks`); one another process holds is skipped with a line.

    Args:
        run_dir: a run folder (its model folders hold `model.keras`).
        formats: some of `FORMATS`.
        overwrite: rewrite files that exist.

    Returns:
        `(model_dir, format)` pairs written.

    Raises:
        KerasLnnError: a model that could not be exported (after trying all the others).
    """
    import keras

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KerasLnnError(f"{run_dir}: no such run folder")
    unknown = [fmt for fmt in formats if fmt not in ARTIFACTS]
    if unknown:
        raise KerasLnnError(f"unknown export format {unknown[0]!r}; expected one of {', '.join(FORMATS)}")
    # A model.keras without metrics.json is an interrupted attempt's: its model is trained again.
    finished = [d for d in model_dirs(run_dir) if (d / "metrics.json").exists()]
    todo = [(d, fmt) for d in finished for fmt in formats if overwrite or not (d / ARTIFACTS[fmt]).exists()]
    if todo and keras.backend.backend() != "tensorflow":
        _export_in_tensorflow_process(run_dir, formats, overwrite)
        return todo
    import keras_lnn.layers  # noqa: F401  (registers the custom layers for loading)

    failed, written = [], []
    for model_dir in dict.fromkeys(d for d, _ in todo):
        try:
            with model_lock(model_dir):
                # Not written by another process meanwhile.
                wanted = [f for d, f in todo if d == model_dir and (overwrite or not (d / ARTIFACTS[f]).exists())]
                if wanted:
                    failed += _export_formats(model_dir, wanted, echo)
                    written += [(model_dir, f) for f in wanted]
        except ModelBusy as busy:
            echo(f"skipped: {busy}")
    write_models_config(run_dir)
    if failed:
        raise KerasLnnError(f"{run_dir}: {len(failed)} export(s) failed: " + "; ".join(failed))
    return written


def _export_formats(model_dir, formats, echo):
    """Exports `model_dir`'s model.keras to `formats`; returns the failures, one line each."""
    import keras

    # compile=False: the optimizer state is not served, and restoring a torch-trained
    # optimizer imports torch beside TensorFlow, which crashes the process.
    model = keras.saving.load_model(model_dir / "model.keras", compile=False)
    failed = []
    for fmt in formats:
        try:
            echo(f"exported {export_model(model, model_dir, fmt)}")
        except Exception as error:  # a converter's failure names neither the model nor the format
            failed.append(f"{model_dir.name} ({fmt}): {type(error).__name__}: {str(error).splitlines()[0][:300]}")
            echo(f"could not export {failed[-1]}")
    return failed


def _export_in_tensorflow_process(run_dir, formats, overwrite):
    if not tensorflow_available():
        raise KerasLnnError(
            "TensorFlow is not installed here, so no SavedModel, ONNX or LiteRT file can be written; "
            f"copy {run_dir} to a machine with TensorFlow and run `lnn-keras export {run_dir}` there"
        )
    command = [sys.executable, "-m", "keras_lnn.cli", "export", str(run_dir)]
    command += [arg for fmt in formats for arg in ("--format", fmt)] + (["--overwrite"] if overwrite else [])
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    if subprocess.run(command, env=env).returncode != 0:
        raise KerasLnnError(f"exporting {run_dir} in a TensorFlow process failed (see its output above)")


def write_models_config(run_dir):
    """Writes TF Serving's `models.config`, serving every exported model of the run by its name.

    Paths are absolute: mount the run folder at the same path in a Serving
    container (the README shows the docker command). Rebuilt from the model folders under the run
    folder's lock, so two processes exporting at once leave one that serves both's models
    (see `keras_lnn.locks.run_folder_lock`).
    """
    run_dir = Path(run_dir).resolve()
    with run_folder_lock(run_dir):
        entries = [
            f'  config {{\n    name: "{d.name}"\n    base_path: "{d}"\n    model_platform: "tensorflow"\n  }}\n'
            for d in model_dirs(run_dir)
            if (d / SERVING_VERSION / "saved_model.pb").exists()
        ]
        atomic_write_text(run_dir / "models.config", "model_config_list {\n" + "".join(entries) + "}\n")
    return run_dir / "models.config"
