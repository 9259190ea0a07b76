#!/usr/bin/env bash
# Every backend against the paper's code, side by side, as `lnn-keras run` trains (scripts/benchmark.py's default
# --huge-pages auto: glibc's huge pages on JAX). Per repeat: PyTorch with the paper's code after each model, JAX,
# TensorFlow; each training in a fresh process. Run with the study paused, from the repository root (the paper's
# code needs `pip install --target /tmp/refdeps loguru torcheval` first):
#   bash docs/benchmarks/2026-12-07-targets/run.sh
set -u
out=docs/benchmarks/2026-12-07-targets; mkdir -p $out
echo "start $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
run() {  # tag backend [extra...]
  local tag=$1 be=$2; shift 2
  PYTHONPATH=/tmp/refdeps KERAS_BACKEND=$be python scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 \
    --dataset adrenal --data-dir ../shared/medmnist --epochs 4 "$@" > $out/$tag.json 2> $out/$tag.err
  local rc=$?; [ $rc = 0 ] && rm -f $out/$tag.err
  echo "$tag rc=$rc $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
}
for rep in 1 2 3; do
  run paper-and-torch-$rep torch --reference ../shared/paper/reference_code
  run jax-$rep jax
  run tensorflow-$rep tensorflow
done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
