"""The report of a fixed set of hand-written runs, compared with the one stored in tests/fixtures/report/.

The stored files are the report these runs give: a change to what the report says
shows up here as a diff. Only the date line differs from run to run, and the figures (PNG bytes depend on
matplotlib's version) are compared as names, not bytes.

Regenerate the stored files, after a change meant to alter the report, with
`python -m tests.test_report_stored`.
"""
import os
import re
from pathlib import Path

import numpy as np

from keras_lnn.data import file_md5
from tests.conftest import write_medmnist_npz
from tests.test_report import _part_trained, _write_predictions, write_run
from tests.test_report_evaluation import split_record, write_v2_run

STORED = Path(__file__).parent / "fixtures" / "report"
DATE_LINE = re.compile(r"Written by keras_lnn \S+ on \d{4}-\d\d-\d\d \d\d:\d\d from ")
DATA_URI = re.compile(r'src="data:image/png;base64,[A-Za-z0-9+/=]*"')


def build_runs(root):
    """Writes, under `root`, runs that reach every section of the report; returns write_report's arguments.

    The paths are relative to `root` (the report quotes them), so the caller runs the report from there.
    """
    root = Path(root)
    labels = np.array([[0]] * 9 + [[1]], dtype=np.uint8)
    md5 = file_md5(write_medmnist_npz(root / "data" / "vesselmnist3d.npz", counts=(4, 2, 10),
                                      overrides={"test_labels": labels}))
    out = root / "OUT"
    gpu = {"keras_lnn": "0.1.0", "keras": "3.9.9", "backend": "tensorflow", "backend_version": "2.99",
           "device": "gpu:H200", "deterministic_ops": True}
    moved = [{"first_epoch": 0, "epochs": 1, "device": "gpu:H200"}, {"first_epoch": 1, "epochs": 1, "device": "cpu"}]
    volumes = [0, 0, 1, 1, 0, 1]
    for seed, (cnn_auc, liq_auc) in enumerate([(0.70, 0.61), (0.72, 0.60), (0.75, 0.58)]):
        cnn = write_run(out, "CNNExp2N4", seed, cnn_auc, n_seeds=3, data_md5=md5,
                        **({"versions": gpu, "train_seconds": 0.04, "epoch_seconds": 0.02} if seed == 2 else {}))
        liquid = write_run(out, "LiqExp2N2", seed, liq_auc, n_seeds=3, test_acc=0.9 - seed / 100, data_md5=md5,
                           **({"sessions": moved} if seed == 1 else {}))
        if seed < 2:
            _write_predictions(liquid, volumes, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
            _write_predictions(cnn, volumes, [0.5, 0.3, 0.6, 0.7, 0.4, 0.2 + seed / 10])
    write_run(out, "LiqExp2N5", 1, None, n_seeds=3, status="failed", data_md5=md5)
    _part_trained(out, "exp2_vessel_seed2", "LiqExp2N5", 4, experiment="exp2", dataset="vessel", seed=2)
    for seed, auc in enumerate([0.90, 0.91, 0.92]):  # beside the paper's 0.829: outside the interval
        write_run(out, "LSTMExp5N2", seed, auc, experiment="exp5", dataset="adrenal", n_seeds=3,
                  test_acc=0.77 + seed / 100, test_majority_acc=0.77, epochs=3)
    for seed, (val_auc, test_auc) in enumerate([(0.93, 0.80), (0.95, 0.82), (0.94, 0.78)]):  # metrics_version 2
        tta = {"views": 8, "val": split_record(val_auc), "test": split_record(test_auc + 0.02)} if seed == 0 else None
        write_v2_run(out, "LiqExp5N1", seed, val_auc, test_auc, experiment="exp5", dataset="adrenal", n_seeds=3,
                     epochs=3, test_majority={"class": 0, "acc": 0.77}, **({"tta": tta} if tta else {}),
                     params={"trainable": 9953, "non_trainable": 0, "paper": None})
    write_run(out, "CNNExp1N4", 0, 0.9, experiment="exp1", dataset="organ", n_seeds=1, n_classes=11, test_acc=0.5)
    write_run(root / "OUT64", "CNNExp2N4", 0, 0.66, n_seeds=1, size=64)
    return RUN_ARGUMENTS


RUN_ARGUMENTS = {"run_dirs": ["OUT", "OUT64"], "data_dir": "data",
                 "intro": "Made by `tests/test_report_stored.py` from **hand-written** runs."}


def write_stored_report(root, output, build=True):
    """The report of `build_runs(root)`, written to `output` from inside `root`; returns write_report's paths.

    With `build=False` the runs are already there (and may have been changed since).
    """
    from keras_lnn.report import write_report

    arguments = build_runs(root) if build else RUN_ARGUMENTS
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return write_report(arguments["run_dirs"], Path(output).resolve(), data_dir=arguments["data_dir"],
                            intro=arguments["intro"])
    finally:
        os.chdir(cwd)


def comparable(text):
    """The text without its date line and with embedded figures replaced by a placeholder."""
    return DATA_URI.sub('src="data:image/png;base64,..."', DATE_LINE.sub("Written by keras_lnn VERSION on DATE from ",
                                                                          text))


def test_report_is_the_stored_one(tmp_path):
    paths = write_stored_report(tmp_path / "runs", tmp_path / "report")
    assert comparable(paths["markdown"].read_text()) == (STORED / "report.md").read_text()
    assert comparable(paths["html"].read_text()) == (STORED / "report.html").read_text()
    figures = sorted(path.relative_to((tmp_path / "report").resolve()).as_posix() for path in paths["figures"])
    assert figures == (STORED / "figures.txt").read_text().split()


def test_the_comparison_sees_a_changed_report(tmp_path):
    # A comparison that masks too much would pass anything: one changed score must show.
    paths = write_stored_report(tmp_path / "runs", tmp_path / "report")
    write_run(tmp_path / "runs" / "OUT", "CNNExp2N4", 0, 0.71, n_seeds=3)
    changed = write_stored_report(tmp_path / "runs", tmp_path / "changed", build=False)
    assert comparable(changed["markdown"].read_text()) != comparable(paths["markdown"].read_text())


if __name__ == "__main__":
    import tempfile

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with tempfile.TemporaryDirectory() as folder:
        written = write_stored_report(Path(folder) / "runs", Path(folder) / "report")
        STORED.mkdir(parents=True, exist_ok=True)
        (STORED / "report.md").write_text(comparable(written["markdown"].read_text()))
        (STORED / "report.html").write_text(comparable(written["html"].read_text()))
        names = sorted(path.relative_to(Path(folder).resolve() / "report").as_posix() for path in written["figures"])
        (STORED / "figures.txt").write_text("\n".join(names) + "\n")
    print(f"stored report written to {STORED}")
