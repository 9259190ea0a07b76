#!/usr/bin/env python
"""Training-speed benchmark: seconds per `model.fit` epoch, in the current KERAS_BACKEND.

Per-model mode times training epochs on the train split (no validation), the
way `lnn-keras run` trains (same compile, batching and padding). Each model is
trained `--repeats` times with each `--implementation` of the liquid layers,
alternating, so old and new see the same machine load; a record gives the spread
(min, median, max) of the steady epochs (every epoch after each repeat's first).
Each training runs in a fresh process (`--in-process` to share one):

    python scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 --dataset adrenal --data-dir ../shared/medmnist \
        --implementation fast,ncps --repeats 3 --epochs 5

`--onednn 0,1` times each model with TensorFlow's oneDNN kernels off and on (TF_ENABLE_ONEDNN_OPTS in
each fresh process), alternating; `--threads 2:1,1:1` times each model under each TensorFlow (or PyTorch) intra-op:inter-op
thread setting, alternating like the implementations; `--xla-flags` (repeatable) does the
same with XLA_FLAGS settings on JAX. `--reference PATH` also times the paper's PyTorch
code (PATH holds its bench_reference.py, e.g. ../shared/paper/reference_code) on the same
file, in the same run, one fresh process per model and repeat. Every record carries the
machine's facts: CPU model and vector features, oneDNN on or off and why, threads
(`keras_lnn.system.machine.machine_facts`).

`--layer-only` times the model's head alone (its recurrent layers, on random
encoder-sized features of the train split's size): the liquid layer without the
convolutions.

Whole-experiment mode times `lnn-keras run` of experiments to early stopping
(the paper's protocol unless options say otherwise), in a temporary folder:

    python scripts/benchmark.py --experiment exp1 --dataset adrenal --data-dir ../shared/medmnist --jobs 4

With `--models` too, only those of the experiment's models (as `lnn-keras run --models`).

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
    parser.add_argument("--models", help="comma-separated model names (per-model mode; with --experiment, a subset)")
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
    parser.add_argument("--implementation", default="fast",
                        help="per-model mode: comma-separated, of `fast` (keras_lnn's LTC/CfC) and `ncps` "
                             "(ncps's step-by-step loop, same weights: keras_lnn.layers.reference_computation)")
    parser.add_argument("--repeats", type=int, default=1, help="per-model mode: trainings per model and implementation")
    parser.add_argument("--layer-only", action="store_true", help="per-model mode: time the model's head alone")
    parser.add_argument("--threads", default=None,
                        help="per-model mode: comma-separated INTRA:INTER thread settings to time, e.g. 2:1,1:1 "
                             "(TensorFlow's tf.config.threading, PyTorch's set_num_threads; default: the backend's)")
    parser.add_argument("--onednn", default=None,
                        help="per-model mode: comma-separated TF_ENABLE_ONEDNN_OPTS values to time, e.g. 0,1")
    parser.add_argument("--xla-flags", action="append", default=None,
                        help="per-model mode, JAX: an XLA_FLAGS setting to time (repeat for several; '' for none)")
    parser.add_argument("--huge-pages", default="auto",
                        help="per-model mode: comma-separated of auto (as `lnn-keras run` starts: glibc.malloc.hugetlb=1 "
                             "on JAX, keras_lnn.system.allocator), on and off (glibc's default) to time, e.g. on,off")
    parser.add_argument("--reference", default=None,
                        help="per-model mode: folder of the paper's PyTorch code (with bench_reference.py) to time too")
    parser.add_argument("--in-process", action="store_true",
                        help="per-model mode: train every model in this process, not each in a fresh one")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)  # one training's record (a child's)
    parser.add_argument("--format", choices=["json", "table"], default="json")
    args = parser.parse_args(argv)
    if not (args.models or args.experiment):
        parser.error("give --models, --experiment, or both")
    return args


IMPLEMENTATIONS = ("fast", "ncps")


def head_model(name, n_classes, size):
    """The model's layers after its slice encoder, on inputs shaped like the encoder's output."""
    import keras

    from keras_lnn import models

    full = models.create_model(name, input_size=size, n_classes=n_classes)
    encoder = next(layer for layer in full.layers if layer.name.startswith("encoder_"))
    features = keras.Input(encoder.output.shape[1:], name="features")
    x = features
    for layer in full.layers[full.layers.index(encoder) + 1:]:
        x = layer(x)
    return keras.Model(features, x, name=f"{name}_head")


def set_threads(setting):
    """Applies an INTRA:INTER setting (e.g. "2:1") to the backend in use, before its first operation."""
    import keras

    intra, inter = (int(n) for n in setting.split(":"))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    elif backend == "torch":
        import torch

        torch.set_num_threads(intra)
        torch.set_num_interop_threads(inter)
    else:
        raise SystemExit(f"--threads is for TensorFlow and PyTorch; on {backend} use --xla-flags")


def training_setup(name, data, batch_size, epochs, layer_only=False):
    """`name` built, compiled and batched the way `lnn-keras run` trains it: (model, `fit` inputs).

    With `layer_only`, the model's head alone on random encoder-sized features (`head_model`).
    Seeded (0), so two processes build the same weights. scripts/profile_step.py trains the same way.
    """
    import keras
    import numpy as np

    from keras_lnn import models, training
    from keras_lnn.settings import Protocol

    keras.utils.set_random_seed(0)
    n_classes = data.info.n_classes
    x, y = data.train
    if layer_only:
        model = head_model(name, n_classes, data.size)
        x = np.random.default_rng(0).uniform(0, 2, size=(len(y), *model.input_shape[1:])).astype("float32")
    else:
        model = models.create_model(name, input_size=data.size, n_classes=n_classes)
    protocol = Protocol(max_epochs=epochs, batch_size=batch_size)
    training.compile_model(model, protocol, n_classes, train_size=len(y))
    return model, training.training_inputs(model, (x, y), protocol, seed=0)


def time_model(name, data, batch_size, epochs, implementation="fast", layer_only=False):
    """Builds, compiles and trains `name` for `epochs` epochs; returns the timing record."""
    import contextlib

    import keras
    import numpy as np

    from keras_lnn import layers, training
    from keras_lnn.system import machine, provenance

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    seconds = []
    model, inputs = training_setup(name, data, batch_size, epochs, layer_only)
    # The reference computation is chosen when the training step is traced, inside `fit`.
    with layers.reference_computation() if implementation == "ncps" else contextlib.nullcontext():
        history = model.fit(**inputs, epochs=epochs, callbacks=[Timer()], verbose=0)
    # Identical weights from two processes with the same seed: the run is reproducible.
    digest = hashlib.md5(b"".join(np.asarray(keras.ops.convert_to_numpy(w)).tobytes() for w in model.weights))
    keras.backend.clear_session()
    return {
        "model": name,
        "implementation": implementation,
        "layer_only": layer_only,
        "backend": keras.backend.backend(),
        "device": provenance.device_name(),
        "first_epoch_s": round(seconds[0], 3),
        "steady_epoch_s": round(statistics.median(seconds[1:]), 3) if len(seconds) > 1 else None,
        "steady_epochs_s": [round(s, 3) for s in seconds[1:]],
        "epochs": epochs,
        "samples": int(len(data.train[1])),
        "deterministic_ops": training.deterministic_ops(),
        "final_loss": history.history["loss"][-1],
        "weights_md5": digest.hexdigest(),
        **machine.machine_facts(),  # cpu, onednn, threads: after training, so the backend's threads are known
    }


def summarize(runs):
    """One record per model and implementation: the spread of steady epochs over all repeats."""
    first = runs[0]
    # The paper's script gives one median per repeat, not its epochs: then the spread is over those.
    steady = [s for run in runs for s in (run["steady_epochs_s"] or [run["steady_epoch_s"]])]
    record = {k: v for k, v in first.items() if k not in ("first_epoch_s", "steady_epoch_s", "steady_epochs_s",
                                                           "final_loss", "weights_md5")}
    record.update({
        "repeats": len(runs),
        "first_epoch_s": [run["first_epoch_s"] for run in runs],
        "steady_epoch_s": {"min": min(steady), "median": round(statistics.median(steady), 3), "max": max(steady)}
        if steady else None,
        "steady_epoch_median_per_repeat_s": [run["steady_epoch_s"] for run in runs],
        "final_loss": first["final_loss"],
        "weights_md5": first["weights_md5"],
        "same_weights_every_repeat": len({run["weights_md5"] for run in runs}) == 1 if first["weights_md5"] else None,
    })
    return record


def variants(args):
    """Every (implementation, threads, XLA_FLAGS, TF_ENABLE_ONEDNN_OPTS, huge pages) to time, in the order they alternate."""
    implementations = args.implementation.split(",")
    unknown = set(implementations) - set(IMPLEMENTATIONS)
    if unknown:
        raise SystemExit(f"--implementation: unknown {sorted(unknown)}; expected some of {list(IMPLEMENTATIONS)}")
    threads = args.threads.split(",") if args.threads else [None]
    for setting in filter(None, threads):
        if len(setting.split(":")) != 2 or not all(n.isdigit() and int(n) > 0 for n in setting.split(":")):
            raise SystemExit(f"--threads: {setting!r} is not INTRA:INTER (two positive integers, e.g. 2:1)")
    flags = args.xla_flags or [None]
    onednn = args.onednn.split(",") if args.onednn else [None]
    pages = args.huge_pages.split(",")
    if set(pages) - {"auto", "on", "off"}:
        raise SystemExit(f"--huge-pages: expected some of auto, on and off, not {args.huge_pages!r}")
    if args.in_process and (len(threads) * len(flags) > 1 or onednn != [None] or pages != ["auto"]):
        raise SystemExit("--threads, --xla-flags, --onednn and --huge-pages need fresh processes: drop --in-process")
    return [(i, t, f, o, h) for i in implementations for t in threads for f in flags for o in onednn for h in pages]


def time_models(args, data):
    """Every model x variant, `repeats` times, alternating variants within each repeat (then the paper's code).

    Each training runs in a fresh process unless `--in-process`: in one process a
    trained model leaves state behind that slows the next (ncps's loop measured
    6.1 s per epoch after the fast layer, 4.1 s before it, 2026-11-28).
    """
    runs = {}
    for _ in range(args.repeats):
        for name in args.models.split(","):
            for variant in variants(args):
                implementation, threads, flags, onednn, pages = variant
                if args.in_process or args.raw:
                    record = time_model(name, data, args.batch_size, args.epochs, implementation, args.layer_only)
                else:
                    record = time_in_child(args, name, *variant)
                record.update(threads_setting=threads, xla_flags_setting=flags, onednn_setting=onednn,
                              huge_pages_setting=pages)
                runs.setdefault((name, *variant), []).append(record)
            if args.reference and not args.raw:
                from reference_timing import time_reference

                record = time_reference(args.reference, name, args.dataset, args.data_dir, args.epochs)
                runs.setdefault((name, "paper-pytorch", None, None, None, None), []).append(record)
    if args.raw:
        return [record for records in runs.values() for record in records]
    return [summarize(records) for records in runs.values()]


def time_in_child(args, name, implementation, threads=None, xla_flags=None, onednn=None, pages="auto"):
    """`time_model` in a fresh interpreter with the same settings; its record."""
    import subprocess

    from keras_lnn.system import allocator

    child = [sys.executable, os.path.abspath(__file__), "--raw", "--models", name, "--implementation", implementation,
             "--dataset", args.dataset, "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    child += ["--data-dir", args.data_dir] if args.data_dir else []
    child += ["--threads", threads] if threads else []
    child += [flag for flag, on in (("--no-verify", args.no_verify), ("--layer-only", args.layer_only),
                                    ("--nondeterministic", args.nondeterministic)) if on]
    env = {**os.environ, **({} if xla_flags is None else {"XLA_FLAGS": xla_flags}),
           **({} if onednn is None else {"TF_ENABLE_ONEDNN_OPTS": onednn})}
    if pages == "auto":
        env = allocator.training_environment(env) or env
    elif pages == "on":
        env = allocator.environment_with_huge_pages(env) or env
    else:
        env = allocator.environment_without_huge_pages(env)
    done = subprocess.run(child, stdout=subprocess.PIPE, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"benchmark of {name} ({implementation}) failed with exit status {done.returncode}")
    [record] = json.loads(done.stdout)
    return record


def time_experiment(args):
    import keras

    from keras_lnn.system import provenance
    from keras_lnn.system.machine import machine_facts
    from keras_lnn.runs import run_experiment
    from keras_lnn.settings import Protocol

    seeds = [int(s) for s in args.seeds.split(",")]
    models = args.models.split(",") if args.models else None  # None: all of the experiment's
    with tempfile.TemporaryDirectory() as output:
        start = time.perf_counter()
        results = run_experiment(
            args.experiment, args.dataset, models=models, seeds=seeds,
            protocol=Protocol(args.max_epochs, args.batch_size),
            data_dir=args.data_dir, verify=not args.no_verify, output=output, verbose=0, jobs=args.jobs,
            echo=lambda *a, **k: None, deterministic=not args.nondeterministic,
        )
        wall = time.perf_counter() - start
    trained = [m for _, metrics in results for m in metrics]
    return [{
        "experiment": args.experiment,
        "models_requested": models or "all",
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
        **machine_facts(),  # cpu, onednn, threads
    }]


def machine():
    """Where the numbers come from: host name, CPU model and cores (the details: each record's `cpu`)."""
    import platform

    from keras_lnn.system.machine import cpu_facts

    cpu = cpu_facts()
    return f"{platform.node()}: {cpu['model'] or cpu['architecture']}, {cpu['cores']} cores"


def main(argv=None):
    args = parse_args(argv)
    # Models train here, or (per-model mode, by default) each in a child process.
    trains_here = args.experiment or args.in_process or args.raw
    if trains_here:
        from keras_lnn.training import configure_backend

        configure_backend(deterministic=not args.nondeterministic)
        if args.threads and not args.experiment:
            set_threads(args.threads.split(",")[0])  # a child's one setting (a grid is refused in one process)
    if args.experiment:
        records = time_experiment(args)
    else:
        data = None
        if trains_here:
            from keras_lnn.data import load_dataset
            from keras_lnn.runs import VOLUME_DTYPE

            data = load_dataset(args.dataset, data_dir=args.data_dir, verify=not args.no_verify, dtype=VOLUME_DTYPE)
        records = time_models(args, data)
    if args.raw:
        print(json.dumps(records))
        return 0
    stamp = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "command": " ".join(sys.argv)}
    records = [{**record, **stamp} for record in records]
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
