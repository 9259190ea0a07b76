"""What a rerun reads from a model folder: each damaged file is named in one error that says what to do."""
import json

import pytest

from keras_lnn.runs import artifacts
from keras_lnn.training.resume import resume_epoch
from keras_lnn.errors import RunError

HISTORY = "epoch,loss,val_loss\n0,0.7,0.69\n1,0.6,0.68\n2,0.5,0.67\n"


@pytest.fixture
def model_dir(tmp_path):
    """An interrupted model's folder: settings, sessions, 3 logged epochs, a backup after 2."""
    folder = tmp_path / "exp1_adrenal" / "CNNExp1N4"
    (folder / "backup").mkdir(parents=True)
    (folder / "settings.json").write_text(json.dumps({"model": "CNNExp1N4", "seed": 0}))
    (folder / "sessions.json").write_text(json.dumps([{"first_epoch": 0}]))
    (folder / "history.csv").write_text(HISTORY)
    (folder / "backup" / "epoch-2.weights.h5").write_bytes(b"weights")
    (folder / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": 2, "weights": "epoch-2.weights.h5"}))
    return folder


def test_an_intact_interrupted_folder_passes(model_dir):
    artifacts.check_model_dir(model_dir)
    assert resume_epoch(model_dir) == 2


def test_a_row_cut_short_by_a_kill_after_the_backup_is_no_damage(model_dir):
    (model_dir / "history.csv").write_text(HISTORY + "3,0.4")  # resuming drops rows past the backup
    artifacts.check_model_dir(model_dir)


@pytest.mark.parametrize("name, content, reason", [
    ("settings.json", '{"model": "CNN', "JSONDecodeError"),
    ("sessions.json", "", "JSONDecodeError"),
    ("sessions.json", '[{"epochs": 3}]', "first_epoch"),
    ("metrics.json", '{"model": "CNNExp1N4", "status": "finished", "epo', "JSONDecodeError"),
    ("metrics.json", '["finished"]', "expected a JSON dict"),
    ("metrics.json", '{"model": "CNNExp1N4"}', "no status, epochs, params"),
    ("backup/training_metadata.json", '{"epo', "JSONDecodeError"),
    ("backup/training_metadata.json", '{"epoch": 5, "weights": "epoch-5.weights.h5"}', "epoch-5.weights.h5 is missing"),
    ("history.csv", "epoch,loss,val_loss\n0,0.7,0.69\n1,0.6,oops\n", "ValueError"),
    ("history.csv", "epoch,loss,val_loss\n0,0.7,0.69\n0,0.6,0.68\n", "expected 0..1"),
    ("history.csv", "epoch,loss\n0,0.7\n1,0.6\n", "KeyError"),
    ("history.csv", "\x00\x01", ""),
])
def test_a_damaged_artifact_is_named_with_what_to_do(model_dir, name, content, reason):
    (model_dir / name).write_text(content)
    with pytest.raises(RunError) as error:
        artifacts.check_model_dir(model_dir)
    message = str(error.value)
    assert message.startswith(f"{model_dir / name} is unreadable (") and reason in message
    assert f"delete {model_dir}" in message and "--overwrite" in message and "\n" not in message


def test_a_missing_history_behind_a_backup_is_refused(model_dir):
    (model_dir / "history.csv").unlink()
    with pytest.raises(RunError, match="history.csv is unreadable .missing, but the backup holds 2 epochs"):
        artifacts.check_model_dir(model_dir)
