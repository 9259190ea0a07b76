#!/usr/bin/env bash
# The study of docs/beyond.md: CNNExp2N4 and LiqExp4N2, seeds 0-2, AdrenalMNIST3D and
# VesselMNIST3D, the paper's protocol against --augment flip,rot90 --class-weight balanced, each
# evaluated with and without test-time augmentation (--tta records both), then the report.
#
# Hours of CPU (24 models to early stopping; about 5 min a CNN and 10 min an LTC model on a quiet
# 2-core AVX2 machine). Resumable: run it again and `lnn-keras run` skips finished models and
# resumes an interrupted one exactly. From the repository root:
#
#     scripts/beyond_study.sh [OUTPUT]          # OUTPUT: default studies/beyond
set -euo pipefail
out=${1:-studies/beyond}
data=${KERAS_LNN_DATA_DIR:-../shared/medmnist}
levers=(--augment flip,rot90 --class-weight balanced)
common=(--seeds 0,1,2 --data-dir "$data" --output "$out" --quiet --tta)
for ds in adrenal vessel; do
  lnn-keras run exp2 --models CNNExp2N4 --dataset "$ds" "${common[@]}"
  lnn-keras run exp2 --models CNNExp2N4 --dataset "$ds" "${levers[@]}" "${common[@]}"
done
for ds in adrenal vessel; do
  lnn-keras run exp4 --models LiqExp4N2 --dataset "$ds" "${common[@]}"
  lnn-keras run exp4 --models LiqExp4N2 --dataset "$ds" "${levers[@]}" "${common[@]}"
done
lnn-keras report "$out" --output docs --name beyond --figures-dir figures/beyond --intro docs/beyond_intro.md \
  --data-dir "$data"
