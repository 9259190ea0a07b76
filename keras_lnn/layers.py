"""The few layers keras_lnn adds to Keras and ncps, all serializable with `import keras_lnn`.

Everything here uses `keras.ops` only, so the models run unchanged on the
TensorFlow, JAX and PyTorch backends.
"""
import keras
import ncps.keras
from keras import ops

PACKAGE = "keras_lnn"


@keras.saving.register_keras_serializable(package=PACKAGE)
class SliceWise(keras.layers.Wrapper):
    """Applies a layer to every slice of a volume, with shared weights.

    Computes what `keras.layers.TimeDistributed` computes, but folds the slice
    axis into the batch axis so the wrapped layer runs once on `batch * slices`
    images instead of once per slice (Keras 3's TimeDistributed unrolls a Python
    loop over the slices, which is many times slower to run and to compile).

    Args:
        layer: the layer (or `keras.Sequential`) to apply to each slice. It
            receives inputs of shape `(batch * slices, *slice_shape)`.
        **kwargs: base layer keyword arguments, such as `name`.

    Example:

    >>> encoder = keras.Sequential([keras.layers.Conv2D(6, 5), keras.layers.Flatten()])
    >>> x = keras.ops.zeros((2, 28, 28, 28, 1))  # (batch, slices, height, width, channels)
    >>> SliceWise(encoder)(x).shape
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
        outputs = self.layer(folded, training=training)
        return ops.reshape(outputs, (-1, slices, *outputs.shape[1:]))


def _cast_to_declared_dtypes(layer):
    """Makes every weight's value carry the dtype the weight declares.

    ncps wirings initialize the reversal potentials (`erev`, `sensory_erev`)
    with integer arrays. TensorFlow and PyTorch cast them to the declared
    float32; Keras's JAX variables keep the integer values, so gradients fail
    ("grad requires real- or complex-valued inputs ... got int32").
    """
    for weight in layer.weights:
        if keras.backend.standardize_dtype(weight.value.dtype) != weight.dtype:
            weight.assign(ops.cast(weight.value, weight.dtype))


class _FlatMixedMemory(ncps.keras.MixedMemoryRNN):
    """ncps's mixed-memory wrapper, returning its states as one flat list.

    ncps returns `[memory, [ode_state]]` although it receives `[memory, ode_state]`;
    JAX's `scan` requires the same structure in and out of every step.
    """

    def call(self, sequences, initial_state=None, mask=None, training=False, **kwargs):
        output, (memory, ode_state) = super().call(sequences, initial_state, mask, training, **kwargs)
        if isinstance(ode_state, (list, tuple)) and len(ode_state) == 1:
            ode_state = ode_state[0]
        return output, [memory, ode_state]


class _FloatWeightsMixin:
    """Float weights on every backend, and a JAX-compatible mixed-memory cell, for ncps RNN layers."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        if isinstance(self.cell, ncps.keras.MixedMemoryRNN):
            self.cell = _FlatMixedMemory(self.cell.rnn_cell)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        _cast_to_declared_dtypes(self)


@keras.saving.register_keras_serializable(package=PACKAGE)
class LTC(_FloatWeightsMixin, ncps.keras.LTC):
    """`ncps.keras.LTC` with float weights on every backend.

    Identical to the ncps layer (same arguments, weights and computation); it
    only repairs, on JAX, the integer-valued reversal-potential weights (see
    `_cast_to_declared_dtypes`) and the mixed-memory state structure (see
    `_FlatMixedMemory`).

    Args:
        units: an `ncps.wirings.Wiring` (e.g. `AutoNCP(21, 1)`) or a number of
            fully connected neurons.
        **kwargs: every other argument of `ncps.keras.LTC`, such as
            `return_sequences` or `mixed_memory`.

    Example:

    >>> from ncps.wirings import AutoNCP
    >>> layer = LTC(AutoNCP(21, 1), return_sequences=True)
    >>> layer(keras.ops.zeros((2, 28, 400))).shape
    (2, 28, 1)
    """


@keras.saving.register_keras_serializable(package=PACKAGE)
class CfC(_FloatWeightsMixin, ncps.keras.CfC):
    """`ncps.keras.CfC` (closed-form continuous-time) with float weights on every backend.

    Args:
        units: an `ncps.wirings.Wiring` or a number of fully connected units.
        **kwargs: every other argument of `ncps.keras.CfC`.

    Example:

    >>> layer = CfC(16, return_sequences=True)
    >>> layer(keras.ops.zeros((2, 28, 400))).shape
    (2, 28, 16)
    """
