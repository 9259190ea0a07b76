#!/usr/bin/env python
"""Where one training epoch's time goes, op by op, on JAX or PyTorch (the current KERAS_BACKEND).

Trains MODEL the way `lnn-keras run` does (same compile and batching) on the train split for two
warm epochs, then profiles one more and prints JSON: the epoch's seconds and the most costly
operations, each with its milliseconds over the epoch and the model scope it comes from.

- JAX: `jax.profiler` times XLA's thunks; `--xla_dump_to` maps each fused kernel to its HLO op
  and scope (e.g. `jvp(encoder_E2)/dot_general`). Sums of thunks on both threads may exceed the
  epoch; kernels that XLA runs on its own thread pool can show less than they cost.
- PyTorch: `torch.profiler`'s self CPU time per aten operation, over both threads.

    KERAS_BACKEND=jax python scripts/profile_step.py CNNExp1N1 --data-dir ../shared/medmnist
    KERAS_BACKEND=torch python scripts/profile_step.py LiqExp1N2 --data-dir ../shared/medmnist --top 15

Time it with nothing else running: it asserts nothing, and fractions are what it is for.
"""
import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--dataset", default="adrenal")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-verify", action="store_true", help="accept derived or synthetic files")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--top", type=int, default=25, help="operations to list")
    return parser.parse_args(argv)


def train_inputs(args):
    """The model and its `fit` inputs, set up as scripts/benchmark.py times them (`training_setup`)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from benchmark import training_setup

    from keras_lnn.data import load_dataset
    from keras_lnn.runs import VOLUME_DTYPE

    data = load_dataset(args.dataset, data_dir=args.data_dir, verify=not args.no_verify, dtype=VOLUME_DTYPE)
    return training_setup(args.model, data, args.batch_size, epochs=3)


def timed_epoch(model, inputs):
    start = time.perf_counter()
    model.fit(**inputs, epochs=1, verbose=0)
    return time.perf_counter() - start


def profile_jax(model, inputs, dump, top):
    import jax

    trace = tempfile.mkdtemp(prefix="profile_step_trace_")
    with jax.profiler.trace(trace, create_perfetto_trace=True):
        epoch = timed_epoch(model, inputs)
    events = json.load(gzip.open(glob.glob(f"{trace}/**/*.trace.json.gz", recursive=True)[0]))
    events = events["traceEvents"] if isinstance(events, dict) else events
    micros = collections.Counter()
    for event in events:
        if event.get("ph") == "X":
            micros[event["name"]] += event.get("dur", 0)
    modules = sorted(glob.glob(f"{dump}/*jit_train_step*after_optimizations.txt"), key=os.path.getsize)
    hlo = open(modules[-1]).read() if modules else ""
    ops = []
    for name, us in micros.items():
        found = re.search(r"^\s*(?:ROOT )?%?" + re.escape(name) + r" = (\S+) .*?op_name=\"([^\"]*)\"", hlo, re.M)
        if found:
            ops.append({"op": name, "ms": round(us / 1e3, 1), "shape": found.group(1),
                        "scope": found.group(2).replace("jit(train_step)/", "")})
    ops.sort(key=lambda op: -op["ms"])
    return epoch, ops[:top], round(sum(op["ms"] for op in ops), 1)


def profile_torch(model, inputs, top):
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        epoch = timed_epoch(model, inputs)
    rows = sorted(prof.key_averages(), key=lambda row: -row.self_cpu_time_total)
    ops = [{"op": row.key, "ms": round(row.self_cpu_time_total / 1e3, 1), "calls": row.count} for row in rows]
    return epoch, ops[:top], round(sum(op["ms"] for op in ops), 1)


def main(argv=None):
    args = parse_args(argv)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend not in ("jax", "torch"):
        raise SystemExit(f"profile_step.py profiles JAX and PyTorch; KERAS_BACKEND is {backend!r}")
    dump = tempfile.mkdtemp(prefix="profile_step_hlo_")
    if backend == "jax":
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_dump_to={dump} --xla_dump_hlo_as_text".strip()
    model, inputs = train_inputs(args)
    model.fit(**inputs, epochs=1, verbose=0)
    warm = timed_epoch(model, inputs)
    from keras_lnn.system.machine import machine_facts

    if backend == "jax":
        epoch, ops, total = profile_jax(model, inputs, dump, args.top)
    else:
        epoch, ops, total = profile_torch(model, inputs, args.top)
    print(json.dumps({"model": args.model, "backend": backend, "unprofiled_epoch_s": round(warm, 3),
                      "profiled_epoch_s": round(epoch, 3), "ops_total_ms": total, "ops": ops,
                      "date": time.strftime("%Y-%m-%d"), "command": " ".join(sys.argv), **machine_facts()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
