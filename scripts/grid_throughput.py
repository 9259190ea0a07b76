#!/usr/bin/env python
"""How to run a grid on a CPU: epochs per minute of one process with all cores' threads, against one
single-threaded process per core (pinned to its core with `taskset`, or left to the scheduler).

Per model and repeat, alternating the three ways so that they see the same machine load:

- `1xC`: one training with TensorFlow's intra-op threads = the cores (`--threads C:1`);
- `Cx1 pinned`: one training per core (C cores) at once, each `--threads 1:1` under `taskset -c <core>`;
- `Cx1`: the same without pinning;
- `CxC`: one training per core at once, each with every core's threads (`--threads C:C`, the backends'
  own default): workers that do not divide the cores among them.

`--ways` picks some of them (default: all four).

Each training is a fresh `scripts/benchmark.py --raw` child (the same compile, batching and padding
as `lnn-keras run`), timed over its steady epochs. Concurrent trainings train the same model, so they
overlap from start to end. Throughput is steady epochs per minute of the whole machine; a record gives
its spread over repeats (min, median, max) and the machine's facts:

    python scripts/grid_throughput.py --models CNNExp1N1,LiqExp1N2 --data-dir ../shared/medmnist --repeats 3

It prints JSON and asserts nothing. `lnn-keras run --jobs N` on N cores (TensorFlow on a CPU) is the
`Nx1` way: each worker takes cores // N threads (`keras_lnn.system.machine.worker_threads`).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

BENCHMARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmark.py")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="CNNExp1N1,LiqExp1N2")
    parser.add_argument("--dataset", default="adrenal")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=4, help="per training; the first is not counted")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores to use: 0 .. cores-1")
    parser.add_argument("--ways", default=None, help="comma-separated, of 1xC, Cx1 pinned, Cx1, CxC (C: --cores)")
    return parser.parse_args(argv)


def child(args, model, threads, core=None):
    """A started `benchmark.py --raw` training of `model` (pinned to `core` unless None)."""
    command = [sys.executable, BENCHMARK, "--raw", "--models", model, "--dataset", args.dataset,
               "--epochs", str(args.epochs), "--threads", threads]
    command += ["--data-dir", args.data_dir] if args.data_dir else []
    if core is not None:
        command = [shutil.which("taskset"), "-c", str(core)] + command
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def steady_seconds(process):
    """The median steady epoch of a finished child."""
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a benchmark child failed with exit status {process.returncode}")
    [record] = json.loads(out)
    return record["steady_epoch_s"], record


def way(args, model, name):
    """One training (or one per core, at once) the `name` way: (epochs per minute, per-training seconds, a record)."""
    if name.startswith("1x"):
        processes = [child(args, model, f"{args.cores}:1")]
    elif name == f"{args.cores}x{args.cores}":
        processes = [child(args, model, f"{args.cores}:{args.cores}") for _ in range(args.cores)]
    else:
        processes = [child(args, model, "1:1", core if name.endswith("pinned") else None) for core in range(args.cores)]
    timed = [steady_seconds(p) for p in processes]
    seconds = [s for s, _ in timed]
    return 60 * sum(1 / s for s in seconds), seconds, timed[0][1]


def spread(values):
    return {"min": round(min(values), 2), "median": round(statistics.median(values), 2), "max": round(max(values), 2)}


def main(argv=None):
    args = parse_args(argv)
    if not shutil.which("taskset"):
        raise SystemExit("taskset (util-linux) is needed to pin a training to a core")
    every = (f"1x{args.cores}", f"{args.cores}x1 pinned", f"{args.cores}x1", f"{args.cores}x{args.cores}")
    ways = every if args.ways is None else tuple(w.strip().replace("C", str(args.cores)) for w in args.ways.split(","))
    if set(ways) - set(every):
        raise SystemExit(f"--ways: unknown {sorted(set(ways) - set(every))}; the ways are {', '.join(every)}")
    measured, records = {}, {}
    for _ in range(args.repeats):
        for model in args.models.split(","):
            for name in ways:
                rate, seconds, record = way(args, model, name)
                measured.setdefault((model, name), []).append((rate, seconds))
                records.setdefault(model, record)
    results = []
    for (model, name), runs in measured.items():
        results.append({
            "model": model, "way": name, "repeats": len(runs),
            "epochs_per_minute": spread([rate for rate, _ in runs]),
            "steady_epoch_s": spread([s for _, seconds in runs for s in seconds]),
            "per_repeat": [{"epochs_per_minute": round(rate, 2), "steady_epoch_s": seconds} for rate, seconds in runs],
        })
    for model in args.models.split(","):
        base = statistics.median(rate for rate, _ in measured[(model, ways[0])])  # the first way given
        for result in results:
            if result["model"] == model:
                result["vs_first_way"] = round(result["epochs_per_minute"]["median"] / base, 2)
    first = next(iter(records.values()))
    print(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": " ".join(sys.argv),
        "dataset": args.dataset, "epochs": args.epochs, "backend": first.get("backend"), "first_way": ways[0],
        "cpu": first.get("cpu"), "onednn": first.get("onednn"), "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
