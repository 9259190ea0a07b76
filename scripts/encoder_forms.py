#!/usr/bin/env python
"""The E2 slice encoder's forward and backward pass on one JAX batch, in four forms, side by side.

- `banded`: keras-lnn's form on JAX on a CPU (`keras_lnn.layers.banded.encode`), output columns in
  blocks;
- `banded-whole-rows`: the same, each convolution one product over whole rows (the form before the
  blocks);
- `im2col`: the k x k shifted views of each image stacked, times the kernel as a matrix, channels
  last, with reshape-and-max pooling;
- `xla`: XLA's own `conv_general_dilated` and `reduce_window` (what Keras's layers run).

The same weights and batch (64 volumes x 28 slices of 28 x 28), `jax.jit` of the loss's value and
gradients; the forms alternate within each repeat. It prints JSON (milliseconds per batch: min,
median, max) and asserts nothing but that the forms agree:

    python scripts/encoder_forms.py --repeats 8
"""
import argparse
import json
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from keras_lnn.layers import banded
from keras_lnn.system.machine import machine_facts


def xla_pool(h):
    return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def xla_conv(h, kernel, bias):
    out = jax.lax.conv_general_dilated(h, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return jax.nn.relu(out + bias)


def im2col_conv(h, kernel, bias):
    size, _, channels, filters = kernel.shape
    n, height, width, _ = h.shape
    out_h, out_w = height - size + 1, width - size + 1
    views = jnp.stack([h[:, i:i + out_h, j:j + out_w] for i in range(size) for j in range(size)], axis=3)
    out = views.reshape(-1, size * size * channels) @ kernel.reshape(size * size * channels, filters)
    return jax.nn.relu(out + bias).reshape(n, out_h, out_w, filters)


def reshape_pool(h):
    n, height, width, channels = h.shape
    return h.reshape(n, height // 2, 2, width // 2, 2, channels).max(axis=(2, 4))


def encoders():
    def with_layers(conv, pool):
        return lambda w, x: pool(conv(pool(conv(x, w[0], w[1])), w[2], w[3])).reshape(x.shape[0], -1)

    steps = lambda w: [("conv", w[0], w[1], True), ("pool",), ("conv", w[2], w[3], True), ("pool",)]  # noqa: E731
    return {"banded": lambda w, x: banded.encode(steps(w), x, True),
            "banded-whole-rows": lambda w, x: banded.encode(steps(w), x, True, split_columns=False),
            "im2col": with_layers(im2col_conv, reshape_pool),
            "xla": with_layers(xla_conv, xla_pool)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--images", type=int, default=64 * 28, help="images per batch (a batch's slices)")
    parser.add_argument("--size", type=int, default=28, help="slice height and width (28 or 64)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.uniform(0, 1, size=(args.images, args.size, args.size, 1)), dtype=jnp.float32)
    weights = tuple(jnp.asarray(rng.normal(scale=0.3, size=shape), dtype=jnp.float32)
                    for shape in ((5, 5, 1, 6), (6,), (3, 3, 6, 16), (16,)))
    features = 16 * (((args.size - 4) // 2 - 2) // 2) ** 2  # E2's output per slice
    target = jnp.asarray(rng.normal(size=(args.images, features)), dtype=jnp.float32)
    steps = {name: jax.jit(jax.value_and_grad(lambda w, x, f=f: jnp.mean((f(w, x) - target) ** 2)))
             for name, f in encoders().items()}
    reference = steps["xla"](weights, x)
    for name, step in steps.items():
        for got, expected in zip(jax.tree.leaves(step(weights, x)), jax.tree.leaves(reference)):
            scale = float(jnp.max(jnp.abs(expected)))
            if float(jnp.max(jnp.abs(got - expected))) > 1e-4 * max(scale, 1.0):
                raise SystemExit(f"{name} disagrees with XLA's layers")
    times = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            jax.block_until_ready(step(weights, x))
            times[name].append(round((time.perf_counter() - start) * 1000, 1))
    print(json.dumps({"ms_per_batch": {name: {"min": min(t), "median": statistics.median(t), "max": max(t)}
                                       for name, t in times.items()},
                      "images": args.images, "size": args.size, "repeats": args.repeats, "jax": jax.__version__,
                      "date": time.strftime("%Y-%m-%d %H:%M"), "command": " ".join(sys.argv), **machine_facts()},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
