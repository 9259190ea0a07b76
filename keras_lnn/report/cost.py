"""The training cost section: epochs to the early stop and seconds per epoch, per model.

A run's time is its epochs times its median epoch (history.csv): a pause of the machine mid-run
(a study stopped while a benchmark runs) would otherwise count as training.
"""
import statistics

from keras_lnn.evaluation import stats
from keras_lnn.report.collect import recorded_version
from keras_lnn.report.markdown import table
from keras_lnn.report.settings import differing_fields, model_label


def epoch_seconds(m):
    """A run's median epoch in seconds; where history.csv has none, its training seconds over its epochs.

    Args:
        m: a run's metrics, as `collect.load_metrics` reads them (with history.csv's `_epoch_seconds`).
    """
    seconds = m.get("_epoch_seconds")
    if seconds:
        return statistics.median(seconds)
    return (m.get("train_seconds") or 0.0) / m["epochs"] if m.get("epochs") else None


def training_seconds(m):
    """A run's epochs times its median epoch (its recorded training seconds where that is unknown)."""
    per_epoch = epoch_seconds(m)
    return per_epoch * m["epochs"] if per_epoch and m.get("epochs") else m.get("train_seconds")


def training_cost_section(results):
    """Epochs to the early stop and training time per model: what a study costs, and how the rule behaved."""
    rows = []
    fields = {(r.dataset, r.size): differing_fields([o for o in results if (o.dataset, o.size) == (r.dataset, r.size)])
              for r in results}
    for r in results:
        epochs = [m["epochs"] for m in r.finished]
        seconds = [training_seconds(m) or 0.0 for m in r.finished]
        if not epochs:
            continue
        rows.append([r.dataset, model_label(r, fields[r.dataset, r.size]), len(epochs), f"{stats.mean(epochs):.0f}",
                     f"{min(epochs)}-{max(epochs)}", _seconds_per_epoch(r.finished), f"{sum(seconds) / 60:.1f}"])
    if not rows:
        return []
    headers = ["dataset", "model", "n", "mean epochs", "range", "s / epoch", "total minutes"]
    return ["## Training cost", "",
            "Epochs trained until the early-stopping rule fired (or the epoch limit), and wall time of the epochs "
            "(training and validation): each run's epochs times its median epoch, so that pauses of the machine do "
            "not count. Seconds per epoch are given per device where a model's runs finished on "
            "several (a run resumed on another device counts under the one that finished it).", "",
            table(headers, rows, "llrrrrr"), ""]


def _seconds_per_epoch(finished):
    """Seconds per epoch over these runs, one figure per device that finished them ("0.45 gpu:X; 21.3 cpu")."""
    by_device = {}
    for m in finished:
        device = recorded_version(m, "device")
        seconds, epochs = by_device.get(device, (0.0, 0))
        by_device[device] = (seconds + (training_seconds(m) or 0.0), epochs + m["epochs"])
    figures = {device: seconds / epochs for device, (seconds, epochs) in by_device.items() if epochs}
    if not figures:
        return "-"
    if len(figures) == 1:
        return f"{next(iter(figures.values())):.2f}"
    return "; ".join(f"{per_epoch:.2f} {device or 'unknown'}" for device, per_epoch in sorted(figures.items(), key=str))
