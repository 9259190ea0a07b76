"""CfC: ncps's closed-form continuous-time layer, with its input products done for every slice at once."""
import keras
import ncps.keras
from keras import ops
from ncps.keras.wired_cfc_cell import WiredCfCCell

from keras_lnn.layers.common import PACKAGE, FloatWeightsMixin, over_slices, rnn_result
from keras_lnn.layers.reference import fast_path_applies


class CfcEquations:
    """One wired CfC layer (an `ncps.keras.CfCCell` with a sparsity mask) for one call.

    ncps multiplies `[input, state]` by four kernels per step (ff1 and ff2, masked
    by the wiring, and the two time gates). Here the four are one kernel, split
    into an input part (done for a whole sequence at once where the input is
    known) and a recurrent part.

    Args:
        cell: a built `CfCCell` of a `WiredCfCCell`.
        mask: its `(inputs + units, units)` sparsity mask, as a numpy array.
    """

    def __init__(self, cell, mask):
        self.cell = cell
        mask = ops.convert_to_tensor(mask)
        kernel = ops.concatenate(
            [cell.ff1_kernel * mask, cell.ff2_kernel * mask, cell.time_a.kernel, cell.time_b.kernel], axis=-1
        )
        inputs = kernel.shape[0] - cell.units
        self.input_kernel, self.recurrent_kernel = kernel[:inputs], kernel[inputs:]
        self.bias = ops.concatenate([cell.ff1_bias, cell.ff2_bias, cell.time_a.bias, cell.time_b.bias], axis=-1)

    def input_part(self, inputs):
        """The state-free part of the gates, for inputs `(..., inputs)`."""
        return ops.matmul(inputs, self.input_kernel) + self.bias

    def step(self, input_part, state):
        """The new hidden state (ncps's CfCCell with one second between slices)."""
        ff1, ff2, time_a, time_b = ops.split(input_part + ops.matmul(state, self.recurrent_kernel), 4, axis=-1)
        interpolation = ops.sigmoid(-time_a + time_b)
        if self.cell.mode == "no_gate":
            return ff1 + interpolation * ff2
        return ff1 * (1.0 - interpolation) + interpolation * ff2


@keras.saving.register_keras_serializable(package=PACKAGE)
class CfC(FloatWeightsMixin, ncps.keras.CfC):
    """`ncps.keras.CfC` (closed-form continuous-time), computing the same function with the same weights.

    With a wiring (as in the package's models), the first layer's input product
    is done for every slice at once, the four kernels of each layer are one
    product, and the recurrence over the fixed number of slices is a Python loop
    (TensorFlow, PyTorch: it exports to ONNX and LiteRT builtins) or one `scan` (JAX). Other forms (no
    wiring, `mode="pure"`, mixed memory, masks) run ncps's own loop.

    Args:
        units: an `ncps.wirings.Wiring` or a number of fully connected units.
        **kwargs: every other argument of `ncps.keras.CfC`.

    Example:

    >>> from ncps.wirings import AutoNCP
    >>> layer = CfC(AutoNCP(21, 1), return_sequences=True)
    >>> tuple(layer(keras.ops.zeros((2, 28, 400))).shape)
    (2, 28, 1)
    """

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        if isinstance(self.cell, WiredCfCCell):
            self._masks = [ops.convert_to_numpy(cell.sparsity_mask) for cell in self.cell._cfc_layers]

    def _fast(self, sequences, mask):
        return (
            isinstance(self.cell, WiredCfCCell)
            and self.cell.mode != "pure"
            and fast_path_applies(self, sequences, mask)
        )

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if not self._fast(sequences, mask):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        states, last = self.neuron_states(sequences, initial_state, return_last=True)
        outputs = states[..., -self.cell._layer_sizes[-1]:][..., : self.cell.wiring.output_dim]
        return rnn_result(self, outputs, outputs[:, -1], last)

    def neuron_states(self, sequences, initial_state=None, return_last=False):
        """The state of every neuron after each slice, `(batch, slices, units)`, layer by layer.

        ncps orders a wired CfC's state by wiring layer (inter, command, motor), so the
        motor neurons are the last `wiring.output_dim` units. With `return_last`, also
        the final RNN state `[state]`.
        """
        layers = [CfcEquations(cell, mask) for cell, mask in zip(self.cell._cfc_layers, self._masks)]
        first_inputs = layers[0].input_part(sequences)
        sizes = self.cell._layer_sizes
        bounds = [sum(sizes[:i]) for i in range(len(sizes) + 1)]

        def step(slice_inputs, state):
            hidden, layer_input = [], None
            for index, layer in enumerate(layers):
                part = slice_inputs[0] if index == 0 else layer.input_part(layer_input)
                layer_input = layer.step(part, state[:, bounds[index]: bounds[index + 1]])
                hidden.append(layer_input)
            state = ops.concatenate(hidden, axis=-1)
            return state, state

        if initial_state is not None:
            state = initial_state[0]
        else:  # (batch, units) zeros, from a tensor: the batch size may be unknown while tracing
            state = ops.zeros_like(first_inputs[:, 0, :1]) + ops.zeros((bounds[-1],))
        states, last = over_slices(step, first_inputs, state)
        return (states, [last]) if return_last else states
