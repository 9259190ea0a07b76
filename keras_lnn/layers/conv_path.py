"""The slice encoder's convolutions and poolings, computed the way each backend runs them fastest.

`ConvPoolPath` recognises a `keras.Sequential` of valid, unit-stride `Conv2D`
layers (ReLU or no activation), 2x2 `MaxPooling2D` layers and a final `Flatten`,
and computes the same function with the same weights, reading the layers' own
variables, so gradients reach them as through the layers. Nothing is saved: the
model's config and `.keras` files are those of the Keras layers.

- PyTorch: `torch.nn.functional` in channels-first order, transposed once on the
  way in and once on the way out, in chunks of `TORCH_CHUNK` images that stay in
  cache. Keras's own layers transpose the whole batch to channels-first and back
  around every convolution and pooling.
- JAX: each convolution as one matrix product with a banded kernel matrix, on
  rows of channels-last images, with the pooling folded into the product's
  layout (`keras_lnn.layers.banded`, which says why). XLA:CPU's convolutions and
  `reduce_window` pooling took 4x as long on these small kernels (`scripts/encoder_forms.py`).
- TensorFlow, and JAX on a GPU: Keras's own layers (oneDNN's and cuDNN's
  kernels). On a GPU, PyTorch runs the whole batch at once.

The sums run in another order, so results agree within float rounding.
"""
import keras
from keras import ops

from keras_lnn.layers.common import jax_on_accelerator

_RELU = keras.activations.get("relu")
_LINEAR = keras.activations.get("linear")
BACKENDS = ("jax", "torch")


def _conv_supported(layer):
    return (type(layer) is keras.layers.Conv2D and layer.strides == (1, 1) and layer.padding == "valid"
            and layer.dilation_rate == (1, 1) and layer.groups == 1 and layer.data_format == "channels_last"
            and layer.activation in (_RELU, _LINEAR) and layer.built)


def _pool_supported(layer):
    return (type(layer) is keras.layers.MaxPooling2D and layer.pool_size == (2, 2) and layer.strides == (2, 2)
            and layer.padding == "valid" and layer.data_format == "channels_last")


class ConvPoolPath:
    """The backend's fast computation of a Sequential of convolutions and poolings, or None where it has none.

    Args:
        layers: the Sequential's layers, in order.
        backend: "jax" or "torch" (default: the Keras backend in use).

    Example:

    >>> encoder = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(6, 5, activation="relu"),
    ...                             keras.layers.MaxPooling2D(2), keras.layers.Flatten()])
    >>> path = ConvPoolPath.of(encoder)  # None on TensorFlow
    >>> x = keras.ops.zeros((4, 28, 28, 1))
    >>> tuple((path(x) if path else encoder(x)).shape)
    (4, 864)
    """

    def __init__(self, layers, backend=None):
        self.layers = list(layers)
        self.backend = backend or keras.backend.backend()

    @classmethod
    def of(cls, sequential, backend=None):
        """The path for `sequential`, or None if the backend or one of its layers has none."""
        backend = backend or keras.backend.backend()
        layers = getattr(sequential, "layers", None)
        if backend not in BACKENDS or not isinstance(sequential, keras.Sequential) or not layers:
            return None
        if backend == "jax" and jax_on_accelerator():
            return None
        *body, last = layers
        body = body if isinstance(last, keras.layers.Flatten) else layers
        if not all(_conv_supported(layer) or _pool_supported(layer) for layer in body):
            return None
        if not any(isinstance(layer, keras.layers.Conv2D) for layer in body):
            return None
        return cls(layers, backend)

    @property
    def flatten(self):
        return isinstance(self.layers[-1], keras.layers.Flatten)

    def __call__(self, images):
        """The Sequential's outputs for `images` `(n, height, width, channels)`."""
        if self.backend == "torch":
            return _torch_channels_first(self.layers, images, self.flatten)
        from keras_lnn.layers import banded

        return banded.encode(_jax_steps(self.layers), images, self.flatten)


def _conv_weights(layer):
    kernel = ops.convert_to_tensor(layer.kernel)
    bias = ops.convert_to_tensor(layer.bias) if layer.use_bias else None
    return kernel, bias


# Images per pass on PyTorch: a batch's 1,792 slices at once stream every intermediate (25 MB after
# the first convolution) through memory; in chunks of 128-256 they stay in cache. The E2 encoder's
# forward and backward pass on one batch, 2-core AMD EPYC, 2026-12-07 (min-median of 5): 63-87 ms in
# such chunks, 120-151 ms at once; CNNExp1N1's epoch went from 1.51 to 1.09 s (docs/performance.md).
TORCH_CHUNK = 256


def _torch_channels_first(layers, images, flatten):
    """PyTorch's own convolution and pooling on channels-first copies of the batch, a chunk at a time on a CPU."""
    import torch

    h = ops.convert_to_tensor(images).permute(0, 3, 1, 2)
    pieces = h.split(TORCH_CHUNK) if h.device.type == "cpu" else [h]
    chunks = [_torch_layers(layers, chunk.contiguous()) for chunk in pieces]
    h = (torch.cat(chunks) if len(chunks) > 1 else chunks[0]).permute(0, 2, 3, 1)
    return h.reshape(h.shape[0], -1) if flatten else h.contiguous()


def _torch_layers(layers, h):
    """The layers on channels-first `h`; each ReLU waits until the poolings after its convolution:
    `max(relu(z)) = relu(max(z))`, with the same gradient, on a quarter of the values."""
    import torch.nn.functional as F

    relu = False
    for layer in layers:
        if isinstance(layer, keras.layers.Conv2D):
            h = F.relu(h) if relu else h
            kernel, bias = _conv_weights(layer)
            h = F.conv2d(h, kernel.permute(3, 2, 0, 1), bias)
            relu = layer.activation is _RELU
        elif isinstance(layer, keras.layers.MaxPooling2D):
            h = F.max_pool2d(h, 2)
    return F.relu(h) if relu else h


def _jax_steps(layers):
    """The layers as `keras_lnn.layers.banded.encode` takes them."""
    steps = []
    for layer in layers:
        if isinstance(layer, keras.layers.Conv2D):
            steps.append(("conv", *_conv_weights(layer), layer.activation is _RELU))
        elif isinstance(layer, keras.layers.MaxPooling2D):
            steps.append(("pool",))
    return steps
