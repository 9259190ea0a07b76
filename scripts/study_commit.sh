#!/usr/bin/env bash
# Commits the records of a study's finished models (a model folder holding metrics.json) and its run
# folders' summary.csv and models.config, and nothing else: a model still training is left out, so a
# clone holds no half-written folder, and a rerun trains it again from its start (seeded: the same result).
#
#     scripts/study_commit.sh STUDY_DIR [MESSAGE]       # from the repository root, e.g. studies/paper
set -euo pipefail
study=${1:?usage: scripts/study_commit.sh STUDY_DIR [MESSAGE]}
paths=()
while IFS= read -r -d '' metrics; do
  paths+=("$(dirname "$metrics")")
done < <(find "$study" -mindepth 3 -maxdepth 3 -name metrics.json -print0)
while IFS= read -r -d '' file; do
  paths+=("$file")
done < <(find "$study" -mindepth 2 -maxdepth 2 \( -name summary.csv -o -name models.config \) -print0)
[ ${#paths[@]} -gt 0 ] || { echo "nothing finished in $study"; exit 0; }
git add -- "${paths[@]}"
if git diff --cached --quiet -- "$study"; then
  echo "no new records in $study"; exit 0
fi
finished=$(find "$study" -mindepth 3 -maxdepth 3 -name metrics.json | wc -l)
git commit -q -m "${2:-$study: records of $finished finished models}" -- "$study"
echo "committed: $finished finished models in $study"
