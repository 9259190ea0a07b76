#!/usr/bin/env bash
# Trains the study grid (exp1..exp5 x adrenal, vessel x seeds 0,1,2) on the lent GPU machine
# for at most SECONDS, then packs what it has under $OUT. Unfinished models stop with SIGTERM and
# resume from their last finished epoch, so calls can follow one another (carry the unpacked
# study folder to continue on a fresh machine).
#
# Here:   ../shared/gpu/prepare.sh
# There:  bash scripts/gpu_study.sh SECONDS JOBS_PER_DATASET      (carry: .whl .data [saved_models/study-gpu])
# Then:   tar xzf <files_at>/study.tar.gz -C saved_models
#         lnn-keras report saved_models/study-gpu --output docs --name results \
#             --intro docs/results_intro.md --data-dir ../shared/medmnist
set -uo pipefail
budget=${1:-480}
jobs=${2:-7}
out=${OUT:-/tmp/gpu-study-out}
study=saved_models/study-gpu
mkdir -p "$out" "$study"

python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2
export JAX_COMPILATION_CACHE_DIR=$PWD/saved_models/.jax-cache XLA_PYTHON_CLIENT_PREALLOCATE=false

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/machine.txt"
nproc | tee -a "$out/machine.txt"

# Many small models, one GPU: MPS lets the kernels of the training processes run side by side
# instead of time-slicing the GPU between them. Fall back to plain sharing if it does not start.
if command -v nvidia-cuda-mps-control >/dev/null \
   && { nvidia-cuda-mps-control -d || echo get_server_list | nvidia-cuda-mps-control >/dev/null; }; then  # started, or already up
  if timeout 90 python3 -c "import jax, jax.numpy as jnp; print(jax.devices(), float(jnp.ones(3).sum()))"; then
    echo "MPS: on" | tee -a "$out/machine.txt"
  else
    echo quit | nvidia-cuda-mps-control; sleep 2
    echo "MPS: failed, off" | tee -a "$out/machine.txt"
  fi
else
  echo "MPS: unavailable" | tee -a "$out/machine.txt"
fi

pack() {  # everything but the .keras files: the report needs metrics, histories, settings; backups resume
  tar czf "$out/.study.tar.gz" -C saved_models --exclude=model.keras "$@" study-gpu && mv "$out/.study.tar.gz" "$out/study.tar.gz"
}
# A pack every minute, in case the call is cut off; without the backups, which change while packed.
(while sleep 60; do pack --exclude=backup; done) &
packer=$!

start=$(date +%s)
runs=()
for dataset in adrenal vessel; do
  timeout -k 15 -s TERM "$budget" python3 -m keras_lnn.cli run paper --dataset "$dataset" --seeds 0,1,2 \
    --jobs "$jobs" --data-dir .data --output "$study" --quiet >"$out/run_$dataset.log" 2>&1 &
  runs+=($!)
  sleep 20  # the second process then finds most of the first architectures in the compilation cache
done
wait "${runs[@]}"
echo "trained for $(( $(date +%s) - start )) s"
nvidia-smi --query-gpu=memory.used --format=csv,noheader

kill $packer; wait $packer 2>/dev/null
pack
finished=$(find "$study" -name metrics.json | wc -l)
echo "finished models: $finished / 180"
tail -n 3 "$out"/run_*.log
