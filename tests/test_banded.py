"""`keras_lnn.layers.banded` (the JAX slice encoder) against XLA's own convolution and max pooling.

Pure JAX, so it runs in process under any Keras backend; tests/layer_equivalence.py compares the
same path with Keras's layers inside models on the JAX backend.
"""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from keras_lnn.layers import banded  # noqa: E402


def _xla_pool(h):
    return jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def _xla_encoder(steps, images, flatten):
    """The reference: `conv_general_dilated`, bias, ReLU, then `reduce_window` pooling (Keras's order)."""
    h = images
    for step in steps:
        if step[0] == "conv":
            _, kernel, bias, relu = step
            h = jax.lax.conv_general_dilated(h, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = h if bias is None else h + bias
            h = jax.nn.relu(h) if relu else h
        else:
            h = _xla_pool(h)
    return h.reshape(h.shape[0], -1) if flatten else h


def _steps(rng, spec):
    steps, channels = [], 1
    for item in spec:
        if item == "pool":
            steps.append(("pool",))
        else:
            filters, size = item
            kernel = jnp.asarray(rng.normal(scale=0.3, size=(size, size, channels, filters)), dtype=jnp.float32)
            bias = jnp.asarray(rng.normal(scale=0.3, size=filters), dtype=jnp.float32)
            steps.append(("conv", kernel, bias, True))
            channels = filters
    return steps


@pytest.mark.parametrize("spec, size, flatten", [
    ([(6, 5), "pool", (16, 3), "pool"], 28, True),                       # E2
    ([(6, 5), "pool", (16, 3), "pool"], 40, True),                       # E2, three column blocks
    ([(6, 5), (6, 5), "pool", (16, 3), (16, 3)], 28, True),             # E4b: a convolution without pooling last
    ([(3, 3), "pool", "pool", (4, 2)], 17, False),                      # odd sizes, a pooling after a pooling
])
def test_encode_computes_xlas_convolutions_and_poolings(spec, size, flatten):
    rng = np.random.default_rng(0)
    steps = _steps(rng, spec)
    images = rng.uniform(0, 1, size=(4, size, size, 1)).astype("float32")
    images[:, :, : size // 2] = 0.0  # exact zeros: tied pooling windows
    images = jnp.asarray(images)
    weights = [step[1:3] for step in steps if step[0] == "conv"]

    def loss(encoder, weights, images):
        it = iter(weights)
        rebuilt = [("conv", *next(it), True) if step[0] == "conv" else step for step in steps]
        out = encoder(rebuilt, images, flatten)
        return jnp.sum(out * jnp.cos(jnp.arange(out.size, dtype=out.dtype).reshape(out.shape)))

    expected = _xla_encoder(steps, images, flatten)
    got = banded.encode(steps, images, flatten)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    gradients = jax.jit(jax.grad(loss, argnums=(1, 2)), static_argnums=0)  # compiled: op by op is slower here
    grads = gradients(banded.encode, weights, images)
    reference = gradients(_xla_encoder, weights, images)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(b))))


def test_first_max_routes_the_gradient_to_the_first_maximum_as_xla_does():
    # Every 2x2 window tied in a different pattern; reduce_window's gradient is the reference.
    patterns = np.array([[[1, 1], [1, 1]], [[0, 2], [2, 2]], [[0, 0], [3, 3]], [[0, 1], [0, 1]], [[5, 0], [0, 5]]],
                        dtype="float32")
    image = jnp.asarray(np.concatenate(patterns, axis=1)[None, :, :, None])  # (1, 2, 10, 1)
    blocks = jnp.transpose(image.reshape(1, 1, 2, 5, 2, 1), (2, 0, 1, 4, 3, 5)).reshape(2, 1, 2, 5)

    def routed(x):
        return jax.grad(lambda b: jnp.sum(banded.first_max(b) * jnp.arange(1.0, 6.0)))(x)

    def xla(x):
        return jax.grad(lambda b: jnp.sum(_xla_pool(b)[0, 0, :, 0] * jnp.arange(1.0, 6.0)))(x)

    ours = jnp.transpose(routed(blocks).reshape(2, 1, 2, 5, 1), (1, 0, 3, 2, 4)).reshape(1, 2, 10, 1)
    np.testing.assert_array_equal(banded.first_max(blocks)[0], _xla_pool(image)[0, 0, :, 0])
    np.testing.assert_array_equal(ours, xla(image))
    # One gradient per window, all of it on one element: ties are not split.
    assert sorted(np.asarray(ours).ravel().tolist()) == [0.0] * 15 + [1.0, 2.0, 3.0, 4.0, 5.0]


def test_the_banded_path_is_for_jax_on_a_cpu(monkeypatch):
    import keras

    from keras_lnn.layers import ConvPoolPath, conv_path

    encoder = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(6, 5, activation="relu"),
                                keras.layers.MaxPooling2D(2), keras.layers.Flatten()])
    monkeypatch.setattr(conv_path, "jax_on_accelerator", lambda: False)
    assert ConvPoolPath.of(encoder, backend="jax") is not None
    monkeypatch.setattr(conv_path, "jax_on_accelerator", lambda: True)  # a GPU: Keras's layers (cuDNN)
    assert ConvPoolPath.of(encoder, backend="jax") is None
    assert ConvPoolPath.of(encoder, backend="torch") is not None
