"""Shared fixtures: tiny synthetic MedMNIST files, a loopback HTTP mirror, and the real files when present."""
import os

# The main pytest process runs on TensorFlow; tests/test_backends.py covers JAX and PyTorch in
# subprocesses. This must happen before anything imports keras.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import dataclasses
import functools
import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from keras_lnn.data import info as info_module
from keras_lnn.data import file_md5

SHARED = Path(__file__).parents[1] / ".." / "shared"
SHARED_MEDMNIST = SHARED / "medmnist"

# ARCHITECTURES.md: PyTorch's LSTM/RNN layers carry a second bias vector, so Keras counts fewer
# trainable parameters (4*u per LSTM layer, u per SimpleRNN layer). This is the spec, not the code.
DOCUMENTED_DELTAS = {
    "LSTMExp5N2": -160,
    "LSTMExp5N3": -164,
    "LSTMExp5N4": -320,
    "RNNExp5N5": -40,
    "RNNExp5N6": -80,
}


def _shared_folder(name, what):
    path = (SHARED / name).resolve()
    if not path.is_dir():
        pytest.skip(f"{what} not found at {path}")
    return path


@pytest.fixture
def shared_medmnist():
    """The read-only folder of real MedMNIST files next to the repository; skips where it is absent."""
    return _shared_folder("medmnist", "real MedMNIST files")


@pytest.fixture
def shared_paper():
    """The read-only folder with the paper's tables (table1_parameters.csv, ...); skips where it is absent."""
    return _shared_folder("paper", "the paper's tables")


def modules_imported_by(statement, candidates):
    """Runs `statement` in a fresh interpreter; returns which of `candidates` ended up in sys.modules."""
    code = f"import sys; {statement}; print(sorted(m for m in {tuple(candidates)!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def write_medmnist_npz(path, size=28, counts=(4, 2, 2), n_classes=2, overrides=None, drop=(), seed=0):
    """Writes a MedMNIST-layout .npz (uint8 images (N, S, S, S), uint8 labels (N, 1)) and returns its path.

    `overrides` maps a key (e.g. "val_labels") to the array to store instead; keys in `drop` are left out.
    """
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in zip(("train", "val", "test"), counts):
        # Full 0-255 range so tests can see that values are not rescaled.
        arrays[f"{split}_images"] = rng.integers(0, 256, size=(n, size, size, size), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(n) % n_classes).astype(np.uint8).reshape(n, 1)
    arrays.update(overrides or {})
    for key in drop:
        del arrays[key]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture
def make_medmnist(tmp_path):
    """Factory: make_medmnist(name="adrenal", size=28, directory=tmp_path/"data", **write_medmnist_npz kwargs)."""

    def make(name="adrenal", size=28, directory=None, **kwargs):
        info = info_module.resolve_dataset(name)
        kwargs.setdefault("n_classes", info.n_classes)
        directory = tmp_path / "data" if directory is None else Path(directory)
        return write_medmnist_npz(directory / info.filename(size), size=size, **kwargs)

    return make


@pytest.fixture
def patch_info(monkeypatch):
    """patch_info(name, size=28, md5=None, n_samples=None): make DATASETS expect another MD5 / split sizes."""

    def patch(name, size=28, md5=None, n_samples=None):
        info = info_module.resolve_dataset(name)
        changes = {}
        if md5 is not None:
            changes["md5s"] = {**info.md5s, size: md5}
        if n_samples is not None:
            changes["n_samples"] = dict(n_samples)
        monkeypatch.setitem(info_module.DATASETS, info.name, dataclasses.replace(info, **changes))

    return patch


@pytest.fixture
def make_official(make_medmnist, patch_info):
    """Writes a synthetic file and patches DATASETS so that it counts as the official one (MD5, split sizes)."""

    def make(name="adrenal", size=28, counts=(4, 2, 2), **kwargs):
        path = make_medmnist(name, size, counts=counts, **kwargs)
        patch_info(name, size, md5=file_md5(path), n_samples=dict(zip(("train", "val", "test"), counts)))
        return path

    return make


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_mirror():
    """serve(directory) -> base URL of a loopback HTTP server for that folder (stopped after the test)."""
    servers = []

    def serve(directory):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url():
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# One model of each kind the registry builds: CNN, LTC (AutoNCP and FullyConnected), LSTM, CfC and
# mixed-memory LTC, as `lnn-keras run` experiments.
DEPLOY_RUNS = {"paper": ("CNNExp1N4", "LiqExp1N2", "LiqExp2N2", "LSTMExp5N2"), "exp6": ("CfcExp6N1", "LiqExp6N5")}
DEPLOY_MODELS = tuple(name for names in DEPLOY_RUNS.values() for name in names)


def run_cli(*args, backend="tensorflow", timeout=1800):
    """`lnn-keras ARGS` in a fresh interpreter; returns its stdout (asserting exit 0)."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "keras_lnn.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="session")
def deployed_run(tmp_path_factory):
    """A one-epoch run of DEPLOY_MODELS on the real AdrenalMNIST3D, exported to all three formats."""
    shared = SHARED_MEDMNIST.resolve()
    if not (shared / "adrenalmnist3d.npz").is_file():
        pytest.skip(f"real MedMNIST files not found at {shared}")
    out = tmp_path_factory.mktemp("deploy")
    for experiment, names in DEPLOY_RUNS.items():
        run_cli("run", experiment, "--dataset", "adrenal", "--data-dir", str(shared), "--models", ",".join(names),
             "--max-epochs", "1", "--output", str(out), "--quiet")
    run_dirs = sorted(p for p in out.iterdir() if p.is_dir())  # `paper` writes one folder per experiment
    printed = run_cli("export", *map(str, run_dirs), "--format", "onnx", "--format", "litert")
    return run_dirs, shared / "adrenalmnist3d.npz", printed


