"""keras_lnn.deploy.predict and `lnn-keras predict`: new volumes classified by any of a model's files."""
import csv

import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn.cli import main
from keras_lnn.errors import DataError
from keras_lnn.deploy.predict import predict, read_volumes
from tests.conftest import DEPLOY_MODELS


def _test_probabilities(model_dir):
    with open(model_dir / "predictions.csv", newline="") as handle:
        return np.array([float(row["probability"]) for row in csv.DictReader(handle) if row["split"] == "test"])


@pytest.mark.parametrize("fmt", ["keras", "saved_model", "onnx", "litert"])
@pytest.mark.parametrize("name", ["LiqExp1N2", "CNNExp1N4"])
def test_every_format_predicts_the_runs_test_probabilities(deployed_run, name, fmt):
    model_dir, data_file = deployed_run.model_dir(name), deployed_run.data_file(name)
    result = predict(model_dir, data_file, split="test", fmt=fmt)
    assert result.columns == ["index", "probability", "predicted", "label"]
    probabilities = np.array([row["probability"] for row in result.rows])
    np.testing.assert_allclose(probabilities, _test_probabilities(model_dir), atol=1e-5)
    assert [row["predicted"] for row in result.rows] == [int(p > 0.5) for p in probabilities]
    assert 0 <= result.metrics["acc"] <= 1


def test_predict_command_classifies_a_npy_of_volumes(deployed_run, tmp_path):
    model_dir, data_file = deployed_run.model_dir("LiqExp1N2"), deployed_run.data_file("LiqExp1N2")
    with np.load(data_file) as data:
        volumes = data["test_images"][:5]  # (5, 28, 28, 28) uint8, no channel axis
    np.save(tmp_path / "scans.npy", volumes)
    result = CliRunner().invoke(main, ["predict", str(model_dir), "--input", str(tmp_path / "scans.npy"),
                                       "--format", "onnx", "--output", str(tmp_path / "preds.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "preds.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["index"]) for row in rows] == list(range(5))
    np.testing.assert_allclose([float(r["probability"]) for r in rows], _test_probabilities(model_dir)[:5], atol=1e-5)
    assert "label" not in rows[0]

    printed = CliRunner().invoke(main, ["predict", str(model_dir), "--input", str(data_file), "--format", "litert"])
    assert printed.exit_code == 0, printed.output
    assert printed.output.splitlines()[0].split() == ["index", "probability", "predicted", "label"]
    assert "ACC " in printed.output.splitlines()[-1] and "AUC " in printed.output.splitlines()[-1]


def test_volumes_of_another_size_are_a_one_line_error(deployed_run, tmp_path):
    model_dir = deployed_run.model_dir(DEPLOY_MODELS[0])
    np.save(tmp_path / "big.npy", np.zeros((2, 64, 64, 64), "uint8"))
    result = CliRunner().invoke(main, ["predict", str(model_dir), "--input", str(tmp_path / "big.npy"),
                                       "--format", "onnx"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'big.npy'}: volumes of shape (2, 64, 64, 64) do not fit {model_dir} "
        "(expected (N, 28, 28, 28) or (N, 28, 28, 28, 1))"
    ]
    assert "Traceback" not in result.output


def test_a_missing_format_file_says_how_to_write_it(tmp_path):
    (tmp_path / "model").mkdir()
    np.save(tmp_path / "v.npy", np.zeros((1, 28, 28, 28), "uint8"))
    result = CliRunner().invoke(main, ["predict", str(tmp_path / "model"), "--input", str(tmp_path / "v.npy"),
                                       "--format", "litert"])
    assert result.exit_code == 1
    assert "model.tflite: not found; write it with `lnn-keras export RUN_DIR --format litert`" in result.output


@pytest.mark.parametrize("array, message", [
    (np.array(["a", "b"]), "volumes of dtype <U1; expected numbers"),
    (np.full((1, 28, 28, 28), 300.0), "values from 300.0 to 300.0; the models take raw 0-255 values"),
])
def test_bad_volumes_are_refused_naming_the_file(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(DataError, match=f"bad.npy: {message}"):
        read_volumes(tmp_path / "bad.npy")


def test_a_npz_without_the_split_names_what_it_has(tmp_path):
    np.savez(tmp_path / "scans.npz", train_images=np.zeros((1, 28, 28, 28), "uint8"))
    with pytest.raises(DataError, match="no 'test_images' array \\(it has train_images\\)"):
        read_volumes(tmp_path / "scans.npz")
