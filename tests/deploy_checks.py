"""Runs a run's deployable files with their own runtimes, as a device or a server would; prints JSON.

    python tests/deploy_checks.py RUN_DIR=DATA_NPZ [RUN_DIR=DATA_NPZ ...]

For every model folder of RUN_DIR: onnxruntime on `model.onnx`, the LiteRT
interpreter of `ai-edge-litert` on `model.tflite` (builtin operations only:
the interpreter has no TensorFlow "select" ops), and TensorFlow on the
SavedModel's `serving_default`, each over the test split of DATA_NPZ, against
the test probabilities of the model's `predictions.csv`. Then it parses
`models.config` with TF Serving's own `ModelServerConfig` proto. It imports
neither keras_lnn nor ncps (it says so in its output): what it checks needs
nothing of this package. One JSON line per RUN_DIR, in their order (one interpreter for all).
"""
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def expected_probabilities(model_dir):
    with open(model_dir / "predictions.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["split"] == "test"]
    columns = sorted((k for k in rows[0] if k.startswith("probability")), key=lambda k: (len(k), k))
    return np.array([[float(row[c]) for c in columns] for row in rows], dtype="float64")


def run_onnx(path, volumes):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    [volume_input] = session.get_inputs()
    return session.run(None, {volume_input.name: volumes})[0]


def run_litert(path, volumes):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    [volume_input] = interpreter.get_input_details()
    interpreter.resize_tensor_input(volume_input["index"], volumes.shape)
    interpreter.allocate_tensors()  # fails here where a "select" (Flex) op is needed
    interpreter.set_tensor(volume_input["index"], volumes)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def run_saved_model(path, volumes):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    serve = loaded.signatures["serving_default"]
    return serve(volume=tf.constant(volumes))["probability"].numpy()


def saved_model_method(path):
    """The method name of the SavedModel's serving_default signature (what TF Serving dispatches on)."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((path / "saved_model.pb").read_bytes())
    return proto.meta_graphs[0].signature_def["serving_default"].method_name


def serving_config(run_dir):
    """models.config parsed by TF Serving's ModelServerConfig; per model, base_path checks."""
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    config = text_format.Parse((run_dir / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    entries = {}
    for entry in config.model_config_list.config:
        base = Path(entry.base_path)
        versions = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name.isdigit()) if base.is_dir() else []
        entries[entry.name] = {
            "absolute": base.is_absolute(),
            "platform": entry.model_platform,
            "versions": versions,
            "method": saved_model_method(base / versions[0]) if versions else None,
        }
    return entries


def main(run_dir, data_file):
    run_dir = Path(run_dir)
    with np.load(data_file) as data:
        volumes = data["test_images"][..., None].astype("float32")
    runtimes = {"onnx": ("model.onnx", run_onnx), "litert": ("model.tflite", run_litert),
                "saved_model": ("1", run_saved_model)}
    models = {}
    for model_dir in sorted(p.parent for p in run_dir.glob("*/predictions.csv")):
        expected = expected_probabilities(model_dir)
        result = {}
        for fmt, (artifact, run) in runtimes.items():
            try:
                predicted = np.asarray(run(model_dir / artifact, volumes), dtype="float64").reshape(expected.shape)
                result[fmt] = float(np.max(np.abs(predicted - expected)))
            except Exception as error:
                result[fmt] = f"{type(error).__name__}: {str(error)[:300]}"
        result["size_bytes"] = {fmt: (model_dir / artifact).stat().st_size
                                for fmt, (artifact, _) in runtimes.items() if (model_dir / artifact).is_file()}
        models[model_dir.name] = result
    return {
        "models": models,
        "serving": serving_config(run_dir),
        "volumes": len(volumes),
        "imported_package": sorted(m for m in ("keras_lnn", "ncps") if m in sys.modules),
    }


if __name__ == "__main__":
    for pair in sys.argv[1:]:
        run_dir, data_npz = pair.rsplit("=", 1)
        print(json.dumps(main(run_dir, data_npz)), flush=True)
