"""LTC: ncps's liquid time-constant layer, computed sparsely and for the whole sequence at once."""
import keras
import ncps.keras
from keras import ops

from keras_lnn.layers.common import (
    PACKAGE, FloatWeightsMixin, MixedMemory, Synapses, fast_path_applies, rnn_result, unrolled,
)


def _post_sums(synapses, weight, erev):
    """A `(pairs, 2 * units)` matrix: a product with it sums `w * erev` and `w` into each post neuron."""
    w = synapses.take(weight)
    return ops.concatenate([synapses.sum_to_post(w * synapses.take(erev)), synapses.sum_to_post(w)], axis=-1)


class LtcEquations:
    """One call's view of an `ncps.keras.LTCCell`: its ODE over the wired synapses only.

    Everything that does not depend on the state (the wired entries of each
    synapse matrix, `w * erev`, the leak terms) is computed here once per call,
    not once per ODE unfold.

    Args:
        cell: a built `ncps.keras.LTCCell` (its weights are read, never copied).
        sensory: `Synapses` of the wiring's sensory adjacency matrix.
        inner: `Synapses` of the wiring's inner adjacency matrix.
    """

    def __init__(self, cell, sensory, inner):
        p = cell._params
        self.cell, self.sensory, self.inner = cell, sensory, inner
        self.units = cell.state_size
        self.sensory_mu, self.sensory_sigma = sensory.take(p["sensory_mu"]), sensory.take(p["sensory_sigma"])
        self.sensory_sums = _post_sums(sensory, p["sensory_w"], p["sensory_erev"])
        self.mu, self.sigma = inner.take(p["mu"]), inner.take(p["sigma"])
        self.sums = _post_sums(inner, p["w"], p["erev"])
        # ncps: cm / (elapsed_time / ode_unfolds), with one second between slices.
        self.cm_t = p["cm"] / ops.cast(1.0 / cell._ode_unfolds, "float32")
        self.leak_numerator = p["gleak"] * p["vleak"]
        self.leak_denominator = self.cm_t + p["gleak"] + cell._epsilon

    def map_inputs(self, inputs):
        p, mapping = self.cell._params, self.cell._input_mapping
        if mapping in ("affine", "linear"):
            inputs = inputs * p["input_w"]
        if mapping == "affine":
            inputs = inputs + p["input_b"]
        return inputs

    def sensory_drive(self, inputs):
        """The sensory synapses' numerator and denominator terms, for inputs `(..., sensory)`.

        They depend on the input alone, so a whole sequence is done in one product.
        """
        activation = ops.sigmoid(self.sensory_sigma * (self.sensory.pre_values(inputs) - self.sensory_mu))
        sums = ops.matmul(activation, self.sensory_sums)
        return sums[..., : self.units] + self.leak_numerator, sums[..., self.units:] + self.leak_denominator

    def solve(self, state, numerator, denominator):
        """`ode_unfolds` fused semi-implicit Euler steps of one slice (ncps's `_ode_solver`)."""
        for _ in range(self.cell._ode_unfolds):
            activation = ops.sigmoid(self.sigma * (self.inner.pre_values(state) - self.mu))
            sums = ops.matmul(activation, self.sums)
            state = (self.cm_t * state + sums[:, : self.units] + numerator) / (sums[:, self.units:] + denominator)
        return state

    def map_outputs(self, states):
        p, mapping = self.cell._params, self.cell._output_mapping
        outputs = states[..., : self.cell.motor_size]
        if mapping in ("affine", "linear"):
            outputs = outputs * p["output_w"]
        if mapping == "affine":
            outputs = outputs + p["output_b"]
        return outputs


@keras.saving.register_keras_serializable(package=PACKAGE)
class LTC(FloatWeightsMixin, ncps.keras.LTC):
    """`ncps.keras.LTC`, computing the same function with the same weights, faster and exportable.

    The arguments, weights (names, shapes, initializers, constraints), config
    and saved files are ncps's; `layer.cell` is ncps's single-step cell. What
    differs is how a sequence is computed:

    - only the synapses that the wiring wires are evaluated (AutoNCP(21, 1)
      over 400 features wires 29% of its sensory and 14% of its inner synapses);
    - the sensory synapses, which depend on the input alone, are computed for
      every slice at once before the recurrence;
    - the recurrence is a Python loop over the fixed number of slices, so the
      graph has no while-loop and exports to ONNX and LiteRT builtins.

    The weights also hold float values on JAX (ncps's integer reversal
    potentials), and mixed memory keeps one state structure (see
    `FlatMixedMemory`). Sequences of unknown length, masks, `stateful` and
    `go_backwards` fall back to ncps's step-by-step loop.

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

    @property
    def ltc_cell(self):
        return self.cell.rnn_cell if self.mixed_memory else self.cell

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        wiring = self.ltc_cell.wiring
        self._sensory = Synapses(wiring.sensory_adjacency_matrix)
        self._inner = Synapses(wiring.adjacency_matrix)

    def equations(self):
        """The cell's `LtcEquations` for one call (reads the current weights)."""
        return LtcEquations(self.ltc_cell, self._sensory, self._inner)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if not fast_path_applies(self, sequences, mask):
            return super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        states, last = self.neuron_states(sequences, initial_state, return_last=True)
        outputs = self.equations().map_outputs(states)
        return rnn_result(self, outputs, outputs[:, -1], last)

    def neuron_states(self, sequences, initial_state=None, return_last=False):
        """The state of every neuron after each slice, `(batch, slices, units)`.

        Motor neurons come first (`wiring.output_dim` of them); the layer's outputs
        are their affine read-out. With `return_last`, also the final RNN states
        (`[ode_state]`, or `[memory, ode_state]` with mixed memory).
        """
        equations = self.equations()
        length = sequences.shape[1]
        if self.mixed_memory:
            memory_step = MixedMemory(self.cell, sequences)

            def step(t, state):
                memory, ode_input = memory_step.step(t, *state)
                numerator, denominator = equations.sensory_drive(equations.map_inputs(ode_input))
                ode_state = equations.solve(state[1], numerator, denominator)
                return ode_state, [memory, ode_state]

            zeros = ops.zeros_like(memory_step.inputs[:, 0, : equations.units])
            state = list(initial_state) if initial_state is not None else [zeros, zeros]
        else:
            numerators, denominators = equations.sensory_drive(equations.map_inputs(sequences))

            def step(t, state):
                ode_state = equations.solve(state[0], numerators[:, t], denominators[:, t])
                return ode_state, [ode_state]

            state = list(initial_state) if initial_state is not None else [ops.zeros_like(numerators[:, 0])]
        states, last = unrolled(step, length, state)
        return (states, last) if return_last else states
