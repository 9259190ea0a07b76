#!/usr/bin/env bash
# The paper study's whole queue (studies/README.md), in order, each part from a git worktree fixed at its commit,
# so that code changed meanwhile does not mix into it; records go to this checkout's studies/:
#   1. the paper's 30 models on Adrenal and Vessel, seeds 0-2 (studies/paper, commit 25eb8f2);
#   2. the diagnostic exp5-across-batch, the paper's LSTM/RNN baselines as its code ran them
#      (studies/paper-across-batch, commit e87f247, the first to have it);
#   3. exp6, CfC and mixed-memory LTC (studies/paper, commit 25eb8f2).
#
#     nohup setsid nice -n 19 scripts/paper_queue.sh [WORKDIR] > paper_queue.log 2>&1 &
#
# Run it from the repository root. WORKDIR (default: the folder above the checkout) holds the worktrees
# (study, study-diag) and their virtual environments (venv-study, venv-study-diag); missing ones are
# made (the README's install into each). Resumable: run it again after a restart; finished models are
# skipped and an interrupted one resumes from its checkpoint. Commit the records as they come:
# scripts/study_commit.sh studies/paper (and studies/paper-across-batch).
#
# Lanes: QUEUE_LANES (default: the usable cores) processes each walk the whole queue with one model at a
# time and one TensorFlow thread, the same worker settings as `--jobs 2` (and the same records:
# versions.threads). A model another lane trains is busy (its lock) and skipped, so the lanes share
# the queue's models as a pool's workers would; unlike one `--jobs` pool per part, a lane that finds
# nothing left in one part goes on to the next instead of leaving its core idle while the other lane
# trains the part's last model (one Vessel LTC model takes up to 85 minutes). Each lane logs to
# WORKDIR/logs/paper_queue_lane_N.log.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
work=$(readlink -f "${1:-$root/..}")
export KERAS_LNN_DATA_DIR=${KERAS_LNN_DATA_DIR:-$(readlink -f "$root/../shared/medmnist")}

prepare() {  # NAME COMMIT: the worktree $work/NAME at COMMIT and its venv $work/venv-NAME
  local tree=$work/$1 venv=$work/venv-$1
  [ -d "$tree" ] || git -C "$root" worktree add --detach "$tree" "$2"
  [ "$(git -C "$tree" rev-parse --short=7 HEAD)" = "$2" ] || { echo "$tree is not at $2" >&2; exit 1; }
  [ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q -e "$tree[test]"; }
}

study() {  # NAME OUTPUT [EXPERIMENT]: scripts/paper_study.sh of worktree NAME into studies/OUTPUT
  (cd "$work/$1" && LNN_KERAS="$work/venv-$1/bin/python -m keras_lnn.cli" \
     scripts/paper_study.sh "$root/studies/$2" "${@:3}")
}

lane() {  # the whole queue, one model at a time
  study study paper
  study study-diag paper-across-batch exp5-across-batch
  study study paper exp6
}

prepare study 25eb8f2
prepare study-diag e87f247
export STUDY_JOBS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
mkdir -p "$work/logs"
lanes=${QUEUE_LANES:-$(nproc)}
for n in $(seq 1 "$lanes"); do
  lane > "$work/logs/paper_queue_lane_$n.log" 2>&1 &  # two lanes racing for one model: the locks let one in
done
wait
echo "the paper study's queue finished: $(date -u)"
