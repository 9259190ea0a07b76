"""What the layers share: float weights on JAX, mixed memory's cell, the loop over slices, Keras's RNN result,
whether JAX computes on an accelerator.

Everything here uses `keras.ops` only, so the layers run unchanged on the
TensorFlow, JAX and PyTorch backends. `FlatMixedMemory` stays in this module: saved
`.keras` files name it `keras_lnn.layers.common.FlatMixedMemory`.
"""
import keras
import ncps.keras
from keras import ops

from keras_lnn.errors import KerasLnnError

PACKAGE = "keras_lnn"


def jax_on_accelerator():
    """Whether the layers compute on JAX with a GPU or other accelerator as its default device."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return jax.default_backend() != "cpu"


def cast_to_declared_dtypes(layer):
    """Makes every weight's value carry the dtype the weight declares.

    ncps wirings initialize the reversal potentials (`erev`, `sensory_erev`)
    with integer arrays. TensorFlow and PyTorch cast them to the declared
    float32; Keras's JAX variables keep the integer values, so gradients fail
    ("grad requires real- or complex-valued inputs ... got int32").
    """
    for weight in layer.weights:
        if keras.backend.standardize_dtype(weight.value.dtype) != weight.dtype:
            weight.assign(ops.cast(weight.value, weight.dtype))


class FlatMixedMemory(ncps.keras.MixedMemoryRNN):
    """ncps's mixed-memory wrapper, returning its states as one flat list.

    ncps returns `[memory, [ode_state]]` although it receives `[memory, ode_state]`;
    JAX's `scan` requires the same structure in and out of every step.
    """

    def call(self, sequences, initial_state=None, mask=None, training=False, **kwargs):
        output, (memory, ode_state) = super().call(sequences, initial_state, mask, training, **kwargs)
        if isinstance(ode_state, (list, tuple)) and len(ode_state) == 1:
            ode_state = ode_state[0]
        return output, [memory, ode_state]


def over_slices(step, inputs, state):
    """Runs `step(inputs_t, state) -> (output_t, state)` over the slices (axis 1) of `inputs`.

    `inputs` is a tensor or a tuple of tensors `(batch, slices, ...)`. On
    TensorFlow and PyTorch this is a Python loop over the fixed number of slices
    (28 or 64): the traced graph has no while-loop, so SavedModel, ONNX and
    LiteRT exports (all traced by TensorFlow) hold builtin operations only. On
    JAX it is one `scan`: XLA compiles the step once instead of 28 or 64 copies
    of it (seconds instead of a minute), and runs as fast.

    Returns:
        the outputs stacked over slices `(batch, slices, ...)`, and the last state.
    """
    inputs = tuple(inputs) if isinstance(inputs, (list, tuple)) else (inputs,)
    if keras.backend.backend() == "jax":
        def body(carry, slice_inputs):
            output, carry = step(slice_inputs, carry)
            return carry, output

        time_major = tuple(ops.moveaxis(x, 1, 0) for x in inputs)
        last, outputs = ops.scan(body, state, time_major)
        return ops.moveaxis(outputs, 0, 1), last
    outputs = []
    # unstack, not x[:, t]: the gradient of 28 slices is one stack, not 28 zero-padded copies added up.
    for slice_inputs in zip(*(ops.unstack(x, axis=1) for x in inputs)):
        output, state = step(slice_inputs, state)
        outputs.append(output)
    return ops.stack(outputs, axis=1), state


def rnn_result(layer, outputs, last_output, states):
    """What `keras.layers.RNN` returns for these outputs, given the layer's options."""
    output = outputs if layer.return_sequences else last_output
    return [output, *states] if layer.return_state else output


class FloatWeightsMixin:
    """Float weights on every backend, and a JAX-compatible mixed-memory cell, for ncps RNN layers."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        policy = self.dtype_policy
        if (policy.compute_dtype, policy.variable_dtype) != ("float32", "float32"):
            # ncps's cells mix float32 constants with the compute dtype's tensors and fail deep inside
            # their first call; the ODE's semi-implicit steps are not checked in half precision either.
            raise KerasLnnError(
                f"{type(self).__name__} computes in float32 only, not under the dtype policy {policy.name!r}: "
                "call keras.mixed_precision.set_global_policy('float32') before building liquid (LTC, CfC) "
                "models, or pass dtype='float32' to the layer"
            )
        if isinstance(self.cell, ncps.keras.MixedMemoryRNN):
            self.cell = FlatMixedMemory(self.cell.rnn_cell)

    @property
    def mixed_memory(self):
        return isinstance(self.cell, ncps.keras.MixedMemoryRNN)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        cast_to_declared_dtypes(self)
