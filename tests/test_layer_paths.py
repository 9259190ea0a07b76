"""The paths of the liquid layers that the zoo's models do not take, against ncps's own loop.

- the fallbacks to ncps's loop (masks, `go_backwards`, an unknown number of slices), each
  equal to `ncps.keras`'s layer holding the same weights;
- CfC's `no_gate` mode, fast against the reference computation;
- the reference switch against functions traced already (it takes effect or is refused);
- a liquid and an LSTM model at 64^3: built, one training step, fast equal to reference;
- mixed precision: refused by the liquid layers with one clear error.
"""
import threading

import keras
import ncps.keras
import numpy as np
import pytest
import tensorflow as tf
from ncps.wirings import AutoNCP

from keras_lnn import layers
from keras_lnn.models import create_model
from keras_lnn.errors import KerasLnnError
from keras_lnn.layers.reference import _REFERENCE

FEATURES, SLICES = 10, 6


def _x(batch=3, slices=SLICES, seed=0):
    return np.abs(np.random.default_rng(seed).normal(size=(batch, slices, FEATURES))).astype("float32")


def _numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")


def _pair(kind, **options):
    """Our layer and ncps's, built on the same wiring and holding the same (moved-off-initial) weights."""
    ours_class, theirs_class = {"ltc": (layers.LTC, ncps.keras.LTC), "cfc": (layers.CfC, ncps.keras.CfC)}[kind]
    ours = ours_class(AutoNCP(9, 2, seed=1), return_sequences=True, **options)
    theirs = theirs_class(AutoNCP(9, 2, seed=1), return_sequences=True, **options)
    ours.build((None, SLICES, FEATURES))
    theirs.build((None, SLICES, FEATURES))
    rng = np.random.default_rng(2)
    for weight in ours.weights:
        value = keras.ops.convert_to_numpy(weight.value).astype("float32")
        weight.assign(value * rng.uniform(0.5, 1.5, size=value.shape).astype("float32"))
    theirs.set_weights(ours.get_weights())
    return ours, theirs


# ---------------------------------------------------------------- fallbacks to ncps's loop
@pytest.mark.parametrize("kind", ["ltc", "cfc"])
def test_a_masked_sequence_is_ncps_loop(kind):
    ours, theirs = _pair(kind)
    x = _x()
    mask = np.ones((3, SLICES), bool)
    mask[0, 4:] = False  # the first sequence ends after 4 slices
    masked = _numpy(ours(x, mask=mask))
    np.testing.assert_allclose(masked, _numpy(theirs(x, mask=mask)), rtol=1e-5, atol=1e-6)
    # The mask mattered (a masked step repeats the last output), and unmasked rows are the fast path's.
    np.testing.assert_allclose(masked[0, 4:], np.repeat(masked[0, 3:4], 2, axis=0), rtol=1e-6)
    np.testing.assert_allclose(masked[1:], _numpy(ours(x))[1:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["ltc", "cfc"])
def test_go_backwards_is_ncps_loop_and_the_reversed_sequence(kind):
    ours, theirs = _pair(kind, go_backwards=True)
    x = _x(seed=3)
    backwards = _numpy(ours(x))
    np.testing.assert_allclose(backwards, _numpy(theirs(x)), rtol=1e-5, atol=1e-6)
    forwards, _ = _pair(kind)
    forwards.set_weights(ours.get_weights())
    # Keras returns the outputs in the order they were computed: those of the reversed slices.
    np.testing.assert_allclose(backwards, _numpy(forwards(x[:, ::-1])), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["ltc", "cfc"])
def test_an_unknown_number_of_slices_is_ncps_loop(kind):
    ours, theirs = _pair(kind)
    x = _x(seed=4)
    sequences = keras.Input((None, FEATURES))
    unknown = keras.Model(sequences, ours(sequences))
    traced = tf.function(lambda v: unknown(v), input_signature=[tf.TensorSpec((None, None, FEATURES))])
    found = _numpy(traced(x))
    np.testing.assert_allclose(found, _numpy(theirs(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(found, _numpy(ours(x)), rtol=1e-5, atol=1e-6)  # known length: the fast path


def test_cfc_no_gate_fast_equals_reference():
    layer = layers.CfC(AutoNCP(9, 2, seed=1), mode="no_gate", return_sequences=True)
    x = _x(seed=5)
    fast = _numpy(layer(x))
    assert {cell.mode for cell in layer.cell._cfc_layers} == {"no_gate"}
    with layers.reference_computation(layer):
        reference = _numpy(layer(x))
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-6)
    gated = layers.CfC(AutoNCP(9, 2, seed=1), return_sequences=True)
    gated.build(x.shape)
    gated.set_weights(layer.get_weights())
    assert np.max(np.abs(_numpy(gated(x)) - fast)) > 1e-3  # the mode is what differs


# ---------------------------------------------------------------- the reference switch and traced functions
def _spy_on_ncps_loop(monkeypatch):
    """Counts the calls of ncps's own loop (the reference computation), eager or traced."""
    calls = []
    original = ncps.keras.LTC.call

    def counted(self, *args, **kwargs):
        calls.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ncps.keras.LTC, "call", counted)
    return calls


def test_a_traced_function_refuses_the_switch_clearly(monkeypatch):
    ours, _ = _pair("ltc")
    x = _x(seed=6)
    traced = tf.function(lambda v: ours(v))
    fast = _numpy(traced(x))  # traced with the fast computation
    with pytest.raises(layers.StaleTraceError, match=f"{ours.name!r} was traced"):
        with layers.reference_computation():
            pass
    assert _REFERENCE.get() is False  # a refused switch leaves nothing switched on
    calls = _spy_on_ncps_loop(monkeypatch)
    with layers.reference_computation(ours):  # "this trace does not run again": a new one does
        reference = _numpy(tf.function(lambda v: ours(v))(x))
    assert calls == [ours.name]
    np.testing.assert_allclose(reference, fast, rtol=1e-5, atol=1e-6)
    del traced, ours
    with layers.reference_computation():  # the traced layer is gone: nothing stale is left
        pass


def test_the_switch_takes_effect_in_a_models_traced_predict(monkeypatch):
    model = create_model("LiqExp5N1")
    x = np.random.default_rng(7).integers(0, 256, size=(2, 28, 28, 28, 1)).astype("float32")
    fast = model.predict(x, verbose=0)  # traces predict with the fast computation
    calls = _spy_on_ncps_loop(monkeypatch)
    with layers.reference_computation(model):
        reference = model.predict(x, verbose=0)
    assert calls, "predict did not run ncps's loop inside reference_computation(model)"
    np.testing.assert_allclose(reference, fast, rtol=1e-5, atol=1e-6)
    calls.clear()
    model.predict(x, verbose=0)  # traced anew after the block: the fast computation again
    assert calls == []


def test_the_switch_is_scoped_to_its_thread():
    seen = []
    with layers.reference_computation():
        thread = threading.Thread(target=lambda: seen.append(_REFERENCE.get()))
        thread.start()
        thread.join()
        assert _REFERENCE.get() is True
    assert seen == [False] and _REFERENCE.get() is False


# ---------------------------------------------------------------- 64^3 volumes
@pytest.mark.slow  # fresh interpreters or trainings to early stopping: not in the quick subset
@pytest.mark.parametrize("name", ["LiqExp1N2", "LSTMExp5N2"])
def test_a_recurrent_model_at_64_trains_a_step_and_fast_equals_reference(name):
    from keras_lnn import training
    from keras_lnn.settings import Protocol

    keras.utils.set_random_seed(0)
    model = create_model(name, input_size=64)
    assert tuple(model.input_shape) == (None, 64, 64, 64, 1) and tuple(model.output_shape) == (None, 1)
    rng = np.random.default_rng(8)
    x = rng.integers(0, 256, size=(2, 64, 64, 64, 1)).astype("float32")
    y = np.array([[0], [1]])
    training.compile_model(model, Protocol(max_epochs=1, batch_size=2), 2, train_size=2)
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, keras.ops.convert_to_numpy(w)) for b, w in zip(before, model.trainable_weights))
    fast = _numpy(model(x[:1], training=False))
    with layers.reference_computation(model):
        reference = _numpy(model(x[:1], training=False))
    np.testing.assert_allclose(fast, reference, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- mixed precision
@pytest.fixture
def policy():
    """set(name): a global dtype policy for the test, float32 again after it."""
    yield keras.mixed_precision.set_global_policy
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_is_refused_by_the_liquid_layers(policy, name):
    policy(name)
    for model in ("LiqExp1N2", "CfcExp6N1", "LiqExp6N5"):
        with pytest.raises(KerasLnnError, match=f"float32 only, not under the dtype policy '{name}'"):
            create_model(model)
    # What the error suggests works: a float32 liquid layer between half-precision ones.
    assert create_model("LSTMExp5N2").get_layer("probability").compute_dtype != "float32"
    layer = layers.LTC(AutoNCP(9, 2, seed=1), return_sequences=True, dtype="float32")
    half = keras.ops.cast(_x(), keras.mixed_precision.global_policy().compute_dtype)
    assert np.all(np.isfinite(_numpy(layer(half))))
