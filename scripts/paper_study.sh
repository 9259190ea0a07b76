#!/usr/bin/env bash
# The paper's study afresh (docs/results.md): the paper's 30 models on AdrenalMNIST3D and VesselMNIST3D,
# seeds 0-2 (180 runs), TensorFlow on the CPU, the paper's protocol with deterministic kernels.
#
# About 10-12 hours of a 2-core CPU. Resumable: run it again and `lnn-keras run` skips finished models
# and resumes an interrupted one exactly; studies/README.md says how the study is carried across
# machines (a git worktree fixed at one commit, records committed as models finish).
#
#     scripts/paper_study.sh [OUTPUT] [EXPERIMENT]    # defaults: studies/paper, paper
#
# Environment: KERAS_LNN_DATA_DIR (default ../shared/medmnist); STUDY_JOBS, worker processes
# (default 2; `--jobs` gives each its share of the cores: docs/performance.md, "A grid on a CPU");
# LNN_KERAS, the command (default lnn-keras).
set -euo pipefail
out=${1:-studies/paper}
experiment=${2:-paper}
data=${KERAS_LNN_DATA_DIR:-../shared/medmnist}
jobs=${STUDY_JOBS:-2}
read -r -a lnn <<< "${LNN_KERAS:-lnn-keras}"
for ds in adrenal vessel; do
  "${lnn[@]}" run "$experiment" --dataset "$ds" --seeds 0,1,2 --jobs "$jobs" --data-dir "$data" --output "$out" --quiet
done
