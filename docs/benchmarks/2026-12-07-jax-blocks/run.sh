#!/usr/bin/env bash
# JAX's encoder with its output columns in blocks (CHECKOUT) against whole rows (OLD_CHECKOUT, 3d5e1d5) and the
# paper's code (run by the PyTorch benchmark's --reference), side by side in one run. Run with the study paused,
# from the repository root (the paper's code needs `pip install --target /tmp/refdeps loguru torcheval` first):
#   OLD_CHECKOUT=/tmp/jax-old CHECKOUT=$PWD REPEATS="1 2 3" ORDER=forward bash docs/benchmarks/2026-12-07-jax-blocks/run.sh
#   OLD_CHECKOUT=/tmp/jax-old CHECKOUT=$PWD REPEATS="4 5 6" ORDER=reverse FORMS=no bash docs/benchmarks/2026-12-07-jax-blocks/run.sh
set -u
out=docs/benchmarks/2026-12-07-jax-blocks; mkdir -p $out
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
for size in $([ "${FORMS:-yes}" = yes ] && echo 28 64); do
  python $CHECKOUT/scripts/encoder_forms.py --repeats 10 --size $size --images $((size == 28 ? 1792 : 512)) \
    > $out/encoder-forms-$size.json 2> /dev/null
  echo "encoder-forms-$size rc=$? $(date -u +%T)"
done
run() {  # tag checkout backend [extra...]
  local tag=$1 co=$2 be=$3; shift 3
  PYTHONPATH=/tmp/refdeps:$co KERAS_BACKEND=$be python $co/scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 \
    --dataset adrenal --data-dir ../shared/medmnist --epochs 4 "$@" > $out/$tag.json 2> $out/$tag.err
  local rc=$?; [ $rc = 0 ] && rm -f $out/$tag.err  # start-up noise; kept where the run failed
  echo "$tag rc=$rc $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg)"
}
for rep in ${REPEATS:-1 2 3}; do
  if [ "${ORDER:-forward}" = forward ]; then
    run paper-and-torch-$rep $CHECKOUT torch --reference ../shared/paper/reference_code
    run jax-blocks-$rep $CHECKOUT jax
    run jax-rows-$rep $OLD_CHECKOUT jax
  else
    run jax-rows-$rep $OLD_CHECKOUT jax
    run jax-blocks-$rep $CHECKOUT jax
    run paper-and-torch-$rep $CHECKOUT torch --reference ../shared/paper/reference_code
  fi
done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
