#!/usr/bin/env bash
# --jobs 2 before (each worker with every core's threads, 2x2) and after (the cores divided, 2x1), per backend,
# side by side; run from the repository root with the background study paused. Records beside this script.
set -euo pipefail
for backend in torch tensorflow; do
  KERAS_BACKEND=$backend python scripts/grid_throughput.py --models CNNExp1N1,LiqExp1N2 \
    --epochs 4 --repeats 2 --ways CxC,Cx1 --data-dir ../shared/medmnist > docs/benchmarks/2026-12-07-grid/jobs-threads-$backend.json
done
