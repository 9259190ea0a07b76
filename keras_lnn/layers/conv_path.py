"""The slice encoder's convolutions and poolings, computed the way each backend runs them fastest.

`ConvPoolPath` recognises a `keras.Sequential` of valid, unit-stride `Conv2D`
layers (ReLU or no activation), 2x2 `MaxPooling2D` layers and a final `Flatten`,
and computes the same function with the same weights, reading the layers' own
variables, so gradients reach them as through the layers. Nothing is saved: the
model's config and `.keras` files are those of the Keras layers.

- PyTorch: `torch.nn.functional` in channels-first order, transposed once on the
  way in and once on the way out. Keras's own layers transpose the batch to
  channels-first and back around every convolution and pooling.
- JAX: each convolution as one matrix product (the kernel as a matrix times the
  stacked shifted views of the image, channels first) and each pooling as a
  reshape and a max. XLA:CPU's convolutions and `reduce_window` pooling are
  several times slower on these small kernels.
- TensorFlow: Keras's own layers (oneDNN's kernels are the fastest there).

The sums run in another order, so results agree within float rounding.
"""
import keras
from keras import ops

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
        compute = _torch_channels_first if self.backend == "torch" else _matrix_channels_first
        return compute(self.layers, images, self.flatten)


def _conv_weights(layer):
    kernel = ops.convert_to_tensor(layer.kernel)
    bias = ops.convert_to_tensor(layer.bias) if layer.use_bias else None
    return kernel, bias


def _torch_channels_first(layers, images, flatten):
    """PyTorch's own convolution and pooling on a channels-first copy of the batch."""
    import torch.nn.functional as F

    h = ops.convert_to_tensor(images).permute(0, 3, 1, 2).contiguous()
    for layer in layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = _conv_weights(layer)
            h = F.conv2d(h, kernel.permute(3, 2, 0, 1), bias)
            h = F.relu(h) if layer.activation is _RELU else h
        elif isinstance(layer, keras.layers.MaxPooling2D):
            h = F.max_pool2d(h, 2)
    h = h.permute(0, 2, 3, 1)
    return h.reshape(h.shape[0], -1) if flatten else h.contiguous()


def _matrix_channels_first(layers, images, flatten):
    """Convolutions as matrix products and poolings as reshape-and-max, on `(channels, n, height, width)`."""
    h = ops.transpose(images, (3, 0, 1, 2))
    for layer in layers:
        if isinstance(layer, keras.layers.Conv2D):
            h = _matrix_conv(layer, h)
        elif isinstance(layer, keras.layers.MaxPooling2D):
            channels, n, height, width = h.shape
            h = h[:, :, : height // 2 * 2, : width // 2 * 2]
            h = ops.max(ops.reshape(h, (channels, n, height // 2, 2, width // 2, 2)), axis=(3, 5))
    h = ops.transpose(h, (1, 2, 3, 0))
    return ops.reshape(h, (-1, h.shape[1] * h.shape[2] * h.shape[3])) if flatten else h


def _matrix_conv(layer, h):
    """A valid, unit-stride convolution of `h` `(channels, n, height, width)`: the kernel as a
    `(filters, k * k * channels)` matrix times the `k * k` shifted views stacked in the kernel's order."""
    kernel, bias = _conv_weights(layer)
    rows, cols, channels, filters = kernel.shape
    _, n, height, width = h.shape
    out_h, out_w = height - rows + 1, width - cols + 1
    views = [h[:, :, i:i + out_h, j:j + out_w] for i in range(rows) for j in range(cols)]
    stacked = ops.reshape(ops.stack(views, axis=0), (rows * cols * channels, -1))
    out = ops.matmul(ops.transpose(ops.reshape(kernel, (rows * cols * channels, filters))), stacked)
    out = out if bias is None else out + ops.expand_dims(bias, -1)
    out = ops.relu(out) if layer.activation is _RELU else out
    return ops.reshape(out, (filters, -1, out_h, out_w))
