import dataclasses

import pytest

from keras_lnn.errors import DataError
from keras_lnn.data.info import DATASET_NAMES, DATASETS, SIZES, DatasetInfo, _INFO, resolve_dataset
from tests.conftest import modules_imported_by


def test_names_and_sizes():
    assert DATASET_NAMES == ["nodule", "adrenal", "vessel", "fracture", "organ", "synapse"]
    assert list(DATASETS) == DATASET_NAMES
    assert SIZES == (28, 64)
    assert [info.python_class for info in DATASETS.values()] == [
        "NoduleMNIST3D", "AdrenalMNIST3D", "VesselMNIST3D", "FractureMNIST3D", "OrganMNIST3D", "SynapseMNIST3D",
    ]


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_facts_match_medmnist_info(name):
    info = DATASETS[name]
    entry = _INFO[f"{name}mnist3d"]
    assert isinstance(info, DatasetInfo)
    assert info.name == name and info.flag == f"{name}mnist3d"
    assert info.python_class == entry["python_class"]
    assert info.task == entry["task"]
    assert info.labels == {int(k): v for k, v in entry["label"].items()}
    assert info.n_classes == len(entry["label"])
    assert info.n_samples == entry["n_samples"]
    assert info.license == entry["license"] and info.description == entry["description"]
    assert info.url(28) == entry["url"] and info.url(64) == entry["url_64"]
    assert info.md5(28) == entry["MD5"] and info.md5(64) == entry["MD5_64"]


def test_known_values():
    adrenal, organ = DATASETS["adrenal"], DATASETS["organ"]
    assert adrenal.task == "binary-class" and adrenal.n_classes == 2
    assert adrenal.n_samples == {"train": 1188, "val": 98, "test": 298}
    assert adrenal.md5(28) == "bbd3c5a5576322bc4cdfea780653b1ce"
    assert DATASETS["vessel"].md5(28) == "b41fd4f7e7e2feedddb201585ecafa1b"
    assert organ.task == "multi-class" and organ.n_classes == 11 and organ.labels[0] == "liver"


def test_filenames():
    assert DATASETS["nodule"].filename(28) == "nodulemnist3d.npz"
    assert DATASETS["nodule"].filename(64) == "nodulemnist3d_64.npz"
    assert DATASETS["nodule"].filename() == "nodulemnist3d.npz"


@pytest.mark.parametrize("method", ["filename", "url", "md5"])
@pytest.mark.parametrize("size", [32, 128, "28"])
def test_bad_size(method, size):
    with pytest.raises(DataError, match=r"valid sizes are 28, 64"):
        getattr(DATASETS["adrenal"], method)(size)


def test_info_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["adrenal"].name = "other"


@pytest.mark.parametrize(
    "alias", ["adrenal", "ADRENAL", "adrenalmnist3d", "AdrenalMNIST3D", "adrenalMNIST3d", " adrenal "]
)
def test_resolve_aliases(alias):
    assert resolve_dataset(alias) is DATASETS["adrenal"]


@pytest.mark.parametrize("name", ["pathmnist", "adrenal3d", "", "mnist3d"])
def test_resolve_unknown(name):
    with pytest.raises(DataError) as excinfo:
        resolve_dataset(name)
    assert "nodule, adrenal, vessel, fracture, organ, synapse" in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_import_stays_light():
    # medmnist's package __init__ imports torch: keras_lnn.data.info must read its table without it.
    statement = "import keras_lnn.data.info as i; assert i.DATASETS"
    assert modules_imported_by(statement, ("torch", "torchvision", "medmnist", "keras", "tensorflow")) == "[]"
