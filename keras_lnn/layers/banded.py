"""The slice encoder on JAX: each convolution a few matrix products with banded kernel matrices.

On XLA:CPU the encoder's time went into moving data, not multiplying: in a
profile of the training step (`scripts/profile_step.py`), im2col's 25 shifted
copies of every slice and the gradient of its pooling took 5 of the 8 seconds of
kernels per epoch, the products 0.2 s; XLA's own `conv_general_dilated` and
`reduce_window` took 4x this form's time on one batch
(`scripts/encoder_forms.py`), while a plain matrix product runs at 90-170 GFLOP/s
on two cores (docs/performance.md). So this form spends FLOPs to save copies:

- **Rows, channels last.** A batch of images is `(n, height, width * channels)`:
  a free reshape of Keras's `(n, height, width, channels)`, and the order of
  Keras's `Flatten`, so nothing is transposed on the way in or out.
- **A banded kernel matrix.** An output row is the sum over kernel
  rows `i` of input row `r + i` times a banded matrix; stacking the `k` input
  rows side by side makes it one product, `(n * rows, k * width * channels) @
  (k * width * channels, out_width * filters)`. The band is built from the
  kernel by one small product with a constant 0/1 tensor, so gradients reach the
  `Conv2D` layer's own kernel. Only `k` copies of each row are stacked (im2col
  stacks `k * k`), at the price of multiplying the band's zeros: 5.6x the FLOPs
  of the first E2 convolution, which XLA's product still runs faster than the
  copies it replaces.
- **Output columns in blocks.** A band over the whole row is mostly zeros (the
  first E2 convolution's is 18% filled), so the output columns are split into
  runs of about `3 * (k - 1)` (`column_blocks`), each a product of its own with
  the input columns it reads: a narrower stack and a fuller band (31% and 38%
  filled for E2's first convolution, 38% and 50% for its second, at 1.14x and
  1.17x the stacked copies: the input columns where blocks overlap are stacked twice).
  Fewer columns per block copy more input, more columns multiply more zeros; two
  or three blocks for E2's first convolution timed alike in a probe. On one E2
  batch (forward and backward, `scripts/encoder_forms.py`, median of 10) the
  blocks took 102 ms where whole rows took 111 ms, on 64 x 64 slices 210 ms
  where whole rows took 323 ms; CNNExp1N1's epoch was 1.34x faster
  (docs/performance.md).
- **Pooling folded into the product's layout.** Where a 2x2 pooling follows, the
  output rows are produced in two blocks (even rows, odd rows) and the output
  columns in two (even columns, odd columns), so the pooling is the maximum of
  four contiguous blocks, not a reduction over strided windows. Rows and columns
  that the pooling drops (odd sizes) are not computed.
- **Bias and ReLU after the pooling.** `max(relu(z + b)) = relu(max(z) + b)`:
  both are monotone, so the pooling can run on the product's output and the bias
  and ReLU on a quarter of the values.
- **The pooling's gradient goes to the first maximum** of its window in row-major
  order (a `custom_vjp`), as TensorFlow's, PyTorch's and XLA's own max pooling
  route it. `jnp.max`'s gradient would split ties, which exact zeros in a scan's
  background make common.

The sums run in another order than Keras's layers, so results agree within
float rounding (tests/layer_equivalence.py: outputs and gradients, with and
without ties).
"""
import jax
import jax.numpy as jnp
import numpy as np


def encode(convs_and_pools, images, flatten, split_columns=True):
    """The Sequential's outputs for `images` `(n, height, width, channels)`.

    Args:
        convs_and_pools: the layers, each `("conv", kernel, bias, relu)` (kernel
            `(k, k, channels, filters)`, bias or None) or `("pool",)`.
        images: the batch.
        flatten: whether the Sequential ends in `Flatten`.
        split_columns: the output columns in blocks (`column_blocks`); False makes each
            convolution one product over whole rows (the form before, for benchmarks).
    """
    n, height, width, channels = images.shape
    h = jnp.reshape(images, (n, height, width * channels))
    steps = list(convs_and_pools)
    while steps:
        step = steps.pop(0)
        if step[0] == "conv":
            pooled = bool(steps) and steps[0][0] == "pool"
            steps = steps[1:] if pooled else steps
            h, width, channels = _conv_rows(h, width, channels, *step[1:], pooled=pooled, split=split_columns)
        else:
            h, width = _pool_rows(h, width, channels), width // 2
    return jnp.reshape(h, (n, -1)) if flatten else jnp.reshape(h, (n, h.shape[1], width, channels))


def _band(kernel, width, out_columns):
    """`(k * width * channels, len(out_columns) * filters)`: entry `((i, w, c), (o, f))` is
    `kernel[i, w - out_columns[o], c, f]` where that index is inside the kernel, else 0."""
    rows, cols, channels, filters = kernel.shape
    select = np.zeros((cols, width, len(out_columns)), dtype=kernel.dtype)
    for o, column in enumerate(out_columns):
        select[np.arange(cols), column + np.arange(cols), o] = 1
    band = jnp.einsum("ijcf,jwo->iwcof", kernel, select)
    return jnp.reshape(band, (rows * width * channels, len(out_columns) * filters))


def column_blocks(out_width, kernel_width, pool=1):
    """The output columns as `(start, stop)` runs of about `3 * (kernel_width - 1)` columns (at least 4).

    Columns are counted after a `pool`-wide pooling, so a run never splits a pooling window.

    Example:

    >>> column_blocks(12, 5, pool=2)  # E2's first convolution: 24 columns, pooled to 12
    [(0, 6), (6, 12)]
    >>> column_blocks(5, 3, pool=2)   # its second: 10 columns, pooled to 5
    [(0, 3), (3, 5)]
    >>> column_blocks(30, 5, pool=2)  # a 64-wide slice
    [(0, 6), (6, 12), (12, 18), (18, 24), (24, 30)]
    """
    span = max(1, round(max(3 * (kernel_width - 1), 4) / pool))
    count = max(1, min(out_width, round(out_width / span)))
    edges = [-(-i * out_width // count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _conv_rows(h, width, channels, kernel, bias, relu, pooled, split):
    """A valid, unit-stride convolution of rows `h` `(n, height, width * channels)`, then the 2x2
    pooling if `pooled`; returns the new rows, width and channels."""
    n, height, _ = h.shape
    rows, cols, _, filters = kernel.shape
    pool = 2 if pooled else 1
    out_h, out_w = (height - rows + 1) // pool, (width - cols + 1) // pool
    parts = []
    for start, stop in column_blocks(out_w, cols, pool) if split else [(0, out_w)]:
        first, last = pool * start, pool * stop + cols - 1  # the input columns the block reads
        piece = h[:, :, first * channels: last * channels]
        if pooled:
            # Block p holds output rows 2r + p; within it, input rows 2r + p + i for i < rows.
            stacked = jnp.stack([jnp.stack([piece[:, p + i: p + i + 2 * out_h - 1: 2] for i in range(rows)], axis=2)
                                 for p in (0, 1)])
            columns = [2 * o + q for q in (0, 1) for o in range(stop - start)]
            y = jnp.reshape(stacked, (2 * n * out_h, -1)) @ _band(kernel, last - first, columns)
            parts.append(first_max(jnp.reshape(y, (2, n * out_h, 2, (stop - start) * filters))))
        else:
            stacked = jnp.stack([piece[:, i:i + out_h] for i in range(rows)], axis=2)
            columns = list(range(stop - start))
            parts.append(jnp.reshape(stacked, (n * out_h, -1)) @ _band(kernel, last - first, columns))
    y = jnp.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]
    y = y if bias is None else y + jnp.tile(bias, out_w)
    y = jax.nn.relu(y) if relu else y
    return jnp.reshape(y, (n, out_h, out_w * filters)), out_w, filters


def _pool_rows(h, width, channels):
    """A 2x2 pooling of rows `h` that no convolution precedes (a copy into the blocks' layout)."""
    n, height, _ = h.shape
    out_h, out_w = height // 2, width // 2
    windows = jnp.reshape(h[:, : 2 * out_h, : 2 * out_w * channels], (n, out_h, 2, out_w, 2, channels))
    blocks = jnp.reshape(jnp.transpose(windows, (2, 0, 1, 4, 3, 5)), (2, n * out_h, 2, out_w * channels))
    return jnp.reshape(first_max(blocks), (n, out_h, out_w * channels))


def _window_max(blocks):
    return jnp.maximum(jnp.maximum(blocks[0, :, 0], blocks[0, :, 1]), jnp.maximum(blocks[1, :, 0], blocks[1, :, 1]))


@jax.custom_vjp
def first_max(blocks):
    """The maximum over axes 0 and 2 of `blocks` `(2, m, 2, l)`: a 2x2 window's row and column.

    Its gradient goes to the first maximum in the order (0, 0), (0, 1), (1, 0), (1, 1).

    Example:

    >>> blocks = jnp.zeros((2, 1, 2, 1)).at[1, 0, 0, 0].set(3.0)
    >>> float(first_max(blocks)[0, 0])
    3.0
    >>> jax.grad(lambda b: first_max(b).sum())(jnp.zeros((2, 1, 2, 1)))[:, 0, :, 0].tolist()
    [[1.0, 0.0], [0.0, 0.0]]
    """
    return _window_max(blocks)


def _first_max_forward(blocks):
    top = _window_max(blocks)
    return top, (blocks, top)


def _first_max_backward(saved, grad):
    blocks, top = saved
    taken = jnp.zeros(top.shape, dtype=bool)
    parts = []
    for p in (0, 1):
        for q in (0, 1):
            hit = (blocks[p, :, q] == top) & ~taken
            taken = taken | hit
            parts.append(jnp.where(hit, grad, jnp.zeros_like(grad)))
    return (jnp.stack([jnp.stack(parts[:2], axis=1), jnp.stack(parts[2:], axis=1)]),)


first_max.defvjp(_first_max_forward, _first_max_backward)
