"""scripts/benchmark.py runs on tiny synthetic data and prints the documented JSON.

The first test runs the default per-model mode (each training in a child process); the JAX ones
pass `--in-process` (one interpreter per command, not one per training), and the experiment mode
runs in this process.
"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "scripts" / "benchmark.py"


def _benchmark(*args, backend="tensorflow"):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_per_model_benchmark_prints_timings(make_medmnist, tmp_path):
    make_medmnist("adrenal", counts=(10, 4, 4))
    records = _benchmark("--models", "CNNExp1N4,LiqExp1N2", "--dataset", "adrenal", "--data-dir",
                         str(tmp_path / "data"), "--no-verify", "--epochs", "3", "--batch-size", "4")
    assert [r["model"] for r in records] == ["CNNExp1N4", "LiqExp1N2"]
    for record in records:
        assert {"model", "implementation", "layer_only", "backend", "device", "first_epoch_s", "steady_epoch_s",
                "steady_epoch_median_per_repeat_s", "repeats", "epochs", "samples", "deterministic_ops", "final_loss",
                "weights_md5", "same_weights_every_repeat", "date", "machine", "command"} <= set(record)
        assert record["backend"] == "tensorflow" and record["device"] == "cpu"
        assert record["samples"] == 10 and record["epochs"] == 3 and record["repeats"] == 1
        assert record["implementation"] == "fast" and not record["layer_only"]
        spread = record["steady_epoch_s"]
        assert 0 < spread["min"] <= spread["median"] <= spread["max"]
        assert record["deterministic_ops"] is True and record["final_loss"] > 0


@pytest.mark.slow
def test_both_implementations_side_by_side_with_their_spread(make_medmnist, tmp_path):
    make_medmnist("adrenal", counts=(10, 4, 4))
    records = _benchmark("--models", "LiqExp1N2", "--dataset", "adrenal", "--data-dir", str(tmp_path / "data"),
                         "--no-verify", "--epochs", "3", "--batch-size", "4", "--implementation", "fast,ncps",
                         "--repeats", "2", "--layer-only", "--in-process", backend="jax")
    assert [(r["model"], r["implementation"]) for r in records] == [("LiqExp1N2", "fast"), ("LiqExp1N2", "ncps")]
    fast, ncps = records
    for record in records:
        assert record["repeats"] == 2 and record["layer_only"]
        assert len(record["steady_epoch_median_per_repeat_s"]) == 2 and len(record["first_epoch_s"]) == 2
        assert record["same_weights_every_repeat"]  # JAX on the CPU is deterministic
    # The same function with the same weights: training follows the same path, up to float rounding.
    assert abs(fast["final_loss"] - ncps["final_loss"]) < 1e-4


@pytest.mark.slow
def test_a_seed_trains_the_same_weights_in_two_processes(make_medmnist, tmp_path):
    # On JAX, bit for bit (scripts/gpu_determinism.sh asks the same of a GPU). TensorFlow's multithreaded
    # CPU kernels differ in the last bits from process to process (docs/performance.md), so not there.
    make_medmnist("adrenal", counts=(10, 4, 4))
    args = ("--models", "CNNExp1N4,LiqExp1N2", "--dataset", "adrenal", "--data-dir", str(tmp_path / "data"),
            "--no-verify", "--epochs", "2", "--batch-size", "4", "--in-process")
    first, second = _benchmark(*args, backend="jax"), _benchmark(*args, backend="jax")
    assert [r["weights_md5"] for r in first] == [r["weights_md5"] for r in second]
    assert first[0]["weights_md5"] != first[1]["weights_md5"]
    assert all(r["deterministic_ops"] for r in first)


def _benchmark_here(capsys, *args):
    """scripts/benchmark.py's main in this (TensorFlow) process; its JSON."""
    spec = importlib.util.spec_from_file_location("benchmark_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    capsys.readouterr()
    script.main(list(args))
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow  # fresh interpreters or trainings to early stopping: not in the quick subset
def test_experiment_benchmark_times_a_run_to_early_stopping(make_medmnist, tmp_path, capsys,
                                                          skip_savedmodel_export):
    # The record times the trainings; the SavedModel export is tested by the run tests. Two of exp5's
    # models (its LTC and a SimpleRNN, `--models` as `lnn-keras run` takes it): the mode under test is
    # the script's, every model's training is tested elsewhere.
    make_medmnist("adrenal", counts=(8, 4, 4))
    [record] = _benchmark_here(capsys, "--experiment", "exp5", "--models", "LiqExp5N1,RNNExp5N5", "--dataset",
                               "adrenal", "--data-dir", str(tmp_path / "data"), "--no-verify", "--max-epochs", "2",
                               "--batch-size", "4")
    assert record["models"] == 2 and record["epochs_total"] <= 4 and record["wall_s"] > 0
    assert record["models_requested"] == ["LiqExp5N1", "RNNExp5N5"]
    assert {m["model"] for m in record["per_model"]} == {"LiqExp5N1", "RNNExp5N5"}
    assert all(0 < m["epochs"] <= 2 and m["train_s"] > 0 for m in record["per_model"])


def test_benchmark_needs_models_or_an_experiment(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _benchmark_here(capsys, "--dataset", "adrenal")
    assert exit_info.value.code == 2
    assert "give --models, --experiment, or both" in capsys.readouterr().err
