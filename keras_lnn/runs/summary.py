"""A run folder's summary.csv: a row per finished or failed model, from the metrics files (test intervals and ECE
where metrics.json has them: version 2)."""
from pathlib import Path

from keras_lnn.runs import artifacts
from keras_lnn.io import atomic_write_csv
from keras_lnn.locks import run_folder_lock

SUMMARY_COLUMNS = [
    "model", "status", "epochs", "stopped_early", "best_val_epoch", "val_acc", "val_auc", "val_loss",
    "test_acc", "test_auc", "test_loss", "trainable_params", "train_seconds", "error",
    "test_acc_ci95_low", "test_acc_ci95_high", "test_auc_ci95_low", "test_auc_ci95_high", "test_ece",
]


def summary_rows(run_dir):
    """One row per finished or failed model of a run folder, from the metrics files."""
    rows = []
    for path in sorted(Path(run_dir).glob("*/metrics.json")):
        m = artifacts.read_metrics(path.parent)
        row = {k: m.get(k) for k in ("model", "status", "epochs", "stopped_early", "best_val_epoch", "train_seconds", "error")}
        row["trainable_params"] = m["params"]["trainable"]
        for split in ("val", "test"):
            for key in ("acc", "auc", "loss"):
                row[f"{split}_{key}"] = (m.get(split) or {}).get(key)
        test = m.get("test") or {}
        for key in ("acc", "auc"):
            low, high = test.get(f"{key}_ci95") or (None, None)
            row.update({f"test_{key}_ci95_low": low, f"test_{key}_ci95_high": high})
        row["test_ece"] = (test.get("calibration") or {}).get("ece")
        rows.append(row)
    return rows


def write_summary(run_dir):
    """Rebuilds `<run_dir>/summary.csv` from the model folders' metrics, under the run folder's lock.

    The lock keeps a process that finishes a model at the same moment as another from writing
    a summary that omits the other's model (see `keras_lnn.locks.run_folder_lock`).
    """
    with run_folder_lock(run_dir):
        atomic_write_csv(Path(run_dir) / "summary.csv", summary_rows(run_dir), SUMMARY_COLUMNS)
