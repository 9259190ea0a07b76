"""`lnn-keras run`'s metrics.json v2, MedMNIST result files and model card; `lnn-keras evaluate` upgrading run folders."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from keras_lnn import evaluation, runs
from keras_lnn.data import load_dataset
from keras_lnn.deploy.tta import tta_probabilities
from keras_lnn.errors import EvaluationError
from tests.conftest import invoke_cli, write_medmnist_npz
from tests.test_locks import holder_process  # noqa: F401  (a fixture)

MODEL = "CNNExp1N4"
TRAINING_RECORD = ("model", "experiment", "dataset", "size", "n_classes", "seed", "backend", "status", "epochs",
                   "stopped_early", "best_val_epoch", "params", "train_seconds", "protocol", "data", "data_md5",
                   "versions", "sessions", "finished_at", "test_majority_acc")


_invoke = invoke_cli


@pytest.fixture(scope="module")
def finished_model(tmp_path_factory):
    """One tiny synthetic model trained by `lnn-keras run` (the source the other tests copy)."""
    root = tmp_path_factory.mktemp("evaluate")
    write_medmnist_npz(root / "data" / "adrenalmnist3d.npz", counts=(24, 8, 8))
    result = _invoke(["run", "exp1", "--dataset", "adrenal", "--models", MODEL, "--data-dir", str(root / "data"),
                      "--no-verify", "--max-epochs", "2", "--batch-size", "16", "--seed", "3",
                      "--output", str(root / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    return root / "out" / "exp1_adrenal" / MODEL


def _copy_run(model_dir, destination, names):
    """A run folder at `destination` with a copy of `model_dir` per name."""
    for name in names:
        shutil.copytree(model_dir, destination / name)
    return destination


def _as_version_1(model_dir):
    """Rewrites a model folder as the code before metrics_version 2 left it."""
    path = model_dir / "metrics.json"
    metrics = json.loads(path.read_text())
    for key in ("metrics_version", "evaluation", "training_options", "test_majority", "tta"):
        metrics.pop(key, None)
    logged = metrics.pop("best_val_logged")
    metrics["best_val"] = {("auc" if k == "auc_keras_approx" else k): v for k, v in logged.items()}
    for split in ("val", "test"):
        metrics[split] = {k: metrics[split][k] for k in ("acc", "auc", "loss")}
    path.write_text(json.dumps(metrics))
    shutil.rmtree(model_dir / "medmnist")
    (model_dir / "MODEL_CARD.md").unlink()
    return metrics


def test_run_writes_metrics_version_2_from_the_predictions(finished_model):
    metrics = json.loads((finished_model / "metrics.json").read_text())
    predictions = runs.read_predictions(finished_model / "predictions.csv", metrics["n_classes"])
    assert metrics["metrics_version"] == 2 and "best_val" not in metrics
    assert set(metrics["best_val_logged"]) == {"loss", "accuracy", "auc_keras_approx"}
    assert metrics["training_options"] == {"augment": [], "class_weight": None, "tta": False}
    expected = evaluation.split_records(val=predictions.splits["val"], test=predictions.splits["test"])
    for split in ("val", "test"):
        assert _same(metrics[split], expected[split])
    labels = predictions.splits["test"][0]
    assert metrics["test_majority"] == {"class": 0, "acc": float(np.mean(labels == 0))}  # 4 and 4: ties to class 0
    assert metrics["test_majority_acc"] == metrics["test_majority"]["acc"]
    assert metrics["evaluation"]["bootstrap"] == {"resamples": 2000, "seed": 0, "method": "stratified percentile",
                                                  "level": 0.95}


def _same(a, b):
    """Equal records once through JSON (tuples become lists; floats round-trip exactly)."""
    return json.loads(json.dumps(a)) == json.loads(json.dumps(b))


def test_run_writes_medmnist_result_files_and_the_card(finished_model):
    metrics = json.loads((finished_model / "metrics.json").read_text())
    names = sorted(p.name for p in (finished_model / "medmnist").iterdir())
    expected = sorted(f"adrenalmnist3d_{split}_[AUC]{metrics[split]['auc']:.3f}_[ACC]{metrics[split]['acc']:.3f}"
                      f"@{MODEL}_seed3.csv" for split in ("val", "test"))
    assert names == expected
    card = (finished_model / "MODEL_CARD.md").read_text()
    assert "Not for clinical use" in card and "CC BY 4.0" in card and metrics["data_md5"] in card
    assert f"{metrics['test']['auc_ci95'][0]:.3f}, {metrics['test']['auc_ci95'][1]:.3f}" in card
    assert "Youden's J" in card and "the paper's protocol" in card
    assert "Brier score" in card and "27,701 trainable" in card


def test_evaluate_upgrades_a_version_1_run_folder_keeping_its_training_record(finished_model, tmp_path):
    run_dir = _copy_run(finished_model, tmp_path / "saved" / "exp1_adrenal", [MODEL])
    current = json.loads((finished_model / "metrics.json").read_text())
    old = _as_version_1(run_dir / MODEL)
    (run_dir / "summary.csv").write_text("stale\n")
    result = _invoke(["evaluate", str(tmp_path / "saved")])  # a folder of run folders
    assert result.exit_code == 0, result.output
    new = json.loads((run_dir / MODEL / "metrics.json").read_text())
    assert {k: new[k] for k in TRAINING_RECORD} == {k: old[k] for k in TRAINING_RECORD}
    assert "best_val" not in new and new["best_val_logged"]["auc_keras_approx"] == old["best_val"]["auc"]
    assert new["metrics_version"] == 2 and new["test_majority"] == current["test_majority"]
    for split in ("val", "test"):  # the same records as the run itself wrote (new keys back, numbers equal)
        assert _same(new[split], current[split])
    assert sorted(p.name for p in (run_dir / MODEL / "medmnist").iterdir()) == \
        sorted(p.name for p in (finished_model / "medmnist").iterdir())
    assert (run_dir / MODEL / "MODEL_CARD.md").read_text() == (finished_model / "MODEL_CARD.md").read_text()
    summary = (run_dir / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("model,status,epochs") and "test_auc_ci95_low" in summary[0] and len(summary) == 2
    assert f"{MODEL}: test ACC" in result.output and "1 evaluated" in result.output


def test_evaluate_lists_damaged_missing_and_busy_models_and_goes_on(finished_model, tmp_path, holder_process):  # noqa: F811
    run_dir = _copy_run(finished_model, tmp_path / "exp1_adrenal", ["good", "damaged", "missing", "busy"])
    text = (run_dir / "damaged" / "predictions.csv").read_text().splitlines()
    text[3] = ",".join(text[3].split(",")[:3] + ["not-a-number"])
    (run_dir / "damaged" / "predictions.csv").write_text("\n".join(text) + "\n")
    (run_dir / "missing" / "predictions.csv").unlink()
    _as_version_1(run_dir / "good")
    process = holder_process(run_dir / "busy")
    result = _invoke(["evaluate", str(run_dir)])
    process.stdin.close()
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    damaged = [line for line in lines if line.startswith("not evaluated:") and "/damaged/" in line]
    assert damaged == [f"not evaluated: {run_dir / 'damaged' / 'predictions.csv'}: damaged (val row 2: could not "
                       "convert string to float: 'not-a-number')"]
    assert any(line.startswith("not evaluated:") and str(run_dir / "missing" / "predictions.csv") in line
               for line in lines)
    assert any(line.startswith("busy:") and str(run_dir / "busy") in line and f"pid {process.pid}" in line
               for line in lines)
    assert "1 evaluated, 0 not finished, 1 busy, 2 not evaluated" in result.output
    assert json.loads((run_dir / "good" / "metrics.json").read_text())["metrics_version"] == 2
    assert len((run_dir / "summary.csv").read_text().splitlines()) == 5  # rewritten, a row per model


def test_evaluate_refuses_a_folder_without_metrics(tmp_path):
    result = _invoke(["evaluate", str(tmp_path)])
    assert result.exit_code == 1 and "no metrics.json at or below it" in result.output


def test_predictions_csv_round_trips_with_tta_columns(tmp_path):
    rng = np.random.default_rng(0)
    splits = {split: (np.arange(6) % 3, rng.dirichlet(np.ones(3), 6)) for split in ("val", "test")}
    tta = {split: rng.dirichlet(np.ones(3), 6) for split in ("val", "test")}
    runs.write_predictions(tmp_path / "predictions.csv", splits, tta)
    header = (tmp_path / "predictions.csv").read_text().splitlines()[0]
    assert header == ("split,index,label,probability_0,probability_1,probability_2,"
                      "probability_0_tta,probability_1_tta,probability_2_tta")
    read = runs.read_predictions(tmp_path / "predictions.csv", n_classes=3)
    for split in ("val", "test"):
        np.testing.assert_array_equal(read.splits[split][0], splits[split][0])
        np.testing.assert_array_equal(read.splits[split][1], splits[split][1])  # repr round-trips exactly
        np.testing.assert_array_equal(read.tta[split], tta[split])
    blocks = evaluation.evaluation_blocks(read, 3, views=8)
    assert blocks["tta"]["views"] == 8 and blocks["tta"]["test"] == evaluation.split_records(
        val=(splits["val"][0], tta["val"]), test=(splits["test"][0], tta["test"]))["test"]
    with pytest.raises(EvaluationError, match=r"predictions.csv: damaged \(3 probability column\(s\) for a model of 2"):
        runs.read_predictions(tmp_path / "predictions.csv", n_classes=2)


# ------------------------------------------------------------------ MedMNIST's own tools on the result files
def _medmnist_available():
    pytest.importorskip("pandas", reason="medmnist's evaluator needs pandas")
    pytest.importorskip("medmnist.evaluator")


def _scores(labels, n_columns, seed):
    rng = np.random.default_rng(seed)
    if n_columns == 1:
        return np.clip(0.35 + 0.3 * labels + rng.normal(0, 0.25, len(labels)), 0, 1)[:, None]
    logits = rng.normal(size=(len(labels), n_columns)) + np.eye(n_columns)[labels]
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def _write_results(folder, root_npz, flag, size, n_columns, seed=0):
    """MedMNIST result files for val and test of scores on the labels in `root_npz`; returns their paths."""
    arrays = np.load(root_npz)
    splits = {split: (arrays[f"{split}_labels"].ravel(), None) for split in ("val", "test")}
    splits = {split: (labels, _scores(labels, n_columns, seed)) for split, (labels, _) in splits.items()}
    records = {split: evaluation.basic_metrics(*pair) for split, pair in splits.items()}
    names = runs.write_result_files(folder, flag, size, runs.run_label("M", seed), splits, records)
    return [folder / "medmnist" / name for name in names], splits


def _medmnist_env(home):
    return {**os.environ, "HOME": str(home), "PYTHONPATH": os.getcwd()}


def test_result_files_are_laid_out_as_medmnist_writes_them(tmp_path):
    _medmnist_available()
    import pandas as pd

    for n_columns in (1, 4):
        scores = _scores(np.arange(30) % max(2, n_columns), n_columns, seed=n_columns)
        assert runs.medmnist_files.result_csv(scores) == pd.DataFrame(scores).to_csv(header=None)
    assert runs.result_filename("organmnist3d", 28, "val", 0.91234, 0.5, "M_seed1") == \
        "organmnist3d_val_[AUC]0.912_[ACC]0.500@M_seed1.csv"


def test_medmnist_evaluate_reproduces_the_names_binary_and_multiclass_28_and_64(tmp_path):
    """medmnist's own `evaluate` (Evaluator.parse_and_evaluate, what `python -m medmnist evaluate` runs) on
    synthetic roots: it recomputes each file's AUC and ACC and writes its own file, whose name must equal ours."""
    _medmnist_available()
    root = tmp_path / "home" / ".medmnist"
    cases = [("adrenalmnist3d", 28, 2, 1), ("adrenalmnist3d", 64, 2, 1), ("organmnist3d", 28, 11, 11),
             ("organmnist3d", 64, 11, 11)]
    paths = []
    for flag, size, n_classes, n_columns in cases:
        npz = write_medmnist_npz(root / f"{flag}{'' if size == 28 else '_64'}.npz", size=size, counts=(2, 40, 44),
                                 n_classes=n_classes)
        paths += _write_results(tmp_path / f"{flag}{size}", npz, flag, size, n_columns)[0]
    assert len(paths) == 8
    before = {p: p.read_text() for p in paths}
    code = "import sys, medmnist.__main__ as cli\nfor path in sys.argv[1:]:\n    cli.evaluate(path)\n"
    done = subprocess.run([sys.executable, "-c", code, *map(str, paths)], capture_output=True, text=True,
                          env=_medmnist_env(tmp_path / "home"), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for path in paths:  # medmnist wrote its own file into the same folder: the same name, the same rows
        assert sorted(path.parent.iterdir()) == sorted(p for p in before if p.parent == path.parent)
        assert path.read_text() == before[path]
    assert done.stdout.count("Metrics(AUC=") == 8


@pytest.mark.parametrize("flag", ["adrenalmnist3d", "vesselmnist3d"])
def test_python_m_medmnist_evaluate_on_the_real_labels(flag, shared_medmnist, tmp_path):
    _medmnist_available()
    pytest.importorskip("fire", reason="`python -m medmnist` needs fire")
    real = shared_medmnist / f"{flag}.npz"
    if not real.is_file():
        pytest.skip(f"{real} not found")
    root = tmp_path / "home" / ".medmnist"
    root.mkdir(parents=True)
    (root / real.name).symlink_to(real)
    paths, splits = _write_results(tmp_path, real, flag, 28, 1, seed=4)
    for path in paths:
        done = subprocess.run([sys.executable, "-m", "medmnist", "evaluate", str(path)], capture_output=True,
                              text=True, env=_medmnist_env(tmp_path / "home"), timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        auc, acc = map(float, re.search(r"Metrics\(AUC=([\d.]+), ACC=([\d.]+)\)", done.stdout).groups())
        named_auc, named_acc = map(float, re.search(r"\[AUC\]([\d.]+)_\[ACC\]([\d.]+)@", path.name).groups())
        assert (round(auc, 3), round(acc, 3)) == (named_auc, named_acc)
        split = "val" if "_val_" in path.name else "test"
        assert acc == evaluation.accuracy(*splits[split]) and auc == pytest.approx(evaluation.auc(*splits[split]).value)
        assert sorted(p.name for p in path.parent.iterdir()) == sorted(p.name for p in paths)  # its file is ours


def test_evaluate_reads_early_version_1_files_without_size_or_n_classes(finished_model, tmp_path):
    run_dir = _copy_run(finished_model, tmp_path / "exp1_adrenal", [MODEL])
    _as_version_1(run_dir / MODEL)
    path = run_dir / MODEL / "metrics.json"
    metrics = json.loads(path.read_text())
    del metrics["size"], metrics["n_classes"]
    path.write_text(json.dumps(metrics))
    result = _invoke(["evaluate", str(run_dir / MODEL)])  # a model folder itself
    assert result.exit_code == 0, result.output
    new = json.loads(path.read_text())
    assert "size" not in new and new["test"]["class_counts"] == [4, 4] and new["test_majority"]["class"] == 0
    assert len(list((run_dir / MODEL / "medmnist").glob("adrenalmnist3d_test_*@CNNExp1N4_seed3.csv"))) == 1


def test_evaluate_tta_adds_the_flip_means_beside_the_plain_probabilities(finished_model, tmp_path):
    import keras_lnn
    from keras_lnn import training

    run = _copy_run(finished_model, tmp_path / "exp1_adrenal", [MODEL])
    model_dir = run / MODEL
    before = json.loads((model_dir / "metrics.json").read_text())
    plain = runs.read_predictions(model_dir / "predictions.csv", 2)
    data_dir = finished_model.parent.parent.parent / "data"
    result = _invoke(["evaluate", "--tta", "--data-dir", str(data_dir), str(run)])
    assert result.exit_code == 0, result.output
    assert "with TTA AUC" in result.output
    after = json.loads((model_dir / "metrics.json").read_text())
    read = runs.read_predictions(model_dir / "predictions.csv", 2)
    # The plain probabilities and their records are untouched; the TTA ones are the model's 8-flip means.
    for split in ("val", "test"):
        np.testing.assert_array_equal(read.splits[split][1], plain.splits[split][1])
        assert after[split] == before[split]
    data = load_dataset(str(data_dir / "adrenalmnist3d.npz"), verify=False)
    model = keras_lnn.load_model(model_dir, compile=False)
    expected = tta_probabilities(lambda v: training.predict_probabilities(model, v, len(v)), data.test[0], 16)
    np.testing.assert_allclose(read.tta["test"], expected, rtol=1e-5, atol=1e-6)
    assert after["tta"]["views"] == 8
    assert after["tta"]["test"] == evaluation.split_records(val=(read.splits["val"][0], read.tta["val"]),
                                                            test=(read.splits["test"][0], read.tta["test"]))["test"]
    # Data whose labels are not the run's is refused with one line naming the file.
    other = tmp_path / "other"
    write_medmnist_npz(other / "adrenalmnist3d.npz", counts=(24, 8, 8), seed=99)
    result = _invoke(["evaluate", "--tta", "--data-dir", str(other), str(run)])
    assert result.exit_code == 1 and "adrenalmnist3d.npz" in result.output
