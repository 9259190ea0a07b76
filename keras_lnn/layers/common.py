"""What the recurrent layers share: float weights on JAX, mixed memory, sparse synapses, the loop over slices.

Everything here uses `keras.ops` only, so the layers run unchanged on the
TensorFlow, JAX and PyTorch backends.
"""
import contextlib
import contextvars
import gc
import weakref

import keras
import ncps.keras
import numpy as np
from keras import ops

from keras_lnn.errors import KerasLnnError

PACKAGE = "keras_lnn"
# Scoped to the thread (or asyncio task) that enters `reference_computation`, read when a layer is traced.
_REFERENCE = contextvars.ContextVar("keras_lnn_reference_computation", default=False)
# Layers a real trace (tf.function, jax.jit; Keras's fit, evaluate, predict) computed with the fast path.
_TRACED_FAST = weakref.WeakSet()


class StaleTraceError(KerasLnnError):
    """`reference_computation` entered while functions traced with the fast computation could still run."""


def _renewed(owners):
    """Drops the traced Keras functions (fit, evaluate, predict) of the models among `owners`, so that
    their next call traces anew, and forgets the fast traces of their layers."""
    for owner in owners:
        if isinstance(owner, keras.Model):
            owner.train_function = owner.test_function = owner.predict_function = None
        for layer in owner._flatten_layers(include_self=True):
            _TRACED_FAST.discard(layer)


@contextlib.contextmanager
def reference_computation(*owners):
    """Within it, `LTC` and `CfC` layers called or traced run ncps's own step-by-step loop.

    The same weights and the same function, computed the way `ncps.keras` does:
    what the tests compare the fast computation against and what
    `scripts/benchmark.py --implementation ncps` times. The switch is read when a
    layer computes: eagerly, at once; in a traced function (`tf.function`,
    `jax.jit`, Keras's `fit`, `evaluate` and `predict`), when it is traced, so a
    trace made before the block would ignore it. Hence:

    - pass the models whose Keras functions were traced already: they are
      traced anew inside the block (and again after it), so the switch takes effect;
      pass layers or models whose traces of your own will not run again;
    - any other live layer that a real trace computed with the fast path is a
      `StaleTraceError`, naming it, instead of a silent fast computation.

    Args:
        *owners: Keras models (their `fit`, `evaluate` and `predict` trace anew) and layers whose
            earlier fast traces will not be used inside the block.

    Raises:
        StaleTraceError: a live LTC or CfC layer was traced with the fast computation and is not in `owners`.

    Example:

    >>> with reference_computation():
    ...     reference_outputs = layer(sequences)
    >>> model.predict(x)                      # traced with the fast computation
    >>> with reference_computation(model):    # traced anew: ncps's loop
    ...     reference_predictions = model.predict(x)
    """
    gc.collect()  # layers of models no longer referenced are no obstacle
    passed = {id(layer) for owner in owners for layer in owner._flatten_layers(include_self=True)}
    stale = [layer for layer in list(_TRACED_FAST) if id(layer) not in passed]
    if stale:
        raise StaleTraceError(
            f"{type(stale[0]).__name__} layer {stale[0].name!r} was traced (tf.function, jax.jit, or a model's fit, "
            "evaluate or predict) with the fast computation, and that trace would ignore reference_computation(): "
            "pass its model, reference_computation(model), to trace its Keras functions anew (or the layer, if "
            "that trace is not run again), or build the layers inside the block"
        )
    _renewed(owners)
    token = _REFERENCE.set(True)
    try:
        yield
    finally:
        _REFERENCE.reset(token)
        _renewed(owners)


def _really_traced(sequences):
    """Whether `sequences` is being traced into a function that runs again (not Keras's symbolic shape pass)."""
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope

    if in_symbolic_scope():
        return False
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return not tf.executing_eagerly()
    if backend == "jax":
        import jax

        return isinstance(sequences, jax.core.Tracer)
    return False  # PyTorch runs eagerly


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


def fast_path_applies(layer, sequences, mask):
    """Whether a layer's whole-sequence computation applies; otherwise Keras's RNN loop runs.

    It covers what the package's models use: regularly sampled sequences of a
    known length, no mask, not stateful. A real trace that takes it is recorded
    (see `reference_computation`).
    """
    applies = (
        not _REFERENCE.get()
        and not isinstance(sequences, (list, tuple))
        and sequences.shape[1] is not None
        and mask is None
        and not layer.stateful
        and not layer.go_backwards
    )
    if applies and _really_traced(sequences):
        _TRACED_FAST.add(layer)
    return applies


def rnn_result(layer, outputs, last_output, states):
    """What `keras.layers.RNN` returns for these outputs, given the layer's options."""
    output = outputs if layer.return_sequences else last_output
    return [output, *states] if layer.return_state else output


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
