"""The reference switch: `reference_computation` runs ncps's own step-by-step loop instead of the fast path.

The fast path (`fast_path_applies`) is what `LTC` and `CfC` compute by default; inside
`reference_computation` they compute as `ncps.keras` does, for the tests and for
`scripts/benchmark.py --implementation ncps` to compare against.
"""
import contextlib
import contextvars
import gc
import weakref

import keras

from keras_lnn.errors import KerasLnnError

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

    ```python
    with reference_computation():
        reference_outputs = layer(sequences)
    model.predict(x)                      # traced with the fast computation
    with reference_computation(model):    # traced anew: ncps's loop
        reference_predictions = model.predict(x)
    ```
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
