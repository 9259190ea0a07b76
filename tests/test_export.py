"""keras_lnn.deploy.export: SavedModel, ONNX and LiteRT files that their own runtimes run, and `.keras` reloads.

The runtime checks run in fresh interpreters that import neither keras_lnn nor ncps
(tests/deploy_checks.py), as a server or a device would.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_lnn.deploy import export

HERE = Path(__file__).parent
from tests.conftest import DEPLOY_MODELS


@pytest.fixture(scope="module")
def runtime_report(deployed_run):
    """deploy_checks.py's report per run folder (one interpreter for all), merged: {"models": ..., ...}."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    merged = {"models": {}, "serving": {}, "volumes": [], "imported_package": []}
    pairs = [f"{run_dir}={deployed_run.data_files[run_dir]}" for run_dir in deployed_run.run_dirs]
    done = subprocess.run([sys.executable, str(HERE / "deploy_checks.py"), *pairs],
                          capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.strip().splitlines() if line.startswith("{")]
    assert len(reports) == len(pairs), done.stdout[-3000:]
    for report in reports:
        merged["models"].update(report["models"])
        merged["serving"].update(report["serving"])
        merged["volumes"].append(report["volumes"])
        merged["imported_package"] += report["imported_package"]
    return merged


def test_export_writes_onnx_and_litert_beside_the_savedmodel(deployed_run):
    run_dirs, printed = deployed_run.run_dirs, deployed_run.printed
    exported = {p.parent.name for run_dir in run_dirs for p in run_dir.glob("*/model.onnx")}
    assert exported == set(DEPLOY_MODELS)
    for run_dir in run_dirs:
        for model_dir in export.model_dirs(run_dir):
            for artifact in ("1/saved_model.pb", "model.onnx", "model.tflite"):
                assert (model_dir / artifact).is_file(), (model_dir, artifact)
        assert not list(run_dir.glob("*/.*partial*"))  # no half-written files left behind
    assert printed.count("onnx, litert and models.config written") == len(run_dirs)


@pytest.mark.parametrize("fmt", ["onnx", "litert", "saved_model"])
def test_runtimes_reproduce_the_runs_test_probabilities(runtime_report, fmt):
    assert runtime_report["imported_package"] == []
    assert set(runtime_report["models"]) == set(DEPLOY_MODELS)
    assert min(runtime_report["volumes"]) > 100
    for name, result in runtime_report["models"].items():
        assert isinstance(result[fmt], float), f"{name} {fmt}: {result[fmt]}"
        assert result[fmt] <= 1e-5, (name, fmt, result[fmt])


def test_models_config_is_what_tf_serving_reads(runtime_report):
    serving = runtime_report["serving"]
    assert set(serving) == set(DEPLOY_MODELS)
    for name, entry in serving.items():
        assert entry == {"absolute": True, "platform": "tensorflow", "versions": ["1"],
                         "method": "tensorflow/serving/predict"}, name


def test_export_skips_existing_files_and_overwrite_rewrites_them(deployed_run):
    onnx = deployed_run.model_dir("CNNExp1N4") / "model.onnx"
    run_dir = onnx.parents[1]
    before = onnx.stat().st_mtime_ns
    written = export.export_run(run_dir, formats=("onnx",), echo=lambda *a: None)
    assert written == [] and onnx.stat().st_mtime_ns == before


def test_converter_form_unrolls_keras_recurrent_layers_with_the_same_function():
    from keras_lnn import models

    model = models.create_model("LSTMExp5N4")
    clone = export.converter_form(model)
    recurrent = [layer for layer in clone.layers if isinstance(layer, keras.layers.LSTM)]
    assert len(recurrent) == 2 and all(layer.unroll for layer in recurrent)
    x = np.random.default_rng(0).integers(0, 256, size=(2, 28, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)


def test_savedmodel_holds_the_models_variables_and_traces_it_twice(tmp_path):
    """The serving function is traced here and once by TensorFlow's save (Keras's archive, given
    the model and a signature, traces it four times); the file keeps the model's variables in order."""
    import tensorflow as tf

    from keras_lnn import models

    model = models.create_model("LiqExp1N2")
    x = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28, 28, 1)).astype("float32")
    traces, call = [], model.call
    model.call = lambda *args, **kwargs: (traces.append(1), call(*args, **kwargs))[1]
    export.export_saved_model(model, tmp_path / "1")
    assert len(traces) == 2
    loaded = tf.saved_model.load(str(tmp_path / "1"))
    assert [v.name for v in loaded.variables] == [v.path + ":0" for v in model.variables]
    assert len(loaded.trainable_variables) == len(model.trainable_variables)
    serving = loaded.signatures["serving_default"]
    assert list(serving.structured_outputs) == ["probability"]
    np.testing.assert_allclose(serving(volume=tf.constant(x))["probability"].numpy(), call(x), atol=1e-6)


def _onnx_graph(path):
    """An ONNX file's nodes and initializers, tensor names replaced by their order of appearance
    (tf2onnx's generated names differ from one conversion to the next)."""
    import onnx

    graph, names = onnx.load(str(path)).graph, {}

    def name(tensor):
        return names.setdefault(tensor, f"t{len(names)}") if tensor else ""

    for graph_input in graph.input:
        name(graph_input.name)
    nodes = [(node.op_type, [name(t) for t in node.input], [name(t) for t in node.output],
              [(a.name, repr(onnx.helper.get_attribute_value(a))) for a in node.attribute]) for node in graph.node]
    return nodes, {name(t.name): onnx.numpy_helper.to_array(t).tobytes() for t in graph.initializer}


def _small_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((5, 6)), keras.layers.Conv1D(4, 2, activation="relu"), keras.layers.Flatten(),
                             keras.layers.Dense(1, activation="sigmoid")])


def test_onnx_conversion_skips_tf2onnxs_graph_copies_and_writes_the_same_graph(tmp_path, monkeypatch):
    import tf2onnx.optimizer
    from tf2onnx.graph import Graph

    copies, deepcopy = [], tf2onnx.optimizer.copy.deepcopy

    def counted(value, *args):
        copies.extend([1] if isinstance(value, Graph) else [])
        return deepcopy(value, *args)

    monkeypatch.setattr(tf2onnx.optimizer.copy, "deepcopy", counted)
    model = _small_model()
    export.export_file(model, tmp_path / "fast.onnx", "onnx")
    assert copies == [] and "TF2ONNX_CATCH_ERRORS" not in os.environ
    model.export(str(tmp_path / "copied.onnx"), format="onnx", verbose=False)  # Keras's own: tf2onnx copies
    assert len(copies) > 5
    assert _onnx_graph(tmp_path / "fast.onnx") == _onnx_graph(tmp_path / "copied.onnx")


def test_onnx_conversion_where_an_optimizer_fails_is_tf2onnxs_own(tmp_path, monkeypatch):
    import tf2onnx.optimizer

    class Failing:
        graph_been_opt = False

        def optimize(self, graph, iteration):
            raise RuntimeError("an optimizer that fails")

    monkeypatch.setitem(tf2onnx.optimizer._optimizers, "failing", Failing)
    path = export.export_file(_small_model(), tmp_path / "model.onnx", "onnx")
    assert "TF2ONNX_CATCH_ERRORS" not in os.environ
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]
    nodes, _ = _onnx_graph(path)
    assert "Conv" in {op for op, *_ in nodes}


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(export.KerasLnnError, match="unknown export format 'pdf'"):
        export.export_run(tmp_path, formats=("pdf",))


RELOAD = """
import sys
{first}
model = {load}({path!r})
print(sorted(m for m in ("keras_lnn.layers", "keras_lnn.models") if m in sys.modules), model.name)
"""


@pytest.mark.parametrize("first, load", [
    ("import keras_lnn\nimport keras", "keras.saving.load_model"),  # the README's order
    ("import keras\nimport keras_lnn", "keras.saving.load_model"),
    ("import keras_lnn", "keras_lnn.load_model"),
])
@pytest.mark.slow
def test_import_keras_lnn_is_enough_to_load_its_keras_files(first, load):
    """In a fresh interpreter: nothing of the package but `import keras_lnn`, in either order with keras."""
    path = HERE / "fixtures" / "layers" / "LiqExp6N5.keras"
    code = RELOAD.format(first=first, load=load, path=str(path))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["['keras_lnn.layers']", "LiqExp6N5"]
