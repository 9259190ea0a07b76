"""Fault injection: `lnn-keras run` SIGKILLed at random moments and resumed, and two identical commands at once.

Every run here is a process of its own on TensorFlow with one CPU thread, which is bit for bit
reproducible from process to process (README, Reproducibility), so an interrupted run can be
compared with an uninterrupted one exactly. The processes are forked from one that imported
TensorFlow and keras_lnn once (tests/preloaded.py: a dozen TensorFlow imports saved);
tests/test_runs.py's SIGKILL and Ctrl-C are fresh interpreters.
"""
import csv
import json
import os
import random
import textwrap

import numpy as np
import pytest

from keras_lnn.training import read_history
from tests import preloaded

pytestmark = pytest.mark.slow  # fresh interpreters, one per run or script

MODELS = ("CNNExp1N1", "CNNExp1N4")  # the order they train in
EPOCHS = 3
ENV = {
    **os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "KERAS_LNN_LOG": "0",
}

# argv: mode, argument, then `lnn-keras` arguments. Modes:
#   clock SECONDS   SIGKILL itself SECONDS after its first model starts (a random moment of the work),
#                   or at the last model's next backup or metrics.json if that comes first;
#   hook POINT      SIGKILL itself at POINT (see HOOKS) the first time it is reached;
#   none -          no kill; prints how long the work took after the first model started.
DRIVER = textwrap.dedent(
    """
    import atexit, os, signal, sys, threading, time
    from keras_lnn.deploy import export
    from keras_lnn.runs import model_run
    from keras_lnn.training import resume
    mode, argument = sys.argv[1], sys.argv[2]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def wrap(owner, name, before=None, after=None):
        original = getattr(owner, name)
        def wrapper(*args, **kwargs):
            if before and before(*args):
                die()
            result = original(*args, **kwargs)
            if after and after(*args):
                die()
            return result
        setattr(owner, name, wrapper)

    named = lambda file_name: lambda path, *rest: os.path.basename(path) == file_name
    always = lambda *args: True
    HOOKS = {
        # saving a backup: the epoch's weights written, the metadata not yet switched to them
        "backup": lambda: wrap(resume, "atomic_write_json", before=named("training_metadata.json")),
        "save-keras": lambda: wrap(model_run, "_save_keras", after=always),  # model.keras written, nothing after it
        "export": lambda: wrap(export, "atomic_replace_dir", before=always),  # the SavedModel being written
        "metrics": lambda: wrap(model_run, "atomic_write_json", after=named("metrics.json")),  # sessions.json still there
    }
    if mode == "hook":
        HOOKS[argument]()
    if mode == "clock":
        # A clock never ends the work, however fast this machine or loaded its cores: at the latest it
        # strikes at the last model's next backup or before its metrics.json (a resumed model can have
        # no epoch left to back up), so the named points scheduled after it still have work to reach.
        last = sys.argv[sys.argv.index("--models") + 1].split(",")[-1]
        ends_work = lambda path, *rest: (os.path.basename(path) in ("training_metadata.json", "metrics.json")
                                         and last in str(path).split(os.sep))
        wrap(resume, "atomic_write_json", before=ends_work)
        wrap(model_run, "atomic_write_json", before=ends_work)
    started = []
    def run_model(*args, original=model_run.run_model, **kwargs):
        if not started:
            started.append(time.monotonic())
            if mode == "clock":
                threading.Timer(float(argument), die).start()
        return original(*args, **kwargs)
    model_run.run_model = run_model  # what run_model_locked calls
    atexit.register(lambda: started and print(f"WORK_SECONDS={time.monotonic() - started[0]:.3f}"))
    from keras_lnn.cli import main
    main(sys.argv[3:])
    """
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from tests.conftest import write_medmnist_npz

    root = tmp_path_factory.mktemp("faults")
    write_medmnist_npz(root / "adrenalmnist3d.npz", counts=(24, 8, 8), seed=1)
    return root


def _driver_args(data_dir, out, mode="none", argument="-"):
    args = [
        "run", "exp1", "--dataset", "adrenal", "--models", ",".join(MODELS), "--data-dir", str(data_dir),
        "--no-verify", "--max-epochs", str(EPOCHS), "--batch-size", "16", "--seed", "2", "--output", str(out), "--quiet",
    ]
    return [mode, argument, *args]


def _finish(args, timeout=300):
    """`python -c DRIVER ARGS`'s exit status and output."""
    return preloaded.run(DRIVER, args, ENV, timeout=timeout)


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory):
    """An uninterrupted run: its folder and how long its work took."""
    out = tmp_path_factory.mktemp("reference")
    code, output = _finish(_driver_args(data_dir, out))
    assert code == 0, output[-3000:]
    seconds = float(output.split("WORK_SECONDS=")[1].split()[0])
    return out / "exp1_adrenal", seconds


def _kill_schedule(rng, work_seconds):
    """Four kills at random moments early in the work and three at named points, shuffled; then one after metrics.

    Kills at the named points before metrics.json lose the model's training (it runs again), and a
    clock strikes at the latest at the last model's next backup or metrics.json, so the schedule reaches its end
    before the work does on a slow machine or a fast one.
    """
    kills = [("clock", f"{rng.uniform(0.05, 0.3) * work_seconds:.2f}") for _ in range(4)]
    kills += [("hook", point) for point in ("backup", "save-keras", "export")]
    rng.shuffle(kills)
    return kills + [("hook", "metrics")]


@pytest.mark.parametrize("code", [
    "import sys, os; print(sys.argv[1:], os.environ['PRELOADED_CHECK']); sys.exit(3)",
    "import atexit; atexit.register(lambda: print('at exit')); raise ValueError('bad')",
    "import os, signal; print('before', flush=True); os.kill(os.getpid(), signal.SIGKILL)",
    "import sys; sys.exit('a message')",
])
def test_a_preloaded_command_exits_and_prints_as_python_c_does(code):
    import subprocess
    import sys

    env = {**ENV, "PRELOADED_CHECK": "seen"}
    fresh = subprocess.run([sys.executable, "-c", code, "a", "b"], capture_output=True, text=True, env=env, timeout=60)
    status, output = preloaded.run(code, ["a", "b"], env, timeout=60)

    def lines(text):  # a traceback's frames (indented) differ: the child's has preloaded.py's one above
        return sorted(line for line in text.splitlines() if not line.startswith(" "))

    assert status == fresh.returncode
    assert lines(output) == lines(fresh.stdout + fresh.stderr)


def _history_columns(model_dir):
    """history.csv without its timing column (the only one that differs between two identical runs)."""
    return [{k: v for k, v in row.items() if k != "epoch_seconds"} for row in read_history(model_dir / "history.csv")]


def _predictions(model_dir):
    with open(model_dir / "predictions.csv") as handle:
        return [row for row in csv.DictReader(handle)]


def _assert_one_clean_finished_result(run_dir):
    summary = (run_dir / "summary.csv").read_text().splitlines()
    assert sorted(line.split(",")[:2] for line in summary[1:]) == sorted([name, "finished"] for name in MODELS)
    for name in MODELS:
        model_dir = run_dir / name
        metrics = json.loads((model_dir / "metrics.json").read_text())
        assert metrics["status"] == "finished" and metrics["epochs"] == EPOCHS
        assert [row["epoch"] for row in read_history(model_dir / "history.csv")] == list(range(EPOCHS))
        sessions = metrics["sessions"]
        assert sessions[0]["first_epoch"] == 0 and sum(s["epochs"] for s in sessions) == EPOCHS
        assert all(a["first_epoch"] + a["epochs"] == b["first_epoch"] for a, b in zip(sessions, sessions[1:]))
        assert all(s["device"] == "cpu" and s["deterministic_ops"] is True for s in sessions)
        # Nothing of an interrupted attempt left: no backup, session record, lock record or temporary file.
        assert sorted(p.name for p in model_dir.iterdir()) == [
            "1", "MODEL_CARD.md", "history.csv", "medmnist", "metrics.json", "model.keras", "predictions.csv",
            "settings.json",
        ]
    assert not list(run_dir.glob(".*.json"))


def test_sigkilled_at_random_moments_and_resumed_gives_the_uninterrupted_results(data_dir, reference, tmp_path):
    import tensorflow as tf

    reference_dir, work_seconds = reference
    out = tmp_path / "out"
    delivered = []
    for mode, argument in _kill_schedule(random.Random(14), work_seconds):
        code, output = _finish(_driver_args(data_dir, out, mode, argument))
        assert code in (0, -9), output[-3000:]
        if code == 0:
            break  # the kill came after the work: all done
        delivered.append((mode, argument))
    # Every named point was reached, and most clocks struck mid-work.
    assert {argument for mode, argument in delivered if mode == "hook"} == {"backup", "save-keras", "export", "metrics"}
    assert len(delivered) >= 6, delivered
    code, output = _finish(_driver_args(data_dir, out))  # the same command again finishes the rest
    assert code == 0, output[-3000:]
    run_dir = out / "exp1_adrenal"
    _assert_one_clean_finished_result(run_dir)
    test_x = np.load(data_dir / "adrenalmnist3d.npz")["test_images"][..., None].astype("float32")
    for name in MODELS:
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        expected = json.loads((reference_dir / name / "metrics.json").read_text())
        assert {k: metrics[k] for k in ("val", "test", "best_val_epoch", "best_val_logged")} == \
            {k: expected[k] for k in ("val", "test", "best_val_epoch", "best_val_logged")}, (name, delivered)
        assert _history_columns(run_dir / name) == _history_columns(reference_dir / name)
        assert _predictions(run_dir / name) == _predictions(reference_dir / name)
        served = tf.saved_model.load(str(run_dir / name / "1")).signatures["serving_default"]
        probabilities = served(volume=tf.constant(test_x))["probability"].numpy()[:, 0]
        written = [float(row["probability"]) for row in _predictions(run_dir / name) if row["split"] == "test"]
        np.testing.assert_allclose(probabilities, written, atol=1e-5)


def test_two_identical_commands_at_once_both_finish_and_share_the_models(data_dir, reference, tmp_path):
    out = tmp_path / "out"
    first, second = (preloaded.Command(DRIVER, _driver_args(data_dir, out), ENV) for _ in range(2))
    codes = [first.wait(timeout=300), second.wait(timeout=300)]
    outputs = {command.pid: command.output for command in (first, second)}
    assert codes == [0, 0], outputs
    run_dir = out / "exp1_adrenal"
    _assert_one_clean_finished_result(run_dir)
    for name in MODELS:
        [session] = json.loads((run_dir / name / "metrics.json").read_text())["sessions"]  # one writer, start to end
        trainer = session["pid"]
        assert trainer in outputs
        other = next(pid for pid in outputs if pid != trainer)
        assert f"{name} is busy: trained by pid {trainer}" in outputs[other] or \
            f"already finished: {run_dir / name}" in outputs[other], outputs[other]
        assert _history_columns(run_dir / name) == _history_columns(reference[0] / name)
