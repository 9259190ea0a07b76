"""`lnn-keras run` end to end: artifacts, serving, resume after SIGKILL, skips, clashes, failures."""
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_lnn import models, runs
from keras_lnn.data import load_dataset
from keras_lnn.evaluation import basic_metrics
from keras_lnn.training import read_history
from tests.conftest import invoke_cli

MODELS = "CNNExp1N4,LiqExp1N2"
METRICS_KEYS = {
    "model", "experiment", "dataset", "size", "seed", "backend", "epochs", "stopped_early", "test", "val",
    "best_val_epoch", "params", "train_seconds", "protocol", "data_md5", "versions", "status",
}


@pytest.fixture
def tiny_data(make_medmnist, tmp_path):
    """A synthetic AdrenalMNIST3D-layout root: 24 train, 8 val, 8 test volumes (use --no-verify)."""
    make_medmnist("adrenal", counts=(24, 8, 8))
    return tmp_path / "data"


def _run_args(data_dir, output, models=MODELS, epochs=2, *extra):
    return [
        "run", "exp1", "--dataset", "adrenal", "--models", models, "--data-dir", str(data_dir), "--no-verify",
        "--max-epochs", str(epochs), "--batch-size", "16", "--seed", "3", "--output", str(output), "--quiet", *extra,
    ]


_invoke = invoke_cli


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One synthetic two-model run shared by the artifact tests."""
    from tests.conftest import write_medmnist_npz

    root = tmp_path_factory.mktemp("run")
    data_dir = root / "data"
    write_medmnist_npz(data_dir / "adrenalmnist3d.npz", counts=(24, 8, 8))
    result = _invoke(_run_args(data_dir, root / "out"))
    assert result.exit_code == 0, result.output
    return root / "out" / "exp1_adrenal", data_dir, result.output


def test_run_leaves_every_artifact(finished_run):
    run_dir, _, output = finished_run
    assert "[1/2] LiqExp1N2" in output and "[2/2] CNNExp1N4" in output
    for name in MODELS.split(","):
        model_dir = run_dir / name
        for artifact in ("model.keras", "history.csv", "predictions.csv", "metrics.json", "1/saved_model.pb"):
            assert (model_dir / artifact).exists(), artifact
        history = read_history(model_dir / "history.csv")
        assert [row["epoch"] for row in history] == [0, 1]
        assert {"loss", "val_loss", "accuracy", "val_accuracy", "epoch_seconds"} <= set(history[0])
    summary = (run_dir / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("model,status,epochs") and len(summary) == 3
    config = (run_dir / "models.config").read_text()
    for name in MODELS.split(","):
        assert f'name: "{name}"' in config and str((run_dir / name).resolve()) in config


def test_metrics_json_schema_and_provenance(finished_run):
    run_dir, data_dir, _ = finished_run
    metrics = json.loads((run_dir / "LiqExp1N2" / "metrics.json").read_text())
    assert METRICS_KEYS <= set(metrics)
    assert metrics["status"] == "finished" and metrics["epochs"] == 2 and metrics["seed"] == 3
    assert metrics["metrics_version"] == 2  # docs/records.md; tests/test_evaluate_command.py checks the records
    for split in ("val", "test"):
        assert {"acc", "auc", "loss", "acc_ci95", "auc_ci95", "auc_ci95_delong", "calibration"} <= set(metrics[split])
    assert metrics["params"] == {"trainable": 37265, "non_trainable": 0, "paper": 37265}
    assert metrics["protocol"]["batch_size"] == 16 and metrics["protocol"]["patience"] == 10
    from keras_lnn.data import file_md5

    assert metrics["data_md5"] == file_md5(data_dir / "adrenalmnist3d.npz")
    assert {"keras_lnn", "keras", "backend", "backend_version", "ncps", "numpy"} <= set(metrics["versions"])
    assert metrics["versions"]["keras"] == keras.__version__
    assert metrics["versions"]["deterministic_ops"] is True  # run_experiment's default
    [session] = metrics["sessions"]  # never interrupted: one session, all epochs
    assert session["first_epoch"] == 0 and session["epochs"] == 2
    assert session["device"] == metrics["versions"]["device"] and session["platform"] == metrics["versions"]["platform"]


def test_evaluated_weights_are_the_stopping_epochs(finished_run):
    """metrics.json's val loss is the last epoch's logged val loss, and model.keras reproduces the test metrics."""
    run_dir, data_dir, _ = finished_run
    data = load_dataset("adrenal", data_dir=data_dir, verify=False)
    for name in MODELS.split(","):
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        history = read_history(run_dir / name / "history.csv")
        assert metrics["val"]["loss"] == pytest.approx(history[-1]["val_loss"], rel=1e-4)
        model = keras.saving.load_model(run_dir / name / "model.keras")
        x, y = data.test
        assert basic_metrics(y, model.predict(x, verbose=0)) == pytest.approx(_basic(metrics["test"]), rel=1e-5)


def _basic(record):
    """ACC, AUC and loss of a split record: what `basic_metrics` returns."""
    return {key: record[key] for key in ("acc", "auc", "loss")}


def _predictions(path):
    """predictions.csv as {split: (labels, probabilities (N, C))}, checking each split's indices run 0..N-1."""
    import csv

    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in rows[0] if c.startswith("probability")]
    out = {}
    for split in ("val", "test"):
        chosen = [r for r in rows if r["split"] == split]
        assert [int(r["index"]) for r in chosen] == list(range(len(chosen)))
        out[split] = (np.array([int(r["label"]) for r in chosen]), np.array([[float(r[c]) for c in columns] for r in chosen]))
    return out


def test_predictions_csv_holds_the_evaluated_probabilities(finished_run):
    """predictions.csv's rows give back metrics.json's val and test scores, labels in the data's order."""
    run_dir, data_dir, _ = finished_run
    data = load_dataset("adrenal", data_dir=data_dir, verify=False)
    for name in MODELS.split(","):
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        for split, (labels, probabilities) in _predictions(run_dir / name / "predictions.csv").items():
            np.testing.assert_array_equal(labels, data.split(split)[1].ravel())
            assert probabilities.shape == (len(labels), 1)
            assert basic_metrics(labels, probabilities) == pytest.approx(_basic(metrics[split]), rel=1e-6)


def test_savedmodel_serves_in_a_plain_tensorflow_process(finished_run, serve_saved_model):
    run_dir, data_dir, _ = finished_run
    data = load_dataset("adrenal", data_dir=data_dir, verify=False)
    for name in MODELS.split(","):
        served = serve_saved_model(run_dir / name / "1", data_dir / "adrenalmnist3d.npz")
        assert served["leaked"] == []
        assert served["outputs"] == ["probability"]
        assert served["inputs"] == {"volume": [[None, 28, 28, 28, 1], "float32"]}
        probabilities = np.array(served["probability"])
        model = keras.saving.load_model(run_dir / name / "model.keras")
        np.testing.assert_allclose(probabilities, model.predict(data.test[0], verbose=0), atol=1e-5)
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        recomputed = basic_metrics(data.test[1], probabilities)
        assert recomputed["acc"] == pytest.approx(metrics["test"]["acc"])
        assert recomputed["auc"] == pytest.approx(metrics["test"]["auc"])


def test_rerun_skips_finished_models(finished_run):
    run_dir, data_dir, _ = finished_run
    before = {p: p.stat().st_mtime_ns for p in run_dir.glob("*/metrics.json")}
    result = _invoke(_run_args(data_dir, run_dir.parent))
    assert result.exit_code == 0, result.output
    assert result.output.count("already finished") == 2
    assert before == {p: p.stat().st_mtime_ns for p in run_dir.glob("*/metrics.json")}


def test_other_settings_are_refused_unless_overwrite(finished_run):
    run_dir, data_dir, _ = finished_run
    args = _run_args(data_dir, run_dir.parent, "CNNExp1N4")
    args[args.index("--seed") + 1] = "4"
    result = _invoke(args)
    assert result.exit_code == 1
    assert "other settings" in result.output and "seed: 3 -> 4" in result.output and "CNNExp1N4" in result.output
    assert json.loads((run_dir / "CNNExp1N4" / "metrics.json").read_text())["seed"] == 3


@pytest.mark.slow
def test_overwrite_replaces_results_from_other_settings(tiny_data, tmp_path, skip_savedmodel_export):
    out = tmp_path / "out"
    assert _invoke(_run_args(tiny_data, out, "CNNExp1N4", 1)).exit_code == 0
    args = _run_args(tiny_data, out, "CNNExp1N4", 1, "--overwrite")
    args[args.index("--seed") + 1] = "5"
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "exp1_adrenal" / "CNNExp1N4" / "metrics.json").read_text())["seed"] == 5


@pytest.mark.slow
def test_same_seed_gives_same_metrics(tiny_data, tmp_path, skip_savedmodel_export):
    first = [json.loads(p.read_text())["test"] for p in _run_once(tiny_data, tmp_path / "a")]
    second = [json.loads(p.read_text())["test"] for p in _run_once(tiny_data, tmp_path / "b")]
    assert first == second


def _run_once(data_dir, out):
    assert _invoke(_run_args(data_dir, out, "CNNExp1N4", 2)).exit_code == 0
    return sorted((out / "exp1_adrenal").glob("*/metrics.json"))


@pytest.mark.slow
def test_nan_model_is_recorded_as_failed_and_others_still_run(tiny_data, tmp_path, monkeypatch,
                                                              skip_savedmodel_export):
    create = models.create_model

    def poisoned(name, **kwargs):
        model = create(name, **kwargs)
        if name == "CNNExp1N1":
            kernel = model.get_layer("encoder_E2").weights[0]
            kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
        return model

    monkeypatch.setattr(models, "create_model", poisoned)
    # Two CNNs: what a NaN does to a run does not depend on the model, and an LTC model's trace costs seconds.
    result = _invoke(_run_args(tiny_data, tmp_path / "out", "CNNExp1N4,CNNExp1N1"))
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "out" / "exp1_adrenal"
    failed = json.loads((run_dir / "CNNExp1N1" / "metrics.json").read_text())
    assert failed["status"] == "failed" and "NaN" in failed["error"]
    assert json.loads((run_dir / "CNNExp1N4" / "metrics.json").read_text())["status"] == "finished"
    summary = (run_dir / "summary.csv").read_text()
    assert "CNNExp1N1,failed" in summary and "CNNExp1N4,finished" in summary


# A SIGKILL mid-training and a Ctrl-C, each at one known epoch: the session split they leave. SIGKILLs
# at random moments and at every other named point (a backup being written, after training, the
# export, metrics.json), each resumed to the uninterrupted run's exact results, are tests/test_faults.py's.
KILL_DRIVER = textwrap.dedent(
    """
    import os, signal, sys
    from keras_lnn import training
    where, epoch = sys.argv[1], int(sys.argv[2])
    target = {"mid-epoch": training.EpochTimer, "ctrl-c": training.EpochBackup}[where]
    original = target.on_epoch_end
    def on_epoch_end(self, e, logs=None):
        if e == epoch and where == "ctrl-c":
            original(self, e, logs)
            raise KeyboardInterrupt  # what SIGINT raises in the main thread
        if e == epoch:
            os.kill(os.getpid(), signal.SIGKILL)  # before the epoch's history row and backup
        return original(self, e, logs)
    target.on_epoch_end = on_epoch_end
    from keras_lnn.cli import main
    main(sys.argv[3:])
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("where", ["mid-epoch", "ctrl-c"])
def test_interrupted_run_resumes_with_a_continuous_history(tiny_data, tmp_path, where, skip_savedmodel_export):
    out = tmp_path / "out"
    args = _run_args(tiny_data, out, "CNNExp1N4", 5)
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DRIVER, where, "2", *args], capture_output=True, text=True, timeout=300,
        env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )
    if where == "ctrl-c":
        assert killed.returncode == 130 and "Run the same command again to resume" in killed.stderr, killed.stderr[-2000:]
    else:
        assert killed.returncode == -9, killed.stderr[-2000:]
    model_dir = out / "exp1_adrenal" / "CNNExp1N4"
    assert not (model_dir / "metrics.json").exists()
    assert (model_dir / "backup").is_dir()
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    history = read_history(model_dir / "history.csv")
    assert [row["epoch"] for row in history] == [0, 1, 2, 3, 4]
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["epochs"] == 5
    assert not (model_dir / "backup").exists()
    # Two sessions, split where the backup left off: after epoch 1 for the kill in epoch 2, after
    # epoch 2 when Ctrl-C let its backup finish.
    resumed_at = {"mid-epoch": 2, "ctrl-c": 3}[where]
    sessions = metrics["sessions"]
    assert [(s["first_epoch"], s["epochs"]) for s in sessions] == [(0, resumed_at), (resumed_at, 5 - resumed_at)]
    assert all(s["device"] == "cpu" and s["deterministic_ops"] is True for s in sessions)
    assert not (model_dir / "sessions.json").exists()


def test_unknown_experiment_or_model_is_a_usage_error(tiny_data, tmp_path):
    result = _invoke(["run", "exp9", "--dataset", "adrenal", "--data-dir", str(tiny_data)])
    assert result.exit_code == 2 and "exp9" in result.output
    result = _invoke(_run_args(tiny_data, tmp_path, "CNNExp2N4"))
    assert result.exit_code == 2 and "CNNExp2N4" in result.output and "not in exp1" in result.output


def test_truncated_data_file_fails_the_run_naming_the_file(tiny_data, tmp_path):
    path = tiny_data / "adrenalmnist3d.npz"
    path.write_bytes(path.read_bytes()[:5000])
    result = _invoke(_run_args(tiny_data, tmp_path / "out"))
    assert result.exit_code == 1
    assert str(path) in result.output and "Traceback" not in result.output


def test_real_adrenal_run_records_the_file_and_serves_its_metrics(deployed_run, serve_saved_model):
    """The session's one-epoch run on the real AdrenalMNIST3D (conftest `deployed_run`, whose exp1
    folder holds this file's MODELS): the file's facts in metrics.json, and the SavedModel's served
    probabilities give the recorded test metrics."""
    run_dir = deployed_run.run_dir("exp1_adrenal")
    data_file = deployed_run.data_files[run_dir]
    test_labels = load_dataset("adrenal", data_dir=data_file.parent).test[1]
    for name in MODELS.split(","):
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        assert metrics["data_md5"] == "bbd3c5a5576322bc4cdfea780653b1ce"
        assert metrics["data"]["n_samples"] == {"train": 1188, "val": 98, "test": 298}
        assert metrics["epochs"] == 1 and 0 <= metrics["test"]["auc"] <= 1
        assert metrics["test_majority_acc"] == pytest.approx(0.768, abs=0.001)  # 229 of 298 test volumes are negative
        served = serve_saved_model(run_dir / name / "1", data_file)
        recomputed = basic_metrics(test_labels, np.array(served["probability"]))
        assert recomputed["acc"] == pytest.approx(metrics["test"]["acc"])
        # TensorFlow's CPU last-bit noise between the SavedModel and the in-process model can swap one
        # near-tied positive/negative pair: 1 / (69 * 229) of the AUC.
        assert recomputed["auc"] == pytest.approx(metrics["test"]["auc"], abs=1.5 / (69 * 229))


@pytest.mark.slow
@pytest.mark.parametrize("backend, determinism", [("jax", "--deterministic"), ("torch", "--nondeterministic")])
def test_other_backends_train_with_the_levers_then_export_through_tensorflow(tiny_data, tmp_path, backend,
                                                                            determinism):
    # One run per backend for both (a fresh interpreter each costs ~20 s): the paper's models
    # trained with every lever (augmentation, class weights, TTA), exported by a
    # TensorFlow-backend subprocess. The levers-off batches are the same code with nothing applied.
    out = tmp_path / "out"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("XLA_FLAGS", None)
    command = [
        sys.executable, "-m", "keras_lnn.cli", "run", "exp1", "--dataset", "adrenal", "--data-dir", str(tiny_data),
        "--no-verify", "--models", MODELS, "--max-epochs", "1", "--output", str(out), "--quiet", determinism,
        "--augment", "flip,rot90,intensity", "--class-weight", "balanced", "--tta",
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "TensorFlow-backend process" in done.stdout
    run_dir = out / "exp1_adrenal_aug-flip-rot90-intensity_cw-balanced"
    for name in MODELS.split(","):
        model_dir = run_dir / name
        metrics = json.loads((model_dir / "metrics.json").read_text())
        assert metrics["status"] == "finished"
        assert metrics["backend"] == backend and metrics["versions"]["backend"] == backend
        # On JAX the flag must reach XLA before JAX starts, in the CLI's real order of events.
        assert metrics["versions"]["deterministic_ops"] is (determinism == "--deterministic")
        assert set(metrics["tta"]) == {"views", "val", "test"}
        assert (model_dir / "model.keras").exists() and (model_dir / "1" / "saved_model.pb").exists()
    assert 'name: "LiqExp1N2"' in (run_dir / "models.config").read_text()


def test_export_command_writes_missing_savedmodels(finished_run, tmp_path, serve_saved_model):
    import shutil

    run_dir, data_dir, _ = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "CNNExp1N4" / "1")
    result = _invoke(["export", str(copy)])
    assert result.exit_code == 0, result.output
    assert "exported" in result.output and (copy / "CNNExp1N4" / "1" / "saved_model.pb").exists()
    served = serve_saved_model(copy / "CNNExp1N4" / "1", data_dir / "adrenalmnist3d.npz")
    model = keras.saving.load_model(copy / "CNNExp1N4" / "model.keras")
    data = load_dataset("adrenal", data_dir=data_dir, verify=False)
    np.testing.assert_allclose(np.array(served["probability"]), model.predict(data.test[0], verbose=0), atol=1e-5)


def _headline(record):
    """A split record's numbers that last-bit noise may move: ACC, AUC, loss and the calibration scores."""
    return {"acc": record["acc"], "auc": record["auc"], "loss": record["loss"],
            "brier": record["calibration"]["brier"], "ece": record["calibration"]["ece"]}


@pytest.mark.slow  # fresh interpreters or trainings to early stopping: not in the quick subset
def test_jobs_2_gives_the_same_metrics_as_jobs_1(finished_run, tmp_path):
    """`--jobs 2` (two worker processes) against `finished_run`'s same command with one job, in this process."""
    run_dir, data_dir, _ = finished_run
    outputs = {1: {p.parent.name: _headline(json.loads(p.read_text())["test"]) for p in run_dir.glob("*/metrics.json")}}
    result = _invoke(_run_args(data_dir, tmp_path / "jobs2", MODELS, 2, "--jobs", "2"))
    assert result.exit_code == 0, result.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "jobs2" / "exp1_adrenal").glob("*/metrics.json")]
    outputs[2] = {m["model"]: _headline(m["test"]) for m in records}
    # TensorFlow on a CPU: each worker takes its share of the usable cores, and says so (machine.worker_threads).
    share = {"intra_op": max(1, len(os.sched_getaffinity(0)) // 2), "inter_op": 1}
    assert [m["versions"]["threads"]["tensorflow"] for m in records] == [share, share]
    assert f"2 workers, each with {share['intra_op']}:1 CPU threads" in result.output
    assert set(outputs[1]) == set(outputs[2]) == {"CNNExp1N4", "LiqExp1N2"}
    for name, scores in outputs[1].items():
        # To TensorFlow's last-bit CPU noise (docs/performance.md): a different seed or split would move these far more.
        assert outputs[2][name] == pytest.approx(scores, rel=1e-5, abs=1e-6), name


def test_run_config_is_one_frozen_hashable_object():
    import dataclasses

    from keras_lnn.settings import RunConfig

    config = RunConfig("exp1", "adrenal", models=["CNNExp1N4"], seeds=[0, 1], shard=[1, 2])
    assert (config.models, config.seeds, config.shard) == (("CNNExp1N4",), (0, 1), (1, 2))
    assert RunConfig("exp1", "adrenal", models="CNNExp1N4").models == ("CNNExp1N4",)  # one name, not letters
    assert hash(config) == hash(RunConfig("exp1", "adrenal", models=("CNNExp1N4",), seeds=(0, 1), shard=(1, 2)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.jobs = 2
    assert dataclasses.replace(config, jobs=2).jobs == 2 and config.jobs == 1


@pytest.mark.slow
def test_python_callers_pass_keywords_or_one_config(tiny_data, tmp_path, skip_savedmodel_export):
    from keras_lnn.settings import Protocol, RunConfig

    settings = dict(models=["CNNExp1N4"], seeds=[3], protocol=Protocol(max_epochs=1, batch_size=16),
                    data_dir=tiny_data, verify=False, verbose=0)
    lines = []
    [(plan, [metrics])] = runs.run_experiment("exp1", "adrenal", output=tmp_path / "keywords", echo=lines.append,
                                              **settings)
    assert metrics["status"] == "finished" and metrics["epochs"] == 1 and metrics["seed"] == 3
    assert lines[0].startswith("[1/1] CNNExp1N4 (seed 3")
    config = RunConfig("exp1", "adrenal", output=tmp_path / "config", **settings)
    [(other_plan, _)] = runs.run_experiment(config, echo=lambda *a: None)
    settings_json = [json.loads((p.run_dir / "CNNExp1N4" / "settings.json").read_text()) for p in (plan, other_plan)]
    assert settings_json[0] == settings_json[1]  # the same settings, however they were passed
    with pytest.raises(TypeError, match="not both"):
        runs.run_experiment(config, seeds=[1])
    with pytest.raises(TypeError, match="epochs"):
        runs.run_experiment("exp1", "adrenal", epochs=3)  # not a RunConfig field: refused before any work


def test_shards_cover_every_model_and_seed_exactly_once(tmp_path):
    plans = runs.plan_runs("paper", "adrenal", seeds=(0, 1, 2), output=tmp_path)
    everything = runs.plan_tasks(plans)
    assert len(everything) == 30 * 3
    covered = [(plan.run_dir, name) for k in range(1, 8) for plan, name in runs.plan_tasks(plans, (k, 7))]
    assert sorted(covered) == sorted((plan.run_dir, name) for plan, name in everything)
    with pytest.raises(ValueError):
        runs.parse_shard("0/4")
    assert runs.parse_shard("2/4") == (2, 4)


@pytest.mark.slow
def test_shard_option_trains_only_its_slice(tiny_data, tmp_path, skip_savedmodel_export):
    out, cnns = tmp_path / "out", "CNNExp1N4,CNNExp1N1"  # a shard is a slice of the task list, whatever the models
    first = _invoke(_run_args(tiny_data, out, cnns, 1, "--shard", "1/2"))
    assert first.exit_code == 0, first.output
    assert len(list((out / "exp1_adrenal").glob("*/metrics.json"))) == 1
    second = _invoke(_run_args(tiny_data, out, cnns, 1, "--shard", "2/2"))
    assert second.exit_code == 0, second.output
    assert len(list((out / "exp1_adrenal").glob("*/metrics.json"))) == 2
    assert _invoke(_run_args(tiny_data, out, cnns, 1, "--shard", "3/2")).exit_code == 2


@pytest.mark.slow
# The CNN on 3 and 11 classes, the LTC model on 11 (one LTC training fewer than both on both).
@pytest.mark.parametrize("dataset, n_classes, names", [("fracture", 3, "CNNExp1N4"), ("organ", 11, MODELS)])
def test_multiclass_runs_end_in_a_softmax_over_the_classes(make_medmnist, tmp_path, dataset, n_classes, names,
                                                           serve_saved_model):
    make_medmnist(dataset, counts=(33, 22, 22))
    data_dir, out = tmp_path / "data", tmp_path / "out"
    args = ["run", "exp1", "--dataset", dataset, "--models", names, "--data-dir", str(data_dir), "--no-verify",
            "--max-epochs", "1", "--batch-size", "16", "--output", str(out), "--quiet"]
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    data = load_dataset(dataset, data_dir=data_dir, verify=False)
    for name in names.split(","):
        model_dir = out / f"exp1_{dataset}" / name
        metrics = json.loads((model_dir / "metrics.json").read_text())
        assert metrics["n_classes"] == n_classes and metrics["status"] == "finished"
        served = serve_saved_model(model_dir / "1", data_dir / data.path.name)
        probabilities = np.array(served["probability"])
        assert probabilities.shape == (22, n_classes)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
        assert basic_metrics(data.test[1], probabilities) == pytest.approx(_basic(metrics["test"]), rel=1e-4)
        labels, written = _predictions(model_dir / "predictions.csv")["test"]
        assert written.shape == (22, n_classes)
        assert basic_metrics(labels, written) == pytest.approx(_basic(metrics["test"]), rel=1e-6)


@pytest.mark.slow
def test_size_64_run_exports_a_64_cubed_savedmodel(make_medmnist, tmp_path, serve_saved_model):
    make_medmnist("adrenal", size=64, counts=(8, 4, 4))
    out = tmp_path / "out"
    args = ["run", "exp1", "--dataset", "adrenal", "--size", "64", "--models", "CNNExp1N4", "--data-dir",
            str(tmp_path / "data"), "--no-verify", "--max-epochs", "1", "--batch-size", "4", "--output", str(out), "--quiet"]
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    model_dir = out / "exp1_adrenal_64" / "CNNExp1N4"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["size"] == 64 and metrics["params"]["paper"] == 27701
    assert metrics["params"]["trainable"] > 27701  # the per-slice dense layers see 16x14x14 features
    served = serve_saved_model(model_dir / "1", tmp_path / "data" / "adrenalmnist3d_64.npz")
    assert served["inputs"] == {"volume": [[None, 64, 64, 64, 1], "float32"]}
    assert np.array(served["probability"]).shape == (4, 1)


@pytest.mark.slow
def test_models_too_small_for_the_classes_are_skipped_with_a_reason(make_medmnist, tmp_path,
                                                                      skip_savedmodel_export):
    make_medmnist("organ", counts=(22, 11, 11))
    out = tmp_path / "out"
    args = ["run", "exp1", "--dataset", "organ", "--models", "LiqExp1N5,CNNExp1N4", "--data-dir", str(tmp_path / "data"),
            "--no-verify", "--max-epochs", "1", "--batch-size", "11", "--output", str(out), "--quiet"]
    result = _invoke(args)
    assert result.exit_code == 0, result.output
    assert "skipped: LiqExp1N5 cannot be built with 11 classes" in result.output
    assert (out / "exp1_organ" / "CNNExp1N4" / "metrics.json").exists()
    assert not (out / "exp1_organ" / "LiqExp1N5").exists()


def test_real_vessel_exp6_run_records_the_file_and_serves(deployed_run, serve_saved_model):
    """`deployed_run`'s exp6 folder: CfC and mixed-memory LTC models, beyond the paper, on the real VesselMNIST3D."""
    run_dir = deployed_run.run_dir("exp6_vessel")
    for name in ("CfcExp6N1", "LiqExp6N5"):
        metrics = json.loads((run_dir / name / "metrics.json").read_text())
        assert metrics["data_md5"] == "b41fd4f7e7e2feedddb201585ecafa1b" and metrics["params"]["paper"] is None
        assert metrics["data"]["n_samples"]["test"] == 382
    served = serve_saved_model(run_dir / "CfcExp6N1" / "1", deployed_run.data_files[run_dir])
    assert np.array(served["probability"]).shape == (382, 1)


@pytest.mark.slow
def test_run_downloads_a_missing_file_from_a_mirror(make_official, http_mirror, tmp_path, skip_savedmodel_export):
    served = make_official("adrenal", counts=(8, 4, 4), directory=tmp_path / "served")
    mirror = http_mirror(served.parent)
    data_dir, out = tmp_path / "empty-root", tmp_path / "out"
    result = _invoke(["run", "exp1", "--dataset", "adrenal", "--models", "CNNExp1N4", "--data-dir", str(data_dir),
                      "--mirror", mirror, "--max-epochs", "1", "--batch-size", "4", "--output", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (data_dir / "adrenalmnist3d.npz").read_bytes() == served.read_bytes()
    assert (out / "exp1_adrenal" / "CNNExp1N4" / "metrics.json").exists()


def test_run_offline_says_where_to_put_the_file(closed_port_url, tmp_path):
    data_dir = tmp_path / "empty-root"
    result = _invoke(["run", "exp1", "--dataset", "adrenal", "--data-dir", str(data_dir), "--mirror", closed_port_url,
                      "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert closed_port_url in result.output and str(data_dir / "adrenalmnist3d.npz") in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_busy_model_is_skipped_naming_its_holder_and_the_others_train(tiny_data, tmp_path,
                                                                         skip_savedmodel_export):
    from keras_lnn.locks import model_lock

    out = tmp_path / "out"
    # The LTC model is held (another holder: a lock is per open file, not per process); the CNN trains.
    with model_lock(out / "exp1_adrenal" / "LiqExp1N2"):
        result = _invoke(_run_args(tiny_data, out, MODELS, 1))
    assert result.exit_code == 0, result.output
    busy = f"exp1_adrenal/LiqExp1N2 is busy: trained by pid {os.getpid()} on "
    assert f"skipped: {out}/{busy}" in result.output
    assert result.output.split("\nSkipped 1 model(s)")[1].count(busy) == 1  # listed again at the end
    assert (out / "exp1_adrenal" / "CNNExp1N4" / "metrics.json").exists()
    assert not (out / "exp1_adrenal" / "LiqExp1N2").exists()


@pytest.mark.slow
def test_a_damaged_metrics_file_is_one_line_then_overwrite_retrains(tiny_data, tmp_path, skip_savedmodel_export):
    out = tmp_path / "out"
    args = _run_args(tiny_data, out, "CNNExp1N4", 1)
    assert _invoke(args).exit_code == 0
    metrics = out / "exp1_adrenal" / "CNNExp1N4" / "metrics.json"
    metrics.write_text(metrics.read_text()[:100])
    result = _invoke(args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: {metrics} is unreadable (JSONDecodeError") and "--overwrite" in line
    result = _invoke([*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert json.loads(metrics.read_text())["status"] == "finished"


def test_an_empty_val_split_fails_before_training(make_medmnist, tmp_path):
    path = make_medmnist("adrenal", counts=(24, 0, 8))
    result = _invoke(_run_args(path.parent, tmp_path / "out", "CNNExp1N4", 1))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}: the val split is empty" in result.output
    assert not (tmp_path / "out").exists()
