"""The backends' start-up log lines stay off the command line's stderr; --verbose and KERAS_LNN_LOG bring them back."""
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from keras_lnn.system import logs
from keras_lnn.cli import main

# What TensorFlow 2.21 writes while it loads, on a machine without a GPU (absl's pre-set-up format).
START_UP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795840676.492464    6187 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1795840676.492801    6187 cudart_stub.cc:31] Could not find cuda drivers on your machine.",
    "E0000 00:00:1795840695.191182    6278 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)",
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not find cuda drivers",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
]
NOISE_WORDS = ("oneDNN", "cuda", "absl", "cpu_feature_guard", "cuInit")


def _fresh_env(**changes):
    """This environment without the log settings a user or conftest.py may have made, plus `changes`."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", logs.LOG_ENV)}
    env.update(KERAS_BACKEND="tensorflow", **changes)
    return env


def _run(args, **env):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_fresh_env(**env), timeout=300)


@pytest.mark.parametrize("line", START_UP)
def test_start_up_lines_are_log_lines(line):
    assert logs.is_backend_log_line(line) and logs.is_backend_log_line(line + "\n")


@pytest.mark.parametrize("line", [
    "Traceback (most recent call last):",
    "UserWarning: something the user should see",
    "F0000 00:00:1795840676.492464    6187 port.cc:153] a fatal error passes",
    "Error: no metrics.json found under x",
])
def test_other_lines_are_not(line):
    assert not logs.is_backend_log_line(line)


def test_filtered_stderr_drops_only_the_log_lines(capfd):
    with logs.filtered_stderr():
        os.write(2, ("\n".join(START_UP[:3]) + "\na line of the program\n").encode())  # as C++ writes: the descriptor
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "a line of the program\nafter\n"


def test_filtered_stderr_restores_the_descriptor_after_an_error(capfd):
    with pytest.raises(ImportError), logs.filtered_stderr():
        os.write(2, b"kept\n")
        raise ImportError("no such backend")
    os.write(2, b"written after\n")
    assert capfd.readouterr().err == "kept\nwritten after\n"


@pytest.mark.slow
def test_command_line_prints_only_its_own_output():
    quiet = _run(["-m", "keras_lnn.cli", "list", "exp1"])
    assert quiet.returncode == 0, quiet.stderr
    assert "CNNExp1N4" in quiet.stdout
    assert not [line for line in quiet.stderr.splitlines() if any(word in line for word in NOISE_WORDS)], quiet.stderr
    verbose = _run(["-m", "keras_lnn.cli", "--verbose", "list", "exp1"])
    assert verbose.returncode == 0 and verbose.stdout == quiet.stdout
    # Where this TensorFlow logs while it loads, --verbose shows it; the quiet run above did not.
    assert all(logs.is_backend_log_line(line) for line in verbose.stderr.splitlines()
               if any(word in line for word in ("oneDNN", "cudart_stub", "absl::InitializeLog")))


@pytest.mark.slow
def test_child_processes_inherit_the_quiet():
    # What a --jobs worker or an export's TensorFlow process does: import keras_lnn, then the backend.
    code = "import keras_lnn, tensorflow; print(type(tensorflow.__spec__.loader).__name__)"
    child = _run(["-c", code], KERAS_LNN_LOG="0")
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() != "_FilteredLoader"  # the module keeps its own loader
    assert not [line for line in child.stderr.splitlines() if logs.is_backend_log_line(line)], child.stderr


@pytest.mark.parametrize("args, env_value, expected", [
    ([], None, "0"),
    (["--verbose"], None, "1"),
    ([], "1", "1"),
])
def test_the_choice_is_passed_to_child_processes(monkeypatch, args, env_value, expected):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the filter installed here is dropped after
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    if env_value is None:
        monkeypatch.delenv(logs.LOG_ENV, raising=False)
    else:
        monkeypatch.setenv(logs.LOG_ENV, env_value)
    result = CliRunner().invoke(main, [*args, "datasets", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert os.environ[logs.LOG_ENV] == expected
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"  # the user's own level wins
