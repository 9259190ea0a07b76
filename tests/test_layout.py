"""The package's layout: settings that import no backend."""
import dataclasses

import pytest

from keras_lnn.errors import KerasLnnError
from keras_lnn.settings import AUGMENTATIONS, OptionsError, Protocol, RunConfig, TrainingOptions
from tests.conftest import modules_imported_by

BACKENDS = ("keras", "tensorflow", "jax", "torch")


def test_the_settings_import_no_backend():
    assert modules_imported_by("import keras_lnn.settings", BACKENDS) == "[]"
    statement = "from keras_lnn.settings import Protocol, RunConfig, TrainingOptions; RunConfig('exp1', 'adrenal')"
    assert modules_imported_by(statement, BACKENDS) == "[]"


def test_a_default_run_config_is_the_papers():
    config = RunConfig("exp1", "adrenal")
    assert config.protocol == Protocol() and config.training_options.is_paper
    assert config.protocol.as_dict() == {"max_epochs": 500, "batch_size": 64, "learning_rate": 5e-4, "patience": 10,
                                         "min_delta": 0.001}
    assert TrainingOptions().as_dict() == {"augment": [], "class_weight": None, "tta": False}
    assert TrainingOptions(augment=("intensity", "flip")).augment == ("flip", "intensity")  # AUGMENTATIONS' order
    assert list(AUGMENTATIONS) == ["flip", "rot90", "intensity"]
    with pytest.raises(OptionsError, match="unknown augmentation 'mirror'") as caught:
        TrainingOptions(augment=("mirror",))
    assert isinstance(caught.value, KerasLnnError)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.protocol.max_epochs = 3


def test_the_records_default_to_the_settings():
    from keras_lnn.evaluation import upgraded_record
    from keras_lnn.report.settings import PAPER_TRAINING_OPTIONS

    assert upgraded_record({"model": "CNNExp1N4"})["training_options"] == TrainingOptions().as_dict()
    assert PAPER_TRAINING_OPTIONS == TrainingOptions().as_dict()
