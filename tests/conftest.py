"""Shared fixtures: tiny synthetic MedMNIST files, a loopback HTTP mirror, the real files when present,
and session-wide products that several test files read (built once per `pytest` run).

Session fixtures (read them, never change them: other tests see the same objects):
    zoo               {name: model}: every registered model built once at 28^3, binary, untrained.
    models_from_zoo   a context manager: inside it `keras_lnn.models.create_model` answers 28^3
                      binary builds from `zoo` (for code that builds models only to read them, like
                      the audit); any other build is made as usual.
    backend_report    backend_report(name) -> the JSON report of tests/backend_checks.py on that
                      Keras backend: a fresh interpreter for JAX and PyTorch (one per session, also
                      running tests/layer_equivalence.py), in process for TensorFlow.
    deployed_run      a one-epoch run of DEPLOY_MODELS on the real AdrenalMNIST3D and VesselMNIST3D,
                      in all formats (a `DeployedRun`).
    serve_saved_model serve_saved_model(saved_model_dir, npz) -> what the SavedModel's serving_default
                      gives for the file's test volumes, in one plain TensorFlow process (`python -I`,
                      no KERAS_BACKEND, never importing keras_lnn or ncps) for the whole session.

The `slow` marker (setup.cfg) flags fresh interpreters and longer trainings; tests using
`shared_medmnist` or `deployed_run` get it here automatically. `pytest -m "not slow"` is the quick subset.

Per-test fixtures beside the file-makers below:
    skip_savedmodel_export  runs in this process write no SavedModel (`keras_lnn.deploy.export.
                      export_saved_model` does nothing), for run tests that check no SavedModel: the
                      export is a TensorFlow trace and write per model. Workers of `--jobs` and
                      subprocesses still export.
"""
import os

# The main pytest process runs on TensorFlow; tests/test_backends.py covers JAX and PyTorch in
# subprocesses. This must happen before anything imports keras.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import contextlib
import dataclasses
import functools
import importlib.util
import json
import queue
import tempfile
import textwrap
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
from keras_lnn.system import allocator

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


# Fixtures whose tests belong to the slow part of the suite, whoever uses them: training on the real
# files (minutes on a CPU), the session's deploy run and test_levers.py's killed-and-resumed runs. `pytest -m "not slow"` leaves them out.
SLOW_FIXTURES = {"shared_medmnist", "deployed_run", "levers_runs"}


# Under pytest-xdist (setup.cfg runs `-n 2 --dist loadgroup`), each worker makes the session and
# module fixtures its own tests ask for. Tests that share an expensive product go to one worker so
# that it is made once: a module fixture's tests by file and fixture, `backend_report`'s by backend
# (one fresh interpreter each), `deployed_run`'s together. Cheap shared fixtures (`zoo`, the
# serving process) are made once per worker instead: cheaper than keeping their tests on one.
GROUPED_SESSION_FIXTURES = {"deployed_run"}


def xdist_group(item):
    """The name of the worker group `item` belongs to, or None for a test any worker may run."""
    fixture_defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    names = set(getattr(item, "fixturenames", ()))
    if "backend_report" in names:
        params = getattr(getattr(item, "callspec", None), "params", {})
        backends = sorted(value for value in params.values() if value in BACKEND_MODULES)
        return f"backend_report-{backends[0] if backends else 'tensorflow'}"
    for name in sorted(names & GROUPED_SESSION_FIXTURES):
        return name
    for name in sorted(names):
        definitions = fixture_defs.get(name, ())
        if definitions and definitions[-1].scope == "module":
            return f"{item.path.name}::{name}"
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        group = xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


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


@pytest.fixture
def skip_savedmodel_export(monkeypatch):
    """Runs in this process skip the SavedModel export (for tests that check no SavedModel)."""
    from keras_lnn.deploy import export

    monkeypatch.setattr(export, "export_saved_model", lambda model, path: None)


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


# One model of each kind the registry builds: CNN, LTC, LSTM, CfC and mixed-memory LTC, as `lnn-keras
# run` experiments, on both real files. A FullyConnected LTC (LiqExp2N2) exports the same operations
# as LiqExp1N2's AutoNCP one less one product (`Synapses.spread`); tests/layer_equivalence.py computes
# it on every backend.
DEPLOY_RUNS = {("paper", "adrenal"): ("CNNExp1N4", "LiqExp1N2", "LSTMExp5N2"),
               ("exp6", "vessel"): ("CfcExp6N1", "LiqExp6N5")}
DEPLOY_MODELS = tuple(name for names in DEPLOY_RUNS.values() for name in names)


@dataclasses.dataclass(frozen=True)
class DeployedRun:
    """`deployed_run`: its run folders, the real file each was trained on, and what the export printed."""

    run_dirs: list
    data_files: dict  # run folder -> its .npz
    printed: str

    def run_dir(self, folder):
        """The run folder named `folder`, e.g. `"exp1_adrenal"`."""
        [run_dir] = [d for d in self.run_dirs if d.name == folder]
        return run_dir

    def model_dir(self, name):
        [model_dir] = [d / name for d in self.run_dirs if (d / name).is_dir()]
        return model_dir

    def data_file(self, name):
        """The file the model `name` was trained on."""
        return self.data_files[self.model_dir(name).parent]


def run_cli(*args, backend="tensorflow", timeout=1800):
    """`lnn-keras ARGS` in a fresh interpreter; returns its stdout (asserting exit 0)."""
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "keras_lnn.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def invoke_cli(args):
    """click's result of `lnn-keras ARGS` in this process; an exception other than an exit is raised."""
    from click.testing import CliRunner

    from keras_lnn.cli import main

    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def run_cli_here(*args):
    """`lnn-keras ARGS` in this (TensorFlow) process; returns its output (asserting exit 0)."""
    result = invoke_cli(args)
    assert result.exit_code == 0, result.output[-3000:]
    return result.output


@pytest.fixture(scope="session")
def deployed_run(tmp_path_factory):
    """A one-epoch run of DEPLOY_MODELS on the real AdrenalMNIST3D and VesselMNIST3D, exported to all three formats."""
    shared = SHARED_MEDMNIST.resolve()
    files = {dataset: shared / info_module.DATASETS[dataset].filename() for _, dataset in DEPLOY_RUNS}
    if not all(path.is_file() for path in files.values()):
        pytest.skip(f"real MedMNIST files not found at {shared}")
    out = tmp_path_factory.mktemp("deploy")
    data_files = {}
    for (experiment, dataset), names in DEPLOY_RUNS.items():
        run_cli_here("run", experiment, "--dataset", dataset, "--data-dir", str(shared), "--models", ",".join(names),
                     "--max-epochs", "1", "--output", str(out / dataset), "--quiet")
        # `paper` writes one folder per experiment.
        data_files.update({run_dir: files[dataset] for run_dir in (out / dataset).iterdir() if run_dir.is_dir()})
    run_dirs = sorted(data_files, key=lambda run_dir: run_dir.name)
    printed = run_cli_here("export", *map(str, run_dirs), "--format", "onnx", "--format", "litert")
    return DeployedRun(run_dirs, data_files, printed)


@pytest.fixture(scope="session")
def zoo():
    """Every registered model, built once per session at 28^3 (binary): for tests that only read them."""
    from keras_lnn import models

    return {name: models.create_model(name) for name in models.list_models()}


@pytest.fixture(scope="session")
def models_from_zoo(zoo):
    """`with models_from_zoo():` makes `keras_lnn.models.create_model` hand out the `zoo`'s 28^3 binary models.

    Only for code that builds models to read them (parameter counts, one prediction), never to
    train or change them; other sizes, class counts and unknown names are built as usual.
    """
    from keras_lnn import models

    @contextlib.contextmanager
    def answering():
        create = models.create_model

        def create_model(name, input_size=28, n_classes=2):
            if input_size == 28 and n_classes == 2 and name in zoo:
                return zoo[name]
            return create(name, input_size=input_size, n_classes=n_classes)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(models, "create_model", create_model)
            yield

    return answering


BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
BACKEND_CHECKS = Path(__file__).with_name("backend_checks.py")
# What the TensorFlow report leaves to the in-process tests: tests/test_layers.py runs the layer
# equivalence itself, and this process imported TensorFlow long before any model was built.
IN_PROCESS_SKIPS = ("layer_equivalence", "tensorflow_after_building")


def _backend_report_in_process(models_from_zoo):
    """tests/backend_checks.py's checks in this (TensorFlow) process; the zoo serves the builds that only read."""
    import keras

    from keras_lnn import models, training
    from tests import backend_checks

    report = {"requested_backend": "tensorflow", "backend": keras.backend.backend(),
              "registered": models.list_models()}
    with tempfile.TemporaryDirectory() as directory:
        training.configure_backend(deterministic=True)
        with models_from_zoo():
            read_only, timings = backend_checks.run_checks(keras, np, models, directory, only=("predictions", "audit"))
        trained, more = backend_checks.run_checks(
            keras, np, models, directory, only=("training", "roundtrip", "ltc_dtypes", "determinism"))
    return {**report, **read_only, **trained, "timings": {**timings, **more}}


# XLA's CPU compiler without LLVM's optimizations, for the JAX checks that compile hundreds of
# programs to run each once or twice on a few volumes: the same HLO programs (XLA's own passes
# still run), compiled in half the time (the JAX report: 150 -> 93 CPU-s). Only the tests' child
# processes get it; the package leaves XLA's defaults alone.
FAST_XLA_COMPILE = "--xla_backend_optimization_level=0"


def _backend_report_in_subprocess(backend):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if backend == "jax":
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {FAST_XLA_COMPILE}".strip()
    env = allocator.training_environment(env) or env  # as `lnn-keras run` trains: huge pages on JAX
    process = subprocess.run([sys.executable, str(BACKEND_CHECKS)], env=env, capture_output=True, text=True,
                             timeout=1500)
    assert process.returncode == 0, f"backend_checks.py failed on {backend}:\n{process.stderr[-4000:]}"
    lines = process.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line on stdout, got:\n{process.stdout[-2000:]}"
    return json.loads(lines[0])


@pytest.fixture(scope="session")
def backend_report(request):
    """backend_report(backend) -> tests/backend_checks.py's report on that backend, made once per session."""
    reports = {}

    def report(backend):
        if importlib.util.find_spec(BACKEND_MODULES[backend]) is None:
            pytest.skip(f"{BACKEND_MODULES[backend]} is not installed")
        if backend not in reports:
            if backend == "tensorflow":
                reports[backend] = _backend_report_in_process(request.getfixturevalue("models_from_zoo"))
            else:
                reports[backend] = _backend_report_in_subprocess(backend)
        return reports[backend]

    return report


# One request per line on stdin ([saved_model_dir, npz]); one "SERVED {json}" line per request on stdout.
SERVE_LOOP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    for line in sys.stdin:
        saved_model, npz = json.loads(line)
        try:
            model = tf.saved_model.load(saved_model)
            signature = model.signatures["serving_default"]
            x = np.load(npz)["test_images"][..., None].astype("float32")
            out = signature(volume=tf.constant(x))
            reply = {
                "outputs": list(out),
                "inputs": {k: [v.shape.as_list(), v.dtype.name]
                           for k, v in signature.structured_input_signature[1].items()},
                "probability": out["probability"].numpy().tolist(),
                "leaked": [m for m in ("keras_lnn", "ncps") if m in sys.modules],
            }
        except Exception as error:
            reply = {"error": f"{type(error).__name__}: {error}"[:3000]}
        print("SERVED " + json.dumps(reply), flush=True)
    """
)


class _SavedModelServer:
    """A plain TensorFlow process answering SavedModel requests (started at the first one)."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.process = None
        self.lines = queue.Queue()

    def _start(self):
        env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([sys.executable, "-I", "-c", SERVE_LOOP], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.process.stdout] + [self.lines.put("")],
                         daemon=True).start()

    def __call__(self, saved_model, npz, timeout=300):
        if self.process is None:
            self._start()
        assert self.process.poll() is None, f"the serving process ended: {Path(self.log_path).read_text()[-3000:]}"
        self.process.stdin.write(json.dumps([str(saved_model), str(npz)]) + "\n")
        self.process.stdin.flush()
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no answer for {saved_model} within {timeout} s") from None
            assert line, f"the serving process ended: {Path(self.log_path).read_text()[-3000:]}"
            if line.startswith("SERVED "):
                reply = json.loads(line[len("SERVED "):])
                assert "error" not in reply, f"{saved_model}: {reply.get('error')}"
                return reply

    def close(self):
        if self.process is not None:
            self.process.stdin.close()
            self.process.wait(timeout=60)
            self.log.close()


@pytest.fixture(scope="session")
def serve_saved_model(tmp_path_factory):
    """serve_saved_model(saved_model_dir, npz) -> {"outputs", "inputs", "probability", "leaked"}: the
    SavedModel's serving_default on the file's test volumes, in one plain TensorFlow process
    (isolated mode, no KERAS_BACKEND) that serves every SavedModel of the session."""
    server = _SavedModelServer(tmp_path_factory.mktemp("serving") / "stderr.txt")
    yield server
    server.close()
