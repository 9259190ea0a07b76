#!/usr/bin/env bash
# Is a seed reproducible on the GPU? scripts/benchmark.py trains MODELS twice with deterministic
# kernels and twice without, each time in a fresh process with an empty JAX compilation cache (as a
# fresh machine would), then compares the trained weights' MD5 and the seconds per epoch.
# With RUN_EPOCHS > 0, `lnn-keras run` with its defaults (and 2 worker processes) also trains
# MODELS twice for at most RUN_EPOCHS epochs, into two folders whose histories must agree.
# JSON goes under $OUT; the last line printed is the summary.
#
# Here:   ../shared/gpu/prepare.sh
# There:  bash scripts/gpu_determinism.sh [MODELS] [EPOCHS] [RUN_EPOCHS]      (carry: .whl .data)
set -uo pipefail
models=${1:-CNNExp3N1,LiqExp3N5,LiqExp1N2,LSTMExp5N2}
epochs=${2:-10}
run_epochs=${3:-0}
out=${OUT:-/tmp/gpu-determinism-out}
mkdir -p "$out"

python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/machine.txt"

for mode in deterministic nondeterministic; do
  flag=$([ "$mode" = nondeterministic ] && echo --nondeterministic)
  for repeat in 1 2; do
    JAX_COMPILATION_CACHE_DIR=$(mktemp -d) python3 scripts/benchmark.py --models "$models" --dataset adrenal \
      --data-dir .data --epochs "$epochs" $flag >"$out/${mode}_$repeat.json" || exit 1
  done
done
runs=/tmp/determinism-runs
rm -rf "$runs"
if [ "$run_epochs" -gt 0 ]; then
  for repeat in 1 2; do
    JAX_COMPILATION_CACHE_DIR=$(mktemp -d) python3 -m keras_lnn.cli run paper --dataset adrenal --models "$models" \
      --data-dir .data --max-epochs "$run_epochs" --jobs 2 --output "$runs/$repeat" --quiet >"$out/run_$repeat.log" 2>&1 \
      || { tail -20 "$out/run_$repeat.log"; exit 1; }
  done
fi
python3 - "$out" "$runs" <<'PY'
import csv, glob, json, os, sys
out, run_root = sys.argv[1:3]
runs = {(mode, r): {x["model"]: x for x in json.load(open(f"{out}/{mode}_{r}.json"))}
        for mode in ("deterministic", "nondeterministic") for r in (1, 2)}
summary = {
    mode: {model: {"same_weights": runs[mode, 1][model]["weights_md5"] == runs[mode, 2][model]["weights_md5"],
                   "final_loss": [runs[mode, r][model]["final_loss"] for r in (1, 2)],
                   "steady_epoch_s": [runs[mode, r][model]["steady_epoch_s"] for r in (1, 2)]}
           for model in runs[mode, 1]}
    for mode in ("deterministic", "nondeterministic")
}

def history(path):  # everything but the wall time of each epoch
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in csv.DictReader(open(path))]

for path in sorted(glob.glob(f"{run_root}/1/*/*/metrics.json")):
    first = json.load(open(path))
    second_dir = os.path.dirname(path.replace(f"{run_root}/1/", f"{run_root}/2/"))
    summary.setdefault("lnn_keras_run", {})[first["model"]] = {
        "same_history": history(os.path.join(os.path.dirname(path), "history.csv"))
        == history(os.path.join(second_dir, "history.csv")),
        "epochs": [first["epochs"], json.load(open(os.path.join(second_dir, "metrics.json")))["epochs"]],
        "deterministic_ops": first["versions"]["deterministic_ops"],
        "device": first["versions"]["device"],
    }
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
print(json.dumps(summary))
PY
