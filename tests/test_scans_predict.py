"""From a folder of scans to a trained model and back: `prepare`, `run`, `predict` on scans, `explain` on the file."""
import csv
import json
import shutil

import numpy as np
import pytest

from keras_lnn.data.scans import read_record
from keras_lnn.errors import DataError
from keras_lnn.deploy.predict import predict
from tests.conftest import invoke_cli, run_cli_here
from tests.test_scans_prepare import write_scans, write_table

pytestmark = pytest.mark.slow  # a training (one epoch of one small CNN) and TensorFlow in process


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """16 scans in four formats prepared at 28^3 and CNNExp1N4 trained on them for one epoch (no SavedModel)."""
    from keras_lnn.deploy import export

    root = tmp_path_factory.mktemp("own_scans")
    (root / "scans").mkdir()
    table = write_table(root / "scans" / "labels.csv", write_scans(root / "scans"))
    run_cli_here("prepare", str(table), "--output", str(root / "scans.npz"), "--window", "40,400")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "export_saved_model", lambda model, path: None)
        run_cli_here("run", "exp1", "--dataset", str(root / "scans.npz"), "--models", "CNNExp1N4", "--max-epochs",
                     "1", "--batch-size", "4", "--output", str(root / "out"), "--quiet")
    return root, root / "out" / "exp1_scans" / "CNNExp1N4"


def _run_probabilities(model_dir, split="test"):
    with open(model_dir / "predictions.csv", newline="") as handle:
        return {int(row["index"]): float(row["probability"]) for row in csv.DictReader(handle)
                if row["split"] == split}


def test_a_new_scan_gets_the_probability_of_its_prepared_row(trained):
    """Every val and test scan, read again from its file or DICOM folder, as the run classified its row."""
    root, model_dir = trained
    expected = {split: _run_probabilities(model_dir, split) for split in ("val", "test")}
    rows = [source for source in read_record(root / "scans.npz")["sources"] if source["split"] != "train"]
    assert {source["image"].split(".", 1)[-1] for source in rows} >= {"nii.gz", "nrrd", "mha"}
    assert any("." not in source["image"] for source in rows)  # a DICOM folder
    probabilities = [p for split in expected.values() for p in split.values()]
    assert len(set(np.round(probabilities, 5))) == len(probabilities)  # each scan's own: 1e-6 tells them apart
    for source in rows:
        result = predict(model_dir, root / "scans" / source["image"])
        [row] = result.rows
        assert row["source"] == str(root / "scans" / source["image"])
        assert row["probability"] == pytest.approx(expected[source["split"]][source["index"]], abs=1e-6), source
        assert result.columns == ["index", "source", "probability", "predicted"] and result.metrics is None


def test_a_table_of_scans_is_classified_with_its_labels(trained, tmp_path):
    root, model_dir = trained
    record = read_record(root / "scans.npz")
    test_rows = [source for source in record["sources"] if source["split"] == "test"]
    table = write_table(tmp_path / "new.csv", [{"image": str(root / "scans" / source["image"]),
                                                "label": source["label"]} for source in test_rows])
    result = invoke_cli(["predict", str(model_dir), "--input", str(table), "--output", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "p.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = _run_probabilities(model_dir)
    assert [float(row["probability"]) for row in rows] == pytest.approx(
        [expected[source["index"]] for source in test_rows], abs=1e-6)
    assert [int(row["label"]) for row in rows] == [source["class"] for source in test_rows]
    assert result.output.splitlines()[-1].startswith("ACC ")

    bad = write_table(tmp_path / "bad.csv", [{"image": str(root / "scans" / test_rows[0]["image"]), "label": "x"}])
    refused = invoke_cli(["predict", str(model_dir), "--input", str(bad)])
    assert refused.exit_code == 1 and refused.output.strip().splitlines() == [
        f"Error: {bad} row 2 ({root / 'scans' / test_rows[0]['image']}): unknown label 'x'; expected one of the "
        "classes dense, soft"]


def test_predict_reads_a_dicom_folder(trained):
    root, model_dir = trained
    record = read_record(root / "scans.npz")
    [source, *_] = [s for s in record["sources"] if "." not in s["image"] and s["split"] == "test"]  # a DICOM series
    output = run_cli_here("predict", str(model_dir), "--input", str(root / "scans" / source["image"]))
    header, row = output.splitlines()
    assert header.split() == ["index", "source", "probability", "predicted"]
    assert row.split()[:2] == ["0", str(root / "scans" / source["image"])]
    probability = _run_probabilities(model_dir)[source["index"]]
    assert float(row.split()[2]) == pytest.approx(probability, abs=5e-4)  # printed with 3 decimals


def test_scans_need_the_record_of_the_models_data(trained, tmp_path):
    root, model_dir = trained
    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    shutil.copy(root / "scans.npz", tmp_path / "other.npz")  # the same data, without its record
    metrics["data"]["path"] = str(tmp_path / "other.npz")
    (copy / "metrics.json").write_text(json.dumps(metrics))
    scan = root / "scans" / read_record(root / "scans.npz")["sources"][0]["image"]
    result = invoke_cli(["predict", str(copy), "--input", str(scan)])
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'other.prepare.json'}: not found; scans are classified by the recipe `lnn-keras prepare` "
        "recorded beside other.npz, and this model's data has none"]
    shutil.copy(root / "scans.prepare.json", tmp_path / "other.prepare.json")
    metrics["data"]["md5"] = "0" * 32  # trained on another version of the file
    (copy / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(DataError, match="describes a file of MD5 .*, not other.npz \\(MD5 0{32}\\)"):
        predict(copy, scan)


def test_explain_reads_the_prepared_file(trained, tmp_path):
    root, model_dir = trained
    for extra in ([], ["--dataset", str(root / "scans.npz")]):
        result = invoke_cli(["explain", str(model_dir), "--index", "1", "--output", str(tmp_path / "x"), *extra])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1].startswith("test 1: label ")
    assert (tmp_path / "x" / "test_0001.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_scans_are_one_line_errors(trained, tmp_path):
    """What `prepare` refuses, `predict` refuses the same way: one line naming the scan, exit 1."""
    from tests.scan_files import copy_files, nibabel_data, pydicom_data

    _, model_dir = trained
    unreadable = tmp_path / "scan.nii.gz"
    unreadable.write_bytes(nibabel_data("README.rst").read_bytes())
    two_series = copy_files([pydicom_data("CT_small.dcm"), pydicom_data("MR_small.dcm")], tmp_path / "two")
    table = write_table(tmp_path / "new.csv", [{"image": "gone.nrrd"}])
    for scan, message in [
        (nibabel_data("example4d.nii.gz"), f"{nibabel_data('example4d.nii.gz')}: a 4D image (128x96x24x2 voxels)"),
        (unreadable, f"{unreadable}: not a readable image ("),
        (two_series, f"{two_series}: a folder holding 2 DICOM series"),
        (table, f"{table} row 2 (gone.nrrd): no such file or folder"),
    ]:
        result = invoke_cli(["predict", str(model_dir), "--input", str(scan)])
        lines = result.output.strip().splitlines()
        assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith(f"Error: {message}"), lines
