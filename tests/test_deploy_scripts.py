"""scripts/export_check.py and scripts/deploy_benchmark.py run and print the documented JSON."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # fresh interpreters, one per run or script

SCRIPTS = Path(__file__).parents[1] / "scripts"


def _script(name, *args):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_export_check_runs_every_format_of_the_chosen_models():
    [record] = _script("export_check.py", "--models", "CNNExp1N4")
    assert record["model"] == "CNNExp1N4" and record["classes"] == 2
    for fmt in ("saved_model", "onnx", "litert"):
        assert isinstance(record[fmt], float) and record[fmt] <= 1e-5, (fmt, record[fmt])


def test_deploy_benchmark_gives_size_and_latency_per_format():
    records = _script("deploy_benchmark.py", "--models", "CNNExp1N4", "--runs", "5", "--warmup", "1")
    assert [r["format"] for r in records] == ["keras", "saved_model", "onnx", "litert"]
    for record in records:
        assert record["size_bytes"] > 10_000
        latency = record["latency_ms"]
        assert 0 < latency["min"] <= latency["median"] <= latency["max"]
        assert record["max_abs_difference_to_keras"] <= 1e-5
        assert record["batch"] == 1 and record["runs"] == 5
