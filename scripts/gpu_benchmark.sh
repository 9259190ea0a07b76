#!/usr/bin/env bash
# Single-model training speed on the lent GPU machine, the GPU to itself: scripts/benchmark.py
# twice in fresh processes, first with an empty JAX compilation cache (cold), then with the cache
# the first filled (warm); then one experiment trained to early stopping with SECONDS at most.
# JSON goes under $OUT.
#
# Here:   ../shared/gpu/prepare.sh
# There:  bash scripts/gpu_benchmark.sh [MODELS] [SECONDS]      (carry: .whl .data)
set -uo pipefail
models=${1:-CNNExp1N1,LiqExp1N2,LiqExp3N2,LSTMExp5N2,RNNExp5N5}
budget=${2:-120}
out=${OUT:-/tmp/gpu-benchmark-out}
mkdir -p "$out"

python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
export JAX_COMPILATION_CACHE_DIR=$(mktemp -d)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/machine.txt"

for cache in cold warm; do
  TIMEFORMAT="$cache process: %R s wall"
  time python3 scripts/benchmark.py --models "$models" \
    --dataset adrenal --data-dir .data --epochs 6 >"$out/models_$cache.json" || exit 1
done
cat "$out"/models_*.json
timeout -k 10 "$budget" python3 scripts/benchmark.py --experiment exp3 --dataset adrenal --data-dir .data \
  --jobs 6 >"$out/exp3_adrenal.json" && python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[0]; print({k: r[k] for k in ('models', 'epochs_total', 'wall_s')})" "$out/exp3_adrenal.json"
