"""scripts/benchmark.py: machine facts in every record, thread-setting grids, and the paper's code side by side."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_lnn.system import machine

SCRIPT = Path(__file__).parents[1] / "scripts" / "benchmark.py"

# Stands in for the paper's bench_reference.py: prints its record format, and what it was given.
FAKE_REFERENCE = '''
import json, sys, torch
npz, _, models, _, epochs = sys.argv[1:]
print(json.dumps({"model": models, "implementation": "paper-pytorch", "first_epoch_s": 2.0, "steady_epoch_s": 1.5,
                  "torch": torch.__version__, "threads": torch.get_num_threads(), "machine": "x", "npz": npz,
                  "epochs": int(epochs)}))
'''


def _benchmark(*args):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow  # fresh interpreters or trainings to early stopping: not in the quick subset
def test_thread_grid_and_reference_records_carry_the_machine(make_medmnist, tmp_path):
    make_medmnist("adrenal", counts=(8, 4, 4))
    reference = tmp_path / "paper"
    reference.mkdir()
    (reference / "bench_reference.py").write_text(FAKE_REFERENCE)
    records = _benchmark("--models", "CNNExp1N4", "--dataset", "adrenal", "--data-dir", str(tmp_path / "data"),
                         "--no-verify", "--epochs", "2", "--batch-size", "4", "--threads", "1:1", "--onednn", "0,1",
                         "--reference", str(reference))
    assert [(r["implementation"], r["threads_setting"], r["onednn_setting"]) for r in records] == [
        ("fast", "1:1", "0"), ("fast", "1:1", "1"), ("paper-pytorch", None, None)]
    off, on, paper = records
    # Each child ran with what it was given, as TensorFlow itself reports it (this machine's default is 2 cores).
    assert off["threads"]["tensorflow"] == on["threads"]["tensorflow"] == {"intra_op": 1, "inter_op": 1}
    assert (off["onednn"]["enabled"], on["onednn"]["enabled"]) == (False, True)
    assert off["onednn"]["checked"] == "tensorflow" and off["onednn"]["source"] == "user"
    for record in records:
        assert record["cpu"]["features"] == machine.cpu_facts()["features"] and record["cpu"]["model"]
    assert paper["model"] == "CNNExp1N4" and paper["steady_epoch_s"] == {"min": 1.5, "median": 1.5, "max": 1.5}
    assert paper["threads"]["torch"]["intra_op"] >= 1 and paper["onednn"] is None


def test_a_bad_thread_setting_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--models", "CNNExp1N4", "--threads", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "--threads: '2' is not INTRA:INTER" in done.stderr


def test_grid_throughput_refuses_an_unknown_way():
    script = SCRIPT.parent / "grid_throughput.py"
    done = subprocess.run([sys.executable, str(script), "--cores", "2", "--ways", "Cx1,3x7"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0 and "--ways: unknown ['3x7']; the ways are 1x2, 2x1 pinned, 2x1, 2x2" in done.stderr


@pytest.mark.slow  # a fresh PyTorch interpreter
def test_a_pytorch_worker_takes_its_share_of_the_cores():
    # What `--jobs` gives each worker on a CPU (`machine.worker_threads`), set as the worker starts.
    code = ("from keras_lnn.runs.workers import _start_worker; _start_worker(True, (1, 1)); import torch; "
            "print(torch.get_num_threads(), torch.get_num_interop_threads())")
    env = {**os.environ, "KERAS_BACKEND": "torch", "KERAS_LNN_LOG": "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["1", "1"]
    assert machine.worker_threads(2, "torch", environ={}, cores=2) == (1, 1)
