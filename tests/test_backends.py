"""The model zoo on every Keras backend: `tests/backend_checks.py` (see conftest's `backend_report`).

Keras fixes its backend at the first import, so the JAX and PyTorch checks need their own
processes (one per backend for the whole session); TensorFlow's run in this process, the builds
that only read served by the session's `zoo`. Each report builds every registered model and
predicts, trains three paper models (and, where registered, a CfC and a mixed-memory LTC model) one
step, round-trips four (and those two) through `.keras`, and runs the audit.
"""
import numpy as np
import pytest

from keras_lnn import paper
from tests.conftest import BACKEND_MODULES

# Fresh interpreters for JAX and PyTorch, and on every backend some 50 models built, trained or saved.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=sorted(BACKEND_MODULES))
def report(request, backend_report):
    return backend_report(request.param)


def _errors(section):
    return {name: result["error"] for name, result in section.items() if "error" in result}


def test_the_script_ran_on_the_requested_backend(report):
    assert report["backend"] == report["requested_backend"]


def test_every_model_builds_and_predicts_probabilities(report):
    predictions = report["predictions"]
    assert _errors(predictions) == {}
    assert list(predictions) == report["registered"]
    assert report["registered"][:30] == list(paper.table1_parameters())
    for name, result in predictions.items():
        assert result["shape"] == [2, 1], name
        assert result["finite"], name
        assert 0.0 <= result["min"] <= result["max"] <= 1.0, name


def test_one_training_step_gives_a_finite_loss(report):
    # LiqExp1N2 fails here on JAX when the LTC's integer-valued reversal potentials are not cast.
    training = report["training"]
    assert _errors(training) == {}
    assert {"LiqExp1N2", "CNNExp1N1", "LSTMExp5N2"} <= set(training)
    for name, result in training.items():
        assert result["finite"] and np.isfinite(result["loss"]), name
        assert 0.0 < result["loss"] < 5.0, name  # binary cross-entropy of a fresh model is near log(2)


def test_training_is_deterministic_and_says_so(report):
    # configure_backend turns on each backend's deterministic kernels (XLA's flag on JAX,
    # op determinism on TensorFlow, deterministic algorithms on PyTorch); metrics files record it.
    determinism = report["determinism"]
    assert _errors({"determinism": determinism}) == {}
    assert determinism["enabled"] is True
    # TensorFlow's multithreaded CPU kernels vary in the last bits even so (docs/performance.md):
    # two fits in one process agree only now and then, so the report does not compare them there.
    assert determinism["same_weights"] is (None if report["backend"] == "tensorflow" else True)


def test_keras_files_round_trip_with_identical_predictions(report):
    roundtrip = report["roundtrip"]
    assert _errors(roundtrip) == {}
    assert {"LiqExp1N5", "CNNExp2N4", "LSTMExp5N2", "LiqExp3N3"} <= set(roundtrip)
    for name, result in roundtrip.items():
        before, after = np.array(result["before"]), np.array(result["after"])
        assert before.shape == (2, 1), name
        assert np.all((before > 0) & (before < 1)), f"{name}: saturated predictions test nothing"
        np.testing.assert_allclose(after, before, atol=1e-6, rtol=0, err_msg=name)
        assert result["same_weight_count"], name
        assert "keras_lnn>SliceWise" in result["loaded_classes"], name
    assert "keras_lnn>LTC" in roundtrip["LiqExp1N5"]["loaded_classes"]
    assert "keras_lnn>LTC" in roundtrip["LiqExp3N3"]["loaded_classes"]
    if "CfcExp6N1" in roundtrip:
        assert "keras_lnn>CfC" in roundtrip["CfcExp6N1"]["loaded_classes"]


def test_ltc_weights_are_float32(report):
    result = report["ltc_dtypes"]
    assert "error" not in result, result.get("error")
    dtypes = result["dtypes"]
    assert len(dtypes) == 30  # two LTC layers of 15 weights each in LiqExp1N5
    assert {path: dtype for path, dtype in dtypes.items() if dtype != "float32"} == {}


def test_audit_reports_all_30_models_matching(report):
    audit = report["audit"]
    assert "error" not in audit, audit.get("error")
    assert audit["mismatches"] == []
    assert audit["count"] == audit["matching"] == 30
    assert audit["models"] == list(paper.table1_parameters())
