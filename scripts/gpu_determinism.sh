#!/usr/bin/env bash
# Is a seed reproducible on the GPU? scripts/benchmark.py trains MODELS twice with deterministic
# kernels and twice without, each time in a fresh process with an empty JAX compilation cache (as a
# fresh machine would), then compares the trained weights' MD5 and the seconds per epoch.
# JSON goes under $OUT; the last line printed is the summary.
#
# Here:   ../shared/gpu/prepare.sh
# There:  bash scripts/gpu_determinism.sh [MODELS] [EPOCHS]      (carry: .whl .data)
set -uo pipefail
models=${1:-CNNExp3N1,LiqExp3N5,LiqExp1N2,LSTMExp5N2}
epochs=${2:-10}
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
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = {(mode, r): {x["model"]: x for x in json.load(open(f"{out}/{mode}_{r}.json"))}
        for mode in ("deterministic", "nondeterministic") for r in (1, 2)}
summary = {
    mode: {model: {"same_weights": runs[mode, 1][model]["weights_md5"] == runs[mode, 2][model]["weights_md5"],
                   "final_loss": [runs[mode, r][model]["final_loss"] for r in (1, 2)],
                   "steady_epoch_s": [runs[mode, r][model]["steady_epoch_s"] for r in (1, 2)]}
           for model in runs[mode, 1]}
    for mode in ("deterministic", "nondeterministic")
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=1)
print(json.dumps(summary))
PY
