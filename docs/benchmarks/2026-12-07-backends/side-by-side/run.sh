#!/usr/bin/env bash
# The backends side by side in one run: the paper's code, keras-lnn at 250bd9c (OLD_CHECKOUT) and at f85d7b9 (CHECKOUT).
# Run with the study paused. Output: docs/benchmarks/2026-12-07-backends/side-by-side/*.json
set -u
out=docs/benchmarks/2026-12-07-backends/side-by-side; mkdir -p $out
run() {  # tag checkout backend [extra...]
  local tag=$1 co=$2 be=$3; shift 3
  PYTHONPATH=/tmp/refdeps:$co KERAS_BACKEND=$be python $co/scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 \
    --dataset adrenal --data-dir ../shared/medmnist --epochs 4 "$@" > $out/$tag.json 2> $out/$tag.err
  echo "$tag rc=$? $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
}
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in 1 2 3; do
  run torch-new-$rep CHECKOUT torch --reference ../shared/paper/reference_code
  run torch-old-$rep OLD_CHECKOUT torch
  run jax-new-$rep CHECKOUT jax
  run jax-old-$rep OLD_CHECKOUT jax
  run tf-new-$rep CHECKOUT tensorflow
done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
