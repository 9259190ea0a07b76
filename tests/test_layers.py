"""keras_lnn.layers: SliceWise against TimeDistributed, and the float-weight LTC/CfC."""

import keras
import ncps.keras
import numpy as np
import pytest
from ncps.wirings import AutoNCP, FullyConnected

from keras_lnn import layers
from tests import layer_equivalence


def _encoder():
    return keras.Sequential(
        [keras.layers.Conv2D(4, 3, activation="relu"), keras.layers.MaxPooling2D(2), keras.layers.Flatten()]
    )


def _random(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# ---------------------------------------------------------------- SliceWise
def test_slicewise_computes_what_timedistributed_computes():
    x = _random((3, 5, 12, 12, 1))
    slicewise = layers.SliceWise(_encoder())
    y = keras.ops.convert_to_numpy(slicewise(x))
    reference = keras.layers.TimeDistributed(_encoder())
    reference.build(x.shape)
    reference.set_weights(slicewise.get_weights())
    expected = keras.ops.convert_to_numpy(reference(x))
    assert y.shape == expected.shape == (3, 5, 4 * 5 * 5)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    # The weights are shared across slices: nothing depends on the number of slices.
    assert len(slicewise.weights) == 2


def test_slicewise_matches_timedistributed_on_sequences_of_vectors():
    x = _random((2, 7, 6), seed=1)
    dense = keras.layers.Dense(3, activation="tanh")
    y = keras.ops.convert_to_numpy(layers.SliceWise(dense)(x))
    expected = keras.ops.convert_to_numpy(keras.layers.TimeDistributed(dense)(x))  # the same weights
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_slicewise_passes_training_to_the_wrapped_layer():
    x = np.ones((2, 4, 8), dtype="float32")
    slicewise = layers.SliceWise(keras.layers.Dropout(0.5, seed=0))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(slicewise(x, training=False)), x)
    dropped = keras.ops.convert_to_numpy(slicewise(x, training=True))
    assert np.any(dropped == 0)


@pytest.mark.parametrize(
    "input_shape, expected",
    [((None, 28, 28, 28, 1), (None, 28, 3456)), ((4, 9, 16, 16, 1), (4, 9, 864))],
)
def test_slicewise_output_shape(input_shape, expected):
    encoder = keras.Sequential([keras.layers.Conv2D(6, 5), keras.layers.Flatten()])
    layer = layers.SliceWise(encoder)
    assert layer.compute_output_shape(input_shape) == expected
    symbolic = layer(keras.Input(input_shape[1:], batch_size=input_shape[0]))
    assert tuple(symbolic.shape) == expected


def test_slicewise_serializes():
    x = _random((2, 3, 12, 12, 1), seed=2)
    original = layers.SliceWise(_encoder(), name="encoder")
    y = keras.ops.convert_to_numpy(original(x))

    config = original.get_config()
    clone = layers.SliceWise.from_config(config)
    assert clone.name == "encoder"
    clone.build(x.shape)
    clone.set_weights(original.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x)), y, rtol=1e-6)

    serialized = keras.saving.serialize_keras_object(original)
    assert serialized["registered_name"] == "keras_lnn>SliceWise"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, layers.SliceWise)
    assert isinstance(restored.layer, keras.Sequential)
    assert [type(inner) for inner in restored.layer.layers] == [type(inner) for inner in original.layer.layers]


def test_a_model_with_slicewise_round_trips_through_a_keras_file(tmp_path):
    inputs = keras.Input((4, 12, 12, 1))
    outputs = keras.layers.Dense(1)(layers.SliceWise(_encoder())(inputs))
    model = keras.Model(inputs, outputs)
    x = _random((2, 4, 12, 12, 1), seed=3)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.layers[1], layers.SliceWise)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6
    )


# ---------------------------------------------------------------- LTC and CfC
@pytest.mark.parametrize("wiring", [AutoNCP(21, 1), FullyConnected(7, 2)], ids=["auto", "full"])
def test_ltc_weights_are_float32_after_build(wiring):
    layer = layers.LTC(wiring, return_sequences=True)
    layer.build((None, 28, 16))
    assert len(layer.weights) == 15
    dtypes = {w.path: keras.backend.standardize_dtype(w.value.dtype) for w in layer.weights}
    assert {path: dtype for path, dtype in dtypes.items() if dtype != "float32"} == {}
    assert any(path.endswith("erev") for path in dtypes)  # the weights ncps initializes with integers


def test_cfc_weights_are_float32_after_build():
    layer = layers.CfC(AutoNCP(12, 1), return_sequences=True)
    layer.build((None, 28, 16))
    assert layer.weights
    assert {keras.backend.standardize_dtype(w.value.dtype) for w in layer.weights} == {"float32"}


def test_ltc_is_the_ncps_layer_class():
    x = _random((2, 5, 8), seed=4)
    # Each layer gets its own (identically seeded) wiring: building a wiring draws its sensory synapses.
    ours = layers.LTC(AutoNCP(10, 2, seed=7), return_sequences=True)
    y = keras.ops.convert_to_numpy(ours(x))
    assert isinstance(ours, ncps.keras.LTC)
    assert y.shape == (2, 5, 2)
    theirs = ncps.keras.LTC(AutoNCP(10, 2, seed=7), return_sequences=True)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(y, keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-6)


def test_ltc_param_count_follows_the_documented_formula():
    # 4*u*u + 4*in*u + 3*u + 2*in + 2*m (ARCHITECTURES.md; the wiring only masks).
    units, inputs, motor = 21, 400, 1
    layer = layers.LTC(AutoNCP(units, motor), return_sequences=True)
    layer.build((None, 28, inputs))
    assert layer.count_params() == 4 * units * units + 4 * inputs * units + 3 * units + 2 * inputs + 2 * motor


def test_ltc_serializes_with_its_wiring():
    layer = layers.LTC(AutoNCP(10, 2), return_sequences=True)
    layer.build((None, 5, 8))
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "keras_lnn>LTC"
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is layers.LTC
    assert restored.return_sequences
    assert restored.cell.wiring.units == 10 and restored.cell.wiring.output_dim == 2


# ---------------------------------------------------------------- the fast computation against ncps's
def _assert_equivalent(report):
    """Outputs and gradients within 1e-5 of ncps's computation (gradients of order 1; 1e-5 of the
    largest gradient where they are larger), and the saved fixtures predicting what they did."""
    assert set(report["cases"]) == set(layer_equivalence.cases())
    for name, case in report["cases"].items():
        assert "error" not in case, f"{report['backend']} {name}: {case.get('error')}"
        assert case["output"] <= 1e-5, (report["backend"], name, case)
        assert case["gradient"] <= 1e-5 * max(1.0, case["gradient_scale"]), (report["backend"], name, case)
        assert case["gradient_scale"] > 0  # the probe reaches every layer
    assert set(report["encoders"]) == set(layer_equivalence.encoder_cases())
    for name, case in report["encoders"].items():
        assert "error" not in case, f"{report['backend']} encoder {name}: {case.get('error')}"
        assert case["fast_path"] == (report["backend"] != "tensorflow"), (report["backend"], name)
        assert case["output"] <= 1e-5 * max(1.0, case["output_scale"]), (report["backend"], name, case)
        assert case["gradient"] <= 1e-5 * max(1.0, case["gradient_scale"]), (report["backend"], name, case)
        assert case["gradient_scale"] > 0
    assert set(report["fixtures"]) == {"LiqExp1N2", "LiqExp1N5", "LiqExp6N5", "CfcExp6N1"}
    for name, difference in report["fixtures"].items():
        assert isinstance(difference, float), f"{report['backend']} {name}: {difference}"
        assert difference <= 1e-5, (report["backend"], name, difference)


def test_fast_ltc_and_cfc_compute_what_ncps_computes_on_tensorflow():
    _assert_equivalent(layer_equivalence.main())


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_fast_ltc_and_cfc_compute_what_ncps_computes_on(backend_report, backend):
    """tests/layer_equivalence.py in the backend's fresh interpreter (conftest's `backend_report` runs it there)."""
    report = backend_report(backend)["layer_equivalence"]
    assert "error" not in report, report["error"]
    assert report["backend"] == backend
    _assert_equivalent(report)


def test_fast_path_matches_the_ncps_layer_itself():
    """Beside the reference loop of our own class: ncps.keras.LTC, with the weights copied over."""
    x = np.abs(_random((2, 6, 400), seed=5))
    ours = layers.LTC(AutoNCP(21, 1, seed=3), return_sequences=True)
    y = keras.ops.convert_to_numpy(ours(x))
    theirs = ncps.keras.LTC(AutoNCP(21, 1, seed=3), return_sequences=True)
    theirs.build(x.shape)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(y, keras.ops.convert_to_numpy(theirs(x)), atol=1e-6)


def test_ltc_neuron_states_end_in_the_outputs():
    x = _random((2, 5, 8), seed=6)
    layer = layers.LTC(AutoNCP(10, 2, seed=1), return_sequences=True)
    outputs = keras.ops.convert_to_numpy(layer(x))
    states = keras.ops.convert_to_numpy(layer.neuron_states(x))
    assert states.shape == (2, 5, 10)
    cell = layer.cell
    motor = states[..., :2] * keras.ops.convert_to_numpy(cell._params["output_w"]) + keras.ops.convert_to_numpy(
        cell._params["output_b"]
    )
    np.testing.assert_allclose(motor, outputs, atol=1e-6)


def test_recurrent_graph_has_no_captured_constants_or_loops():
    """What export needs: the traced layer reads only its input and its weights, and loops in Python."""
    import tensorflow as tf

    layer = layers.LTC(AutoNCP(21, 1), return_sequences=True)
    layer.build((None, 28, 40))
    graph = tf.function(lambda x: layer(x)).get_concrete_function(tf.TensorSpec((None, 28, 40))).graph
    captured = {id(t) for t in graph.external_captures}
    assert captured <= {id(w.value.handle) for w in layer.weights}
    assert not [op.type for op in graph.get_operations() if op.type in ("While", "StatelessWhile")]
