"""The LTC's own pieces: its wired synapses laid out sparsely, and the mixed-memory step of its LSTM-style cell."""
import numpy as np
from keras import ops


class Synapses:
    """The wired (pre, post) pairs of an ncps adjacency matrix, laid out once when a layer is built.

    ncps evaluates every entry of a dense `(pre, post)` synapse matrix and multiplies
    the unwired ones by 0. This keeps only the wired entries, as "slots":
    `take` picks a weight's wired entries, and `to_post` (a fixed 0/1
    `(slots, receivers)` matrix) sums the slots into the post-synaptic neurons
    that have synapses of this kind (`receivers`; `spread` places paired
    `[numerator | denominator]` sums over them among all neurons, or is None
    when every neuron receives). Index arrays stay numpy, so traced graphs hold them as
    literals (an exported graph has no extra inputs).

    Two layouts, chosen by what measures faster on a 2-core CPU:

    - wide inputs (the encoder's hundreds of features, each wired to a few
      neurons, only some of which receive sensory synapses): `fanout` blocks of
      `pre` slots, block `k` holding every input's `k`-th synapse, so the
      inputs reach their slots by tiling (`tile`; its gradient is a sum of the
      blocks, where an index gather's is a scatter-add, 3x slower here, and a
      broadcast over a trailing axis of `fanout` is 1.5x slower). Inputs with
      fewer synapses get padding slots, which `to_post` ignores; neurons
      without synapses of this kind get no column;
    - a few neurons: one slot per synapse, picked by a product with the 0/1
      `selector` matrix (its gradient is a product too); every neuron has a column.

    Args:
        adjacency: the wiring's `(pre, post)` adjacency matrix (any non-zero is a synapse).
    """

    def __init__(self, adjacency):
        wired = np.abs(np.asarray(adjacency)) > 0
        self.mask = wired.astype("float32")
        n_pre, n_post = wired.shape
        self.fanout = int(wired.sum(axis=1).max()) if wired.any() else 0
        self.by_repeat = n_pre > 64 and n_pre * self.fanout <= 2 * wired.sum()
        self.receivers = np.flatnonzero(wired.any(axis=0)) if self.by_repeat else np.arange(n_post)
        if self.by_repeat:
            # Slot k * n_pre + i is the k-th synapse of input i, or padding.
            post = np.zeros((self.fanout, n_pre), "int64")
            real = np.zeros((self.fanout, n_pre), bool)
            for i in range(n_pre):
                targets = np.flatnonzero(wired[i])
                post[: len(targets), i] = targets
                real[: len(targets), i] = True
            pre, post, real = np.tile(np.arange(n_pre), self.fanout), post.reshape(-1), real.reshape(-1)
        else:
            pre, post = np.nonzero(wired)
            real = np.ones(len(pre), bool)
        self.flat_index = (pre * n_post + post).astype("int32")
        column = np.full(n_post, -1)
        column[self.receivers] = np.arange(len(self.receivers))
        self.to_post = np.zeros((len(pre), len(self.receivers)), "float32")
        self.to_post[np.flatnonzero(real), column[post[real]]] = 1.0
        self.spread = None
        if len(self.receivers) < n_post:
            spread = np.zeros((len(self.receivers), n_post), "float32")
            spread[np.arange(len(self.receivers)), self.receivers] = 1.0
            zeros = np.zeros_like(spread)
            self.spread = np.block([[spread, zeros], [zeros, spread]])
        # Picks each slot's pre-synaptic value by a product (not built for wide inputs:
        # 400 x 8,400 floats for a fully connected layer).
        self.selector = None
        if not self.by_repeat:
            self.selector = np.zeros((n_pre, len(pre)), "float32")
            self.selector[pre, np.arange(len(pre))] = 1.0

    def take(self, matrix):
        """The slots' entries `(slots,)` of a `(pre, post)` weight matrix."""
        return ops.take(ops.reshape(matrix, (-1,)), ops.convert_to_tensor(self.flat_index))

    def tile(self, values):
        """Each slot's pre-synaptic value, for wide inputs: `(..., pre) -> (..., slots)`."""
        return ops.tile(values, (1,) * (len(values.shape) - 1) + (self.fanout,))

    def sum_to_post(self, slot_weights):
        """`(slots, receivers)`: `to_post` with each slot's row scaled by `slot_weights`."""
        return ops.reshape(slot_weights, (-1, 1)) * ops.convert_to_tensor(self.to_post)


class MixedMemory:
    """ncps's mixed-memory (LSTM-style) step, with the input product done for every slice at once.

    Args:
        cell: the layer's `FlatMixedMemory` cell (its `input_kernel`,
            `recurrent_kernel`, `bias` and `forget_gate_bias`).
        sequences: `(batch, time, features)`.
    """

    def __init__(self, cell, sequences):
        self.cell = cell
        # sequences @ input_kernel does not depend on the state: one product for all slices.
        self.inputs = ops.matmul(sequences, cell.input_kernel)

    def step(self, slice_inputs, memory, ode_state):
        """Returns `(new_memory, ode_cell_input)` for one slice's `self.inputs`."""
        z = slice_inputs + ops.matmul(ode_state, self.cell.recurrent_kernel) + self.cell.bias
        i, input_gate, forget_gate, output_gate = ops.split(z, 4, axis=-1)
        memory = memory * ops.sigmoid(forget_gate + self.cell.forget_gate_bias) + ops.tanh(i) * ops.sigmoid(
            input_gate
        )
        return memory, ops.tanh(memory) * ops.sigmoid(output_gate)
