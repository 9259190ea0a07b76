"""Model locks: one live holder per model, a busy model named with its holder, a dead holder's lock taken over."""
import os
import pickle
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from keras_lnn.locks import ModelBusy, holder_path, lock_path, model_lock, read_holder
from tests import preloaded

HOLD = textwrap.dedent(
    """
    import sys
    from keras_lnn.locks import model_lock
    with model_lock(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.read()
    """
)


@pytest.fixture
def holder_process(tmp_path):
    """start(model_dir) -> a process that holds model_dir's lock until its stdin closes (killed at teardown)."""
    started = []

    def start(model_dir):
        process = subprocess.Popen([sys.executable, "-c", HOLD, str(model_dir)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline().strip() == "held"
        return process

    yield start
    for process in started:
        process.kill()
        process.wait()


def test_a_model_held_by_a_live_process_is_busy_with_its_holder(tmp_path, holder_process):
    model_dir = tmp_path / "exp1_adrenal" / "CNNExp1N4"
    holder = holder_process(model_dir)
    with pytest.raises(ModelBusy) as busy:
        with model_lock(model_dir):
            pytest.fail("two holders")
    message = str(busy.value)
    assert f"pid {holder.pid} on {socket.gethostname()} since 20" in message and str(model_dir) in message
    assert busy.value.holder["pid"] == holder.pid


def test_a_dead_holders_lock_is_taken_over(tmp_path, holder_process):
    model_dir = tmp_path / "run" / "LiqExp1N2"
    holder = holder_process(model_dir)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_holder(model_dir)["pid"] == holder.pid  # a kill -9 leaves its record...
    with model_lock(model_dir) as record:  # ...but not its lock
        assert record["pid"] == os.getpid() and read_holder(model_dir) == record
    assert not holder_path(model_dir).exists()


def test_the_lock_sits_beside_the_model_folder_so_overwrite_can_delete_it(tmp_path):
    model_dir = tmp_path / "run" / "CNNExp1N4"
    with model_lock(model_dir):
        assert lock_path(model_dir).parent == model_dir.parent and not model_dir.exists()
        model_dir.mkdir()
        (model_dir / "metrics.json").write_text("{}")
        import shutil

        shutil.rmtree(model_dir)
        with pytest.raises(ModelBusy):  # still held: the folder's removal did not free it
            with model_lock(model_dir):
                pass
    with model_lock(model_dir):
        pass


def test_busy_errors_survive_the_trip_back_from_a_worker(tmp_path):
    error = ModelBusy(tmp_path / "m", {"host": "node7", "pid": 12, "since": "2026-11-28T10:00:00+0000"})
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and "pid 12 on node7 since 2026-11-28T10:00:00+0000" in str(copy)
    assert "has not recorded" in str(ModelBusy(tmp_path / "m"))


ANONYMOUS = textwrap.dedent(
    """
    import json, sys, time
    import filelock
    from keras_lnn.locks import holder_path, lock_path
    model_dir, then = sys.argv[1], sys.argv[2]
    lock = filelock.FileLock(lock_path(model_dir), timeout=0)
    lock.acquire()
    print("held", flush=True)
    time.sleep(0.5)  # taken, but no record yet
    if then == "record":
        holder_path(model_dir).write_text(json.dumps({"host": "node7", "pid": 12, "since": "2026"}))
        sys.stdin.read()
    lock.release()
    sys.stdin.read()
    """
)


@pytest.mark.parametrize("then", ["record", "release"])
def test_a_holder_caught_before_its_record_is_named_or_let_go(tmp_path, then):
    model_dir = tmp_path / "run" / "CNNExp1N4"
    model_dir.parent.mkdir()
    process = subprocess.Popen([sys.executable, "-c", ANONYMOUS, str(model_dir), then], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "held"
        if then == "record":  # the busy message waits for the record and names the holder
            with pytest.raises(ModelBusy) as busy:
                with model_lock(model_dir):
                    pytest.fail("two holders")
            assert "pid 12 on node7" in str(busy.value)
        else:  # a holder letting go in the moment is waited for, not reported busy
            with model_lock(model_dir) as record:
                assert record["pid"] == os.getpid()
    finally:
        process.kill()
        process.wait()


# ---------------------------------------------------------------- the run folder's summary files
FINISH = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from keras_lnn import io
    from keras_lnn.deploy import export
    from keras_lnn.runs import summary

    run_dir, model, role, what = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    signal = lambda name: (run_dir.parent / name).touch()
    wait = lambda name: [time.sleep(0.02) for _ in iter(lambda: (run_dir.parent / name).exists(), True)]

    def slow(listing):
        # A lists the finished models, then stalls until B has finished its own model and begun to rewrite.
        def listed(*args):
            found = listing(*args)
            signal("a-listed")
            wait("b-rewriting")
            time.sleep(1.0)  # B, without a lock, writes its complete file in this while
            return found
        return listed

    if role == "a":
        summary.summary_rows = slow(summary.summary_rows)
        export.model_dirs = slow(export.model_dirs)
    else:
        wait("a-listed")
    folder = run_dir / model
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "saved_model.pb").write_bytes(b"")
    (folder / "model.keras").write_bytes(b"")
    io.atomic_write_json(folder / "metrics.json", {"model": model, "status": "finished", "epochs": 1,
                                                   "params": {"trainable": 1}})
    if role == "b":
        signal("b-rewriting")
    summary.write_summary(run_dir) if what == "summary" else export.write_models_config(run_dir)
    """
)


@pytest.mark.slow  # fresh interpreters or trainings to early stopping: not in the quick subset
@pytest.mark.parametrize("what", ["summary", "models.config"])
def test_two_processes_finishing_at_once_leave_a_complete_file(tmp_path, what):
    # A lists the folder before B's model is there and writes after B: without the run folder's lock
    # A's file (only its own model) replaces B's (both). With it, B waits and writes last.
    run_dir = tmp_path / "exp1_adrenal"
    run_dir.mkdir()
    # Two processes of their own, forked from one that imported keras_lnn's runs (and TensorFlow) once.
    a, b = (preloaded.Command(FINISH, [str(run_dir), model, role, what], os.environ)
            for model, role in (("CNNExp1N1", "a"), ("CNNExp1N4", "b")))
    assert [a.wait(timeout=120), b.wait(timeout=120)] == [0, 0], (a.output, b.output)
    if what == "summary":
        from keras_lnn.runs.summary import summary_rows

        import csv

        with (run_dir / "summary.csv").open(newline="") as handle:
            written = [row["model"] for row in csv.DictReader(handle)]
        assert written == ["CNNExp1N1", "CNNExp1N4"] == [row["model"] for row in summary_rows(run_dir)]
    else:
        config = (run_dir / "models.config").read_text()
        assert config.count("config {") == 2 and '"CNNExp1N1"' in config and '"CNNExp1N4"' in config


def test_a_stuck_run_folder_lock_is_a_clear_error(tmp_path):
    from keras_lnn.errors import RunError
    from keras_lnn.locks import RUN_FOLDER_LOCK, run_folder_lock

    held = subprocess.Popen([sys.executable, "-c", textwrap.dedent(
        """
        import sys
        from keras_lnn.locks import run_folder_lock
        with run_folder_lock(sys.argv[1]):
            print("held", flush=True)
            sys.stdin.read()
        """), str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert held.stdout.readline().strip() == "held"
        with pytest.raises(RunError, match=r"\.run-folder\.lock stayed locked for 0 s"):
            with run_folder_lock(tmp_path, timeout=0.2):
                pass
    finally:
        held.kill()
        held.wait()
    with run_folder_lock(tmp_path, timeout=0.2):  # a dead holder's lock is free at once
        assert (tmp_path / RUN_FOLDER_LOCK).exists()
