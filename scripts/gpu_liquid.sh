#!/usr/bin/env bash
# The liquid layer on the lent GPU machine (JAX, deterministic kernels): keras_lnn's LTC against
# ncps's loop with the same weights, side by side in one process and repeated (scripts/benchmark.py
# --implementation fast,ncps), then the study grid for SECONDS with scripts/gpu_study.sh.
# JSON and logs go under $OUT.
#
# Here:   ../shared/gpu/prepare.sh
# There:  bash scripts/gpu_liquid.sh [SECONDS] [JOBS]      (carry: .whl .data)
set -uo pipefail
budget=${1:-300}
jobs=${2:-7}
out=${OUT:-/tmp/gpu-liquid-out}
mkdir -p "$out"

python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1
export JAX_COMPILATION_CACHE_DIR=$PWD/saved_models/.jax-cache
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/machine.txt"

TIMEFORMAT="benchmark: %R s wall"
time python3 scripts/benchmark.py --models LiqExp1N2,CNNExp1N1 --dataset adrenal --data-dir .data \
  --implementation fast,ncps --repeats 3 --epochs 8 >"$out/liquid.json" || exit 1
python3 - "$out/liquid.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    print(r["model"], r["implementation"], "first", r["first_epoch_s"], "steady", r["steady_epoch_s"])
PY
OUT=$out bash scripts/gpu_study.sh "$budget" "$jobs"
