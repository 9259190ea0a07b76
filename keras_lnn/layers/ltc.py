"""LTC: ncps's liquid time-constant layer, computed sparsely and for the whole sequence at once."""
import keras
import ncps.keras
from keras import ops

from keras_lnn.layers.common import PACKAGE, FloatWeightsMixin, jax_on_accelerator, over_slices, rnn_result
from keras_lnn.layers.ltc_pieces import MixedMemory, Synapses
from keras_lnn.layers.reference import fast_path_applies


class SynapseCurrents:
    """One call's wired synapses of one kind (sensory or inner), ready to apply to many inputs.

    A synapse from `i` to `j` contributes `w * sigmoid(sigma * (v_i - mu))` to
    the denominator of `j`'s update and that times `erev` to its numerator.
    Both sums come out of one product, as `[numerator | denominator]`. Three
    forms of the same sums, each where it measures fastest:

    - wide inputs (`Synapses.by_repeat`): the wired synapses only, each input
      tiled over its synapses, summed by one product into the neurons that
      receive synapses of this kind (12 of AutoNCP(21, 1)'s 21 get sensory ones);
    - a few neurons on TensorFlow, PyTorch and JAX on a CPU: the wired synapses only, with
      `sigma` and `mu` folded into the product that picks each synapse's `v_i`
      (few operations per ODE unfold: each costs a dispatch on the CPU);
    - a few neurons on JAX on a GPU: the dense `(pre, post)` matrices with `w * mask`
      and `w * mask * erev` folded once per call, so each unfold is elementwise work
      and two sums that XLA fuses into one GPU kernel (products of small
      matrices are separate kernels, a dozen per slice). On a CPU the small
      products measure faster on JAX too (about 1.7x for the head's epoch).

    Args:
        synapses: the `Synapses` layout.
        sigma, mu, w, erev: the cell's `(pre, post)` weights of this kind.
    """

    def __init__(self, synapses, sigma, mu, w, erev):
        self.synapses = synapses
        self.dense = not synapses.by_repeat and jax_on_accelerator()
        if self.dense:
            mask = ops.convert_to_tensor(synapses.mask)
            self.sigma, self.mu = sigma, mu
            self.numerator_weights = w * mask * erev
            self.denominator_weights = w * mask
            return
        self.spread = None if synapses.spread is None else ops.convert_to_tensor(synapses.spread)
        sigma, w = synapses.take(sigma), synapses.take(w)
        # sigma * (v - mu) as v * sigma + offset: the offset is folded on the weights, not on every value.
        self.sigma, self.offset = sigma, -(sigma * synapses.take(mu))
        self.weights = ops.concatenate(
            [synapses.sum_to_post(w * synapses.take(erev)), synapses.sum_to_post(w)], axis=-1)
        if not synapses.by_repeat:
            self.scaled_selector = ops.convert_to_tensor(synapses.selector) * self.sigma

    def __call__(self, values):
        """`[numerator | denominator]` terms of every post neuron `(..., 2 * post)`, for values `(..., pre)`."""
        if self.dense:
            activation = ops.sigmoid(self.sigma * (ops.expand_dims(values, -1) - self.mu))
            return ops.concatenate([ops.sum(activation * self.numerator_weights, axis=-2),
                                    ops.sum(activation * self.denominator_weights, axis=-2)], axis=-1)
        if self.synapses.by_repeat and keras.backend.backend() == "jax":
            # The same elementwise work in `(..., fanout, pre)` blocks, flattened after the sigmoid:
            # XLA:CPU's fused loop over the tiled `(..., slots)` shape divides every slot's index by
            # `pre` to find its input (24 of a 150 ms batch of LiqExp1N2); over blocks it reads the
            # inputs in order.
            blocks = (self.synapses.fanout, -1)
            activation = ops.sigmoid(ops.expand_dims(values, -2) * ops.reshape(self.sigma, blocks)
                                     + ops.reshape(self.offset, blocks))
            activation = ops.reshape(activation, (*activation.shape[:-2], -1))
        elif self.synapses.by_repeat:
            activation = ops.sigmoid(self.synapses.tile(values) * self.sigma + self.offset)
        else:
            activation = ops.sigmoid(ops.matmul(values, self.scaled_selector) + self.offset)
        terms = ops.matmul(activation, self.weights)
        return terms if self.spread is None else ops.matmul(terms, self.spread)


class LtcEquations:
    """One call's view of an `ncps.keras.LTCCell`: its ODE over the wired synapses only.

    Everything that does not depend on the state (the wired entries of each
    synapse matrix, `w * erev`, the leak terms) is computed here once per call,
    not once per ODE unfold. Numerator and denominator terms travel together,
    as `[numerator | denominator]` ("drive" when they are state-free).

    Args:
        cell: a built `ncps.keras.LTCCell` (its weights are read, never copied).
        sensory: `Synapses` of the wiring's sensory adjacency matrix.
        inner: `Synapses` of the wiring's inner adjacency matrix.
    """

    def __init__(self, cell, sensory, inner):
        p = cell._params
        self.cell = cell
        self.sensory = SynapseCurrents(sensory, p["sensory_sigma"], p["sensory_mu"], p["sensory_w"], p["sensory_erev"])
        self.inner = SynapseCurrents(inner, p["sigma"], p["mu"], p["w"], p["erev"])
        # ncps: cm / (elapsed_time / ode_unfolds), with one second between slices.
        self.cm_t = p["cm"] / ops.cast(1.0 / cell._ode_unfolds, "float32")
        self.leak = ops.concatenate([p["gleak"] * p["vleak"], self.cm_t + p["gleak"] + cell._epsilon], axis=-1)

    def map_inputs(self, inputs):
        p, mapping = self.cell._params, self.cell._input_mapping
        if mapping in ("affine", "linear"):
            inputs = inputs * p["input_w"]
        if mapping == "affine":
            inputs = inputs + p["input_b"]
        return inputs

    def sensory_drive(self, inputs):
        """The state-free terms of the update (sensory synapses and leak), for inputs `(..., sensory)`.

        They depend on the input alone, so a whole sequence is done at once.
        """
        return self.sensory(inputs) + self.leak

    def solve(self, state, drive):
        """`ode_unfolds` fused semi-implicit Euler steps of one slice (ncps's `_ode_solver`)."""
        for _ in range(self.cell._ode_unfolds):
            numerator, denominator = ops.split(self.inner(state) + drive, 2, axis=-1)
            state = (self.cm_t * state + numerator) / denominator
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
    - the recurrence over the fixed number of slices is a Python loop on
      TensorFlow and PyTorch (no while-loop: the graph exports to ONNX and
      LiteRT builtins) and one `scan` on JAX (see `over_slices`).

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
    >>> tuple(layer(keras.ops.zeros((2, 28, 400))).shape)
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
        # One `LtcEquations` for the states and the read-out: each holds the wiring's constants, and
        # making them again costs an LTC model's trace a second set of them.
        equations = self.equations()
        states, last = self._neuron_states(equations, sequences, initial_state)
        outputs = equations.map_outputs(states)
        return rnn_result(self, outputs, outputs[:, -1], last)

    def neuron_states(self, sequences, initial_state=None, return_last=False):
        """The state of every neuron after each slice, `(batch, slices, units)`.

        Motor neurons come first (`wiring.output_dim` of them); the layer's outputs
        are their affine read-out. With `return_last`, also the final RNN states
        (`[ode_state]`, or `[memory, ode_state]` with mixed memory).
        """
        states, last = self._neuron_states(self.equations(), sequences, initial_state)
        return (states, last) if return_last else states

    def _neuron_states(self, equations, sequences, initial_state):
        if self.mixed_memory:
            memory_step = MixedMemory(self.cell, sequences)

            def step(slice_inputs, state):
                memory, ode_input = memory_step.step(slice_inputs[0], *state)
                drive = equations.sensory_drive(equations.map_inputs(ode_input))
                ode_state = equations.solve(state[1], drive)
                return ode_state, [memory, ode_state]

            zeros = ops.zeros_like(memory_step.inputs[:, 0, : self.ltc_cell.state_size])
            state = list(initial_state) if initial_state is not None else [zeros, zeros]
            inputs = memory_step.inputs
        else:
            inputs = equations.sensory_drive(equations.map_inputs(sequences))

            def step(slice_inputs, state):
                ode_state = equations.solve(state[0], slice_inputs[0])
                return ode_state, [ode_state]

            state = list(initial_state) if initial_state is not None else [
                ops.zeros_like(inputs[:, 0, : self.ltc_cell.state_size])]
        return over_slices(step, inputs, state)
