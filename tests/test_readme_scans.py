"""The README's "Your own scans" example, run as written: its commands, each in a fresh `lnn-keras` process,
on a folder of small made-up scans laid out as the README shows."""
import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from keras_lnn.data.scans import read_record, read_scan
from keras_lnn.data.scans.table import COLUMNS
from tests.test_scans_prepare import write_scans, write_table

pytestmark = pytest.mark.slow  # three fresh interpreters, one of them training and exporting a model

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Your own scans"
# Appended to the README's `lnn-keras run`: the shortest training, changing nothing else the example shows.
SHORT_TRAINING = ["--max-epochs", "1", "--batch-size", "4", "--quiet"]


def readme_example():
    """The section's code blocks: `(the labels table's header, the lnn-keras command lines)`."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    blocks = dict(re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S))
    header = blocks["csv"].splitlines()[0].split(",")
    commands = [shlex.split(line) for line in blocks["bash"].splitlines() if line.startswith("lnn-keras ")]
    return header, commands


def lnn_keras(args, cwd):
    """`lnn-keras ARGS` in a fresh interpreter in `cwd`; its stdout (asserting exit 0)."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "keras_lnn.cli", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=900)
    assert done.returncode == 0, " ".join(args) + "\n" + done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def test_the_readme_shows_prepare_run_and_predict_on_a_table_prepare_reads():
    header, commands = readme_example()
    assert [command[:2] for command in commands] == [["lnn-keras", "prepare"], ["lnn-keras", "run"],
                                                     ["lnn-keras", "predict"]]
    assert {"image", "label"} <= set(header) <= set(COLUMNS)


def test_the_readme_example_runs_as_written(tmp_path):
    """From a folder of scans in four formats to a trained model and a prediction on a new scan."""
    header, [prepare, run, predict] = readme_example()
    table = Path(prepare[2])
    (tmp_path / table.parent).mkdir(parents=True, exist_ok=True)
    rows = write_scans(tmp_path / table.parent)  # 16 scans: NIfTI, NRRD, MetaImage, DICOM folders
    write_table(tmp_path / table, rows, header)

    printed = lnn_keras(prepare[1:], tmp_path)
    output = Path(prepare[prepare.index("--output") + 1])
    assert printed.splitlines()[-2:] == [f"{output} (28^3, window 40,400)", f"{output.stem}.prepare.json"]
    lnn_keras(run[1:] + SHORT_TRAINING, tmp_path)

    # The new scan: a test scan the run classified (a file or a DICOM folder), stored again as the README's
    # NIfTI file, so its probability is known.
    import SimpleITK as sitk

    [source, *_] = [s for s in read_record(tmp_path / output)["sources"] if s["split"] == "test"]
    new_scan = Path(predict[predict.index("--input") + 1])
    sitk.WriteImage(read_scan(tmp_path / table.parent / source["image"]), str(tmp_path / new_scan))
    model_dir = tmp_path / predict[2]
    with open(model_dir / "predictions.csv", newline="") as handle:
        expected = next(float(row["probability"]) for row in csv.DictReader(handle)
                        if row["split"] == "test" and int(row["index"]) == source["index"])
    header_line, row = lnn_keras(predict[1:], tmp_path).splitlines()
    assert header_line.split() == ["index", "source", "probability", "predicted"]
    assert row.split()[:2] == ["0", str(new_scan)]
    assert float(row.split()[2]) == pytest.approx(expected, abs=5e-4)  # printed with 3 decimals

