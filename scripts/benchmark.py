#!/usr/bin/env python
"""Training-speed benchmark: seconds per `model.fit` epoch, in the current KERAS_BACKEND.

Per-model mode times training epochs on the train split (no validation), the
way `lnn-keras run` trains (same compile, batching and padding):

    python scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 --dataset adrenal --data-dir ../shared/medmnist

Whole-experiment mode times `lnn-keras run` of experiments to early stopping
(the paper's protocol unless options say otherwise), in a temporary folder:

    python scripts/benchmark.py --experiment exp1 --dataset adrenal --data-dir ../shared/medmnist --jobs 4

It prints JSON (or a table) and asserts nothing: targets live in docs/performance.md.
"""
import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated model names (per-model mode)")
    parser.add_argument("--experiment", help="experiment(s) to run to early stopping, e.g. exp1 or all")
    parser.add_argument("--dataset", default="adrenal")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-verify", action="store_true", help="accept derived or synthetic files")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-epochs", type=int, default=500, help="whole-experiment mode")
    parser.add_argument("--seeds", default="0", help="whole-experiment mode, e.g. 0,1,2")
    parser.add_argument("--jobs", type=int, default=1, help="whole-experiment mode")
    parser.add_argument("--nondeterministic", action="store_true",
                        help="let the GPU pick kernels by speed (see training.configure_backend)")
    parser.add_argument("--format", choices=["json", "table"], default="json")
    args = parser.parse_args(argv)
    if bool(args.models) == bool(args.experiment):
        parser.error("give exactly one of --models and --experiment")
    return args


def time_model(name, data, batch_size, epochs):
    """Builds, compiles and trains `name` for `epochs` epochs; returns the timing record."""
    import keras
    import numpy as np

    from keras_lnn import models, provenance, training

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds = []
    keras.utils.set_random_seed(0)
    n_classes = data.info.n_classes
    model = models.create_model(name, input_size=data.size, n_classes=n_classes)
    protocol = training.Protocol(max_epochs=epochs, batch_size=batch_size)
    training.compile_model(model, protocol, n_classes)
    inputs = training.training_inputs(model, data.train, protocol, seed=0)
    history = model.fit(**inputs, epochs=epochs, callbacks=[Timer()], verbose=0)
    # Identical weights from two processes with the same seed: the run is reproducible.
    digest = hashlib.md5(b"".join(np.asarray(keras.ops.convert_to_numpy(w)).tobytes() for w in model.weights))
    keras.backend.clear_session()
    return {
        "model": name,
        "backend": keras.backend.backend(),
        "device": provenance.device_name(),
        "first_epoch_s": round(seconds[0], 3),
        "steady_epoch_s": round(statistics.median(seconds[1:]), 3) if len(seconds) > 1 else None,
        "epochs": epochs,
        "samples": int(len(data.train[1])),
        "deterministic_ops": training.deterministic_ops(),
        "final_loss": history.history["loss"][-1],
        "weights_md5": digest.hexdigest(),
    }


def time_experiment(args):
    import keras

    from keras_lnn import provenance
    from keras_lnn.runs import run_experiment
    from keras_lnn.training import Protocol

    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as output:
        start = time.perf_counter()
        results = run_experiment(
            args.experiment, args.dataset, seeds=seeds, protocol=Protocol(args.max_epochs, args.batch_size),
            data_dir=args.data_dir, verify=not args.no_verify, output=output, verbose=0, jobs=args.jobs,
            echo=lambda *a, **k: None, deterministic=not args.nondeterministic,
        )
        wall = time.perf_counter() - start
    trained = [m for _, metrics in results for m in metrics]
    return [{
        "experiment": args.experiment,
        "dataset": args.dataset,
        "backend": keras.backend.backend(),
        "device": provenance.device_name(),
        "models": len(trained),
        "seeds": seeds,
        "jobs": args.jobs,
        "max_epochs": args.max_epochs,
        "epochs_total": sum(m["epochs"] for m in trained),
        "wall_s": round(wall, 1),
        "per_model": [{"model": m["model"], "seed": m["seed"], "epochs": m["epochs"], "train_s": m["train_seconds"]}
                      for m in trained],
    }]


def main(argv=None):
    args = parse_args(argv)
    from keras_lnn.data import load_dataset
    from keras_lnn.training import configure_backend

    configure_backend(deterministic=not args.nondeterministic)
    if args.experiment:
        records = time_experiment(args)
    else:
        from keras_lnn.runs import VOLUME_DTYPE

        data = load_dataset(args.dataset, data_dir=args.data_dir, verify=not args.no_verify, dtype=VOLUME_DTYPE)
        records = [time_model(name, data, args.batch_size, args.epochs) for name in args.models.split(",")]
    if args.format == "json":
        print(json.dumps(records, indent=2))
    else:
        keys = [k for k in records[0] if not isinstance(records[0][k], list)]
        print("  ".join(keys))
        for record in records:
            print("  ".join(str(record[k]) for k in keys))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
