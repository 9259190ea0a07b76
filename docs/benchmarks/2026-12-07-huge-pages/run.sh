#!/usr/bin/env bash
# glibc's huge pages (glibc.malloc.hugetlb=1, keras_lnn.system.allocator) on and off, every backend, side by side:
# scripts/benchmark.py alternates the two settings within each repeat, each training in a fresh process. `on` forces the
# tunable on every backend (`lnn-keras run` sets it on JAX only: these records are why).
# Run with the study paused, from the repository root: bash docs/benchmarks/2026-12-07-huge-pages/run.sh
set -u
out=docs/benchmarks/2026-12-07-huge-pages; mkdir -p $out
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) thp $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
for be in jax torch tensorflow; do
  KERAS_BACKEND=$be python scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 --dataset adrenal \
    --data-dir ../shared/medmnist --epochs 4 --repeats 3 --huge-pages on,off > $out/$be.json 2> $out/$be.err
  rc=$?; [ $rc = 0 ] && rm -f $out/$be.err
  echo "$be rc=$rc $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
