#!/usr/bin/env python
"""Exports every registered model to SavedModel, ONNX and LiteRT and runs each file; prints JSON.

    KERAS_BACKEND=tensorflow python scripts/export_check.py [--models PATTERN] [--size 28] [--classes 2]

Each model is built with seed 0, written by `keras_lnn.deploy.export.export_model`, and
run by `keras_lnn.deploy.predict.load_predictor` (TensorFlow, onnxruntime, the LiteRT
interpreter with builtin operations only) on two raw 0-255 volumes; a record
gives the largest difference to Keras's own output, or the error. Nothing is
asserted: docs/deploy.md reports what it printed.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=None, help="a wildcard of model names (default: all)")
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--classes", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras_lnn  # noqa: F401  (before TensorFlow: oneDNN on, see keras_lnn.system.machine)
    import keras
    import numpy as np

    from keras_lnn import models
    from keras_lnn.deploy import export
    from keras_lnn.deploy.predict import load_predictor

    records = []
    for name in models.list_models(args.models):
        record = {"model": name, "size": args.size, "classes": args.classes}
        try:
            models.validate_model(name, args.classes)
        except Exception as error:
            records.append({**record, "skipped": str(error)})
            continue
        keras.utils.set_random_seed(0)
        model = models.create_model(name, input_size=args.size, n_classes=args.classes)
        volumes = np.random.default_rng(0).integers(0, 256, (2, *model.input_shape[1:])).astype("float32")
        expected = keras.ops.convert_to_numpy(model(volumes, training=False))
        with tempfile.TemporaryDirectory() as folder:
            for fmt in export.FORMATS:
                start = time.perf_counter()
                try:
                    export.export_model(model, Path(folder), fmt)
                    run, _ = load_predictor(folder, fmt)
                    record[fmt] = float(np.max(np.abs(np.asarray(run(volumes)) - expected)))
                except Exception as error:  # recorded, so one model's failure does not hide the others
                    record[fmt] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
                record[f"{fmt}_s"] = round(time.perf_counter() - start, 1)
        records.append(record)
        print(json.dumps(record), file=sys.stderr, flush=True)  # progress
        keras.backend.clear_session()
    print(json.dumps(records, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
