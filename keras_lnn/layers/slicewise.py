"""SliceWise: one layer applied to every slice of a volume."""
import keras
from keras import ops

from keras_lnn.layers.common import PACKAGE
from keras_lnn.layers.conv_path import ConvPoolPath


@keras.saving.register_keras_serializable(package=PACKAGE)
class SliceWise(keras.layers.Wrapper):
    """Applies a layer to every slice of a volume, with shared weights.

    Computes what `keras.layers.TimeDistributed` computes, but folds the slice
    axis into the batch axis so the wrapped layer runs once on `batch * slices`
    images instead of once per slice (Keras 3's TimeDistributed unrolls a Python
    loop over the slices, which is many times slower to run and to compile).
    On PyTorch, and on JAX on a CPU, a Sequential of convolutions, 2x2 max poolings
    and a final Flatten is computed by `ConvPoolPath` (the same function with the
    same weights, in the form the backend runs fastest); any other layer by itself.

    Args:
        layer: the layer (or `keras.Sequential`) to apply to each slice. It
            receives inputs of shape `(batch * slices, *slice_shape)`.
        **kwargs: base layer keyword arguments, such as `name`.

    Example:

    >>> encoder = keras.Sequential([keras.layers.Conv2D(6, 5), keras.layers.Flatten()])
    >>> x = keras.ops.zeros((2, 28, 28, 28, 1))  # (batch, slices, height, width, channels)
    >>> tuple(SliceWise(encoder)(x).shape)
    (2, 28, 3456)
    """

    def build(self, input_shape):
        self.layer.build((None, *input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape):
        slice_output = self.layer.compute_output_shape((None, *input_shape[2:]))
        return (input_shape[0], input_shape[1], *slice_output[1:])

    def call(self, inputs, training=None):
        slices = inputs.shape[1]
        folded = ops.reshape(inputs, (-1, *inputs.shape[2:]))
        path = ConvPoolPath.of(self.layer)
        outputs = path(folded) if path else self.layer(folded, training=training)
        return ops.reshape(outputs, (-1, slices, *outputs.shape[1:]))
