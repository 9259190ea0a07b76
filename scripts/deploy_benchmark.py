#!/usr/bin/env python
"""File size and CPU latency of each deployable format, per model; prints JSON.

    KERAS_BACKEND=tensorflow python scripts/deploy_benchmark.py --models CNNExp1N1,LiqExp1N2,LSTMExp5N2

Each model is built with seed 0 (latency and size do not depend on trained
values), written in every format by `keras_lnn.deploy.export.export_model` into a
temporary folder, and run on one raw 0-255 volume at a time (batch 1) by the
runtime a deployment would use: Keras itself, TensorFlow on the SavedModel's
`serving_default`, onnxruntime, and the LiteRT interpreter. Latency is the
spread (min, median, max) of `--runs` calls after `--warmup` calls; the
outputs of every format are compared with Keras's.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="CNNExp1N1,LiqExp1N2,LSTMExp5N2")
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per runtime (a device has few)")
    return parser.parse_args(argv)


def size_bytes(path):
    path = Path(path)
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def latency(run, volume, runs, warmup):
    for _ in range(warmup):
        run(volume)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        run(volume)
        seconds.append(time.perf_counter() - start)
    ms = sorted(1000 * s for s in seconds)
    return {"min": round(ms[0], 3), "median": round(statistics.median(ms), 3), "max": round(ms[-1], 3)}


def runners(model, folder, threads):
    """format -> (path, volume -> probabilities) for the model written in `folder`."""
    import numpy as np
    import onnxruntime
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from keras_lnn.deploy import export

    paths = {fmt: export.export_model(model, folder, fmt) for fmt in export.FORMATS}
    serve = tf.saved_model.load(str(paths["saved_model"])).signatures["serving_default"]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(paths["onnx"]), options, providers=["CPUExecutionProvider"])
    interpreter = Interpreter(model_path=str(paths["litert"]), num_threads=threads)
    interpreter.allocate_tensors()
    [litert_input] = interpreter.get_input_details()
    litert_output = interpreter.get_output_details()[0]["index"]

    def litert(volume):
        interpreter.set_tensor(litert_input["index"], volume)
        interpreter.invoke()
        return interpreter.get_tensor(litert_output)

    keras_call = tf.function(lambda v: model(v, training=False))
    return {
        "keras": (folder / "model.keras", lambda v: keras_call(v).numpy()),
        "saved_model": (paths["saved_model"], lambda v: serve(volume=tf.constant(v))["probability"].numpy()),
        "onnx": (paths["onnx"], lambda v: session.run(None, {"volume": v})[0]),
        "litert": (paths["litert"], litert),
    }, np


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras_lnn  # noqa: F401  (before TensorFlow: oneDNN on, see keras_lnn.system.machine)
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from keras_lnn import models
    from keras_lnn.system import machine
    from keras_lnn.system.provenance import device_name

    records = []
    for name in args.models.split(","):
        keras.utils.set_random_seed(0)
        model = models.create_model(name, input_size=args.size)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            model.save(folder / "model.keras")
            formats, np = runners(model, folder, args.threads)
            volume = np.random.default_rng(0).integers(0, 256, (1, *model.input_shape[1:])).astype("float32")
            reference = formats["keras"][1](volume)
            for fmt, (path, run) in formats.items():
                records.append({
                    "model": name,
                    "format": fmt,
                    "file": Path(path).name,
                    "size_bytes": size_bytes(path),
                    "latency_ms": latency(run, volume, args.runs, args.warmup),
                    "max_abs_difference_to_keras": float(np.max(np.abs(run(volume) - reference))),
                })
        keras.backend.clear_session()
    import platform

    stamp = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.node()}, {os.cpu_count()} cores",
             "device": device_name(), "runtime_threads": args.threads, "batch": 1, "runs": args.runs,
             "command": " ".join(sys.argv), **machine.machine_facts()}  # cpu, onednn, threads (TensorFlow's)
    print(json.dumps([{**record, **stamp} for record in records], indent=2))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
