"""scripts/profile_step.py and scripts/encoder_forms.py: one epoch profiled, and the JAX encoder forms timed, as JSON."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "profile_step.py"


def _profile(backend, *args):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("backend, conv_op", [("torch", "aten::mkldnn_convolution"), ("jax", "encoder_E2")])
def test_profile_lists_the_encoders_operations(make_medmnist, tmp_path, backend, conv_op):
    make_medmnist("adrenal", counts=(8, 4, 4))
    done = _profile(backend, "CNNExp1N1", "--data-dir", str(tmp_path / "data"), "--no-verify", "--batch-size", "4",
                    "--top", "30")
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(done.stdout)
    assert record["model"] == "CNNExp1N1" and record["backend"] == backend
    assert record["profiled_epoch_s"] > 0 and record["ops_total_ms"] > 0 and 0 < len(record["ops"]) <= 30
    assert [op["ms"] for op in record["ops"]] == sorted((op["ms"] for op in record["ops"]), reverse=True)
    # The slice encoder's own operations are among the costly ones, named by op (PyTorch) or scope (JAX).
    assert any(conv_op in op["op"] or conv_op in op.get("scope", "") for op in record["ops"])
    assert record["cpu"]["cores"] >= 1


def test_tensorflow_is_refused_with_one_line():
    done = _profile("tensorflow", "CNNExp1N1")
    assert done.returncode != 0 and "profiles JAX and PyTorch" in done.stderr and "Traceback" not in done.stderr


ENCODER_FORMS = Path(__file__).parents[1] / "scripts" / "encoder_forms.py"


@pytest.mark.slow
def test_encoder_forms_agree_and_print_their_times():
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(ENCODER_FORMS), "--images", "8", "--repeats", "2"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]  # it exits non-zero where a form disagrees with XLA's layers
    record = json.loads(done.stdout)
    assert set(record["ms_per_batch"]) == {"banded", "banded-whole-rows", "im2col", "xla"} and record["images"] == 8
    for spread in record["ms_per_batch"].values():
        assert 0 < spread["min"] <= spread["median"] <= spread["max"]
