"""The files a finished model's evaluation leaves beside metrics.json: MedMNIST's result files and the model card."""
from pathlib import Path

from keras_lnn.errors import DataError
from keras_lnn.runs.card import write_model_card
from keras_lnn.runs.medmnist_files import run_label, write_result_files


def medmnist_flag(metrics):
    """The medmnist flag of the model's dataset (`adrenalmnist3d`), or None for a user's own file."""
    from keras_lnn.data.info import resolve_dataset

    if (metrics.get("data") or {}).get("custom"):
        return None
    try:
        return resolve_dataset(metrics["dataset"]).flag
    except DataError:
        return None


def write_evaluation_files(model_dir, metrics, predictions):
    """Writes `<model_dir>/medmnist/` (MedMNIST datasets only) and `<model_dir>/MODEL_CARD.md`.

    Args:
        metrics: the model's version-2 metrics dict (finished).
        predictions: its `Predictions`.

    Returns:
        `{"medmnist": [file names], "card": path}`.
    """
    model_dir = Path(model_dir)
    flag = medmnist_flag(metrics)
    names = []
    if flag is not None:
        records = {split: metrics[split] for split in predictions.splits}
        run = run_label(metrics["model"], metrics.get("seed"))
        names = write_result_files(model_dir, flag, metrics.get("size", 28), run, predictions.splits, records)
    return {"medmnist": names, "card": write_model_card(model_dir, metrics)}
