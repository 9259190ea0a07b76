import hashlib
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn import data
from keras_lnn.cli import main
from keras_lnn.data import (
    dataset_path, dataset_table, default_data_dir, download, download_url, file_md5, load_dataset, resolve_data_dir,
)
from keras_lnn.errors import DataError
from keras_lnn.data.info import DATASETS
from tests.conftest import modules_imported_by

REAL_MD5 = {"adrenal": "bbd3c5a5576322bc4cdfea780653b1ce", "vessel": "b41fd4f7e7e2feedddb201585ecafa1b"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("KERAS_LNN_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_LNN_MEDMNIST_MIRROR", raising=False)


def _error(func, *args, **kwargs):
    with pytest.raises(DataError) as excinfo:
        func(*args, **kwargs)
    return str(excinfo.value)


# Paths ---------------------------------------------------------------------------------------------


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".medmnist"
    monkeypatch.setenv("KERAS_LNN_DATA_DIR", str(tmp_path / "elsewhere"))
    assert default_data_dir() == tmp_path / "elsewhere"
    assert resolve_data_dir() == tmp_path / "elsewhere"
    assert resolve_data_dir(str(tmp_path / "x")) == tmp_path / "x"
    assert resolve_data_dir("~/y") == tmp_path / "y"


def test_dataset_path(tmp_path):
    assert dataset_path("nodule", data_dir=tmp_path) == tmp_path / "nodulemnist3d.npz"
    assert dataset_path("NoduleMNIST3D", 64, tmp_path) == tmp_path / "nodulemnist3d_64.npz"
    with pytest.raises(DataError, match="28, 64"):
        dataset_path("nodule", 32, tmp_path)


def test_file_md5(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(10_000))
    assert file_md5(path, chunk_size=999) == hashlib.md5(path.read_bytes()).hexdigest()


def test_download_url(monkeypatch):
    assert download_url("adrenal") == DATASETS["adrenal"].url(28)
    assert download_url("adrenal", 64, mirror="http://m/x/") == "http://m/x/adrenalmnist3d_64.npz"
    monkeypatch.setenv("KERAS_LNN_MEDMNIST_MIRROR", "http://env/")
    assert download_url("vessel") == "http://env/vesselmnist3d.npz"
    assert download_url("vessel", mirror="http://arg") == "http://arg/vesselmnist3d.npz"


# Loading -------------------------------------------------------------------------------------------


def test_load_synthetic(make_medmnist):
    path = make_medmnist("adrenal", counts=(4, 2, 3))
    dataset = load_dataset("adrenal", data_dir=path.parent, verify=False)
    assert dataset.info is DATASETS["adrenal"] and dataset.size == 28 and dataset.path == path
    assert dataset.md5 == file_md5(path)
    raw = np.load(path)
    for split, n in zip(("train", "val", "test"), (4, 2, 3)):
        x, y = dataset.split(split)
        assert (x, y) == getattr(dataset, split)
        assert x.shape == (n, 28, 28, 28, 1) and x.dtype == np.float32
        assert y.shape == (n, 1) and y.dtype == np.int64
        # Raw 0-255 values, no rescaling; the channel axis is a view of the one float copy.
        np.testing.assert_array_equal(x[..., 0], raw[f"{split}_images"])
        np.testing.assert_array_equal(y, raw[f"{split}_labels"])
        assert not x.flags.owndata and x.base.shape == (n, 28, 28, 28)
    assert dataset.train[0].max() == 255
    assert "DatasetInfo" in repr(dataset) and "array" not in repr(dataset)
    with pytest.raises(DataError, match="train, val, test"):
        dataset.split("validation")


def test_load_dtype(make_medmnist):
    path = make_medmnist("adrenal")
    x, _ = load_dataset("adrenal", data_dir=path.parent, verify=False, dtype="uint8").train
    assert x.dtype == np.uint8 and x.shape == (4, 28, 28, 28, 1)


def test_load_size_64_and_env_dir(make_medmnist, monkeypatch):
    path = make_medmnist("organ", size=64, counts=(2, 1, 1))
    monkeypatch.setenv("KERAS_LNN_DATA_DIR", str(path.parent))
    dataset = load_dataset("OrganMNIST3D", size=64, verify=False)
    assert dataset.path == path and dataset.test[0].shape == (1, 64, 64, 64, 1)


def test_load_verified(make_official):
    path = make_official("vessel", counts=(3, 2, 2))
    dataset = load_dataset("vessel", data_dir=path.parent)
    assert dataset.md5 == DATASETS["vessel"].md5(28) == file_md5(path)


def test_verify_false_accepts_custom_split_sizes(make_medmnist):
    path = make_medmnist("adrenal", counts=(1, 1, 1))
    assert load_dataset("adrenal", data_dir=path.parent, verify=False).val[0].shape[0] == 1


# Validation errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, hint", [(28, "lnn-keras download adrenal`"), (64, "lnn-keras download adrenal --size 64`")]
)
def test_missing_file(tmp_path, size, hint):
    message = _error(load_dataset, "adrenal", size, data_dir=tmp_path)
    assert str(dataset_path("adrenal", size, tmp_path)) in message
    assert hint in message and "--data-dir" in message and DATASETS["adrenal"].url(size) in message


def test_md5_mismatch(make_medmnist):
    path = make_medmnist("adrenal")
    message = _error(load_dataset, "adrenal", data_dir=path.parent)
    assert str(path) in message and file_md5(path) in message and DATASETS["adrenal"].md5(28) in message
    assert "--no-verify" in message and "verify=False" in message


@pytest.mark.parametrize(
    "content, reason",
    [
        (lambda raw: raw[: len(raw) // 2], "truncated"),
        (lambda raw: b"not a zip file at all" * 10, "not an npz"),
        (lambda raw: raw[:100] + bytes(200) + raw[300:], "corrupted member"),
        (lambda raw: b"", "empty"),
    ],
)
@pytest.mark.parametrize("verify", [True, False])
def test_unreadable_file(make_medmnist, content, reason, verify):
    path = make_medmnist("adrenal")
    path.write_bytes(content(path.read_bytes()))
    message = _error(load_dataset, "adrenal", data_dir=path.parent, verify=verify)
    assert str(path) in message and "not a readable .npz" in message, reason


def test_single_npy_is_not_npz(tmp_path):
    path = dataset_path("adrenal", data_dir=tmp_path)
    with open(path, "wb") as handle:
        np.save(handle, np.zeros(3))
    assert "not an .npz archive" in _error(load_dataset, "adrenal", data_dir=tmp_path, verify=False)


def test_missing_keys(make_medmnist):
    path = make_medmnist("adrenal", drop=("val_labels", "test_images"))
    message = _error(load_dataset, "adrenal", data_dir=path.parent, verify=False)
    assert str(path) in message and "val_labels, test_images" in message and "found train_images" in message


N, S = 4, 28  # train split of the default synthetic file


@pytest.mark.parametrize(
    "key, array, expected",
    [
        ("train_images", np.zeros((N, S, S, S), np.float32), "train_images has dtype float32, expected uint8"),
        ("train_images", np.zeros((N, S, S, S), np.int16), "expected uint8"),
        ("train_images", np.zeros((N, S, S, 27), np.uint8), "shape (4, 28, 28, 27), expected (N, 28, 28, 28)"),
        ("train_images", np.zeros((N, S, S), np.uint8), "expected (N, 28, 28, 28) for size 28"),
        ("train_images", np.zeros((N, S, S, S, 1), np.uint8), "expected (N, 28, 28, 28)"),
        ("val_labels", np.zeros((2,), np.uint8), "val_labels has shape (2,), expected (2, 1)"),
        ("val_labels", np.zeros((2, 2), np.uint8), "expected (2, 1)"),
        ("test_labels", np.zeros((3, 1), np.uint8), "test_labels has shape (3, 1), expected (2, 1) to match"),
        ("train_labels", np.uint8([[0], [1], [2], [0]]), "values in [0, 2], expected class indices in [0, 2)"),
        ("train_labels", np.full((N, 1), -1, np.int8), "values in [-1, -1]"),
        ("train_labels", np.zeros((N, 1), np.float32), "train_labels has dtype float32, expected an integer"),
    ],
)
def test_bad_arrays(make_medmnist, key, array, expected):
    path = make_medmnist("adrenal", overrides={key: array})
    message = _error(load_dataset, "adrenal", data_dir=path.parent, verify=False)
    assert str(path) in message and expected in message


def test_wrong_size_requested(make_medmnist):
    path = make_medmnist("adrenal", size=28, directory=None)
    path.rename(path.with_name("adrenalmnist3d_64.npz"))
    message = _error(load_dataset, "adrenal", size=64, data_dir=path.parent, verify=False)
    assert "adrenalmnist3d_64.npz" in message and "expected (N, 64, 64, 64) for size 64" in message


def test_split_size_mismatch_only_when_verified(make_medmnist, patch_info):
    path = make_medmnist("adrenal", counts=(4, 2, 2))
    patch_info("adrenal", md5=file_md5(path))  # official MD5, but medmnist's split sizes
    message = _error(load_dataset, "adrenal", data_dir=path.parent)
    assert str(path) in message and "train split has 4 volumes, expected 1188" in message
    assert load_dataset("adrenal", data_dir=path.parent, verify=False).train[0].shape[0] == 4


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_an_empty_split_is_refused_at_load_time(make_medmnist, split):
    counts = {"train": (0, 2, 2), "val": (4, 0, 2), "test": (4, 2, 0)}[split]
    path = make_medmnist("adrenal", counts=counts)
    message = _error(load_dataset, "adrenal", data_dir=path.parent, verify=False)
    assert message.startswith(f"{path}: the {split} split is empty") and "at least one volume" in message


def test_one_volume_per_split_loads(make_medmnist):
    path = make_medmnist("adrenal", counts=(1, 1, 1))
    assert [len(s[1]) for s in (load_dataset("adrenal", data_dir=path.parent, verify=False).split(n) for n in ("train", "val", "test"))] == [1, 1, 1]


# dataset_table -------------------------------------------------------------------------------------


def test_dataset_table(make_medmnist, make_official, tmp_path, monkeypatch):
    make_medmnist("nodule", size=64)  # present, not the official bytes
    make_official("vessel")
    calls = []
    # dataset_table looks file_md5 up in keras_lnn.data.files, where it is defined.
    monkeypatch.setattr(data.files, "file_md5", lambda path: calls.append(path) or file_md5(path))
    rows = dataset_table(tmp_path / "data")
    assert len(rows) == 12 and len(calls) == 2  # MD5 only for the two present files
    assert [(row["name"], row["size"]) for row in rows[:3]] == [("nodule", 28), ("nodule", 64), ("adrenal", 28)]
    by_key = {(row["name"], row["size"]): row for row in rows}
    assert by_key["nodule", 64]["present"] is True and by_key["nodule", 64]["md5_ok"] is False
    assert by_key["vessel", 28]["present"] is True and by_key["vessel", 28]["md5_ok"] is True
    organ_path = str(tmp_path / "data" / "organmnist3d.npz")
    assert by_key["organ", 28] == {"name": "organ", "size": 28, "path": organ_path, "present": False, "md5_ok": None}


def test_cli_datasets_json(make_official, tmp_path):
    make_official("fracture")
    result = CliRunner().invoke(main, ["datasets", "--data-dir", str(tmp_path / "data"), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(r["name"], r["size"]): r["md5_ok"] for r in rows if r["present"]} == {("fracture", 28): True}
    table = CliRunner().invoke(main, ["datasets", "--data-dir", str(tmp_path / "data")])
    assert table.exit_code == 0 and "fracture" in table.output and "md5_ok" in table.output


# Downloads over loopback HTTP ----------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, make_official, http_mirror):
    """An official-looking adrenal file on a loopback mirror; returns (mirror URL, served path)."""
    path = make_official("adrenal", directory=tmp_path / "served")
    return http_mirror(path.parent), path


def test_download(served, tmp_path, closed_port_url):
    mirror, source = served
    target = download("adrenal", data_dir=tmp_path / "new" / "dir", mirror=mirror)
    assert target == tmp_path / "new" / "dir" / "adrenalmnist3d.npz"
    assert file_md5(target) == file_md5(source) and sorted(os.listdir(target.parent)) == [target.name]
    # Already there with the right MD5: no new download (the mirror would fail).
    assert download("adrenal", data_dir=target.parent, mirror=closed_port_url) == target
    assert load_dataset("adrenal", data_dir=target.parent).md5 == file_md5(source)


def test_download_replaces_bad_file(served, tmp_path):
    mirror, source = served
    stale = dataset_path("adrenal", data_dir=tmp_path / "data2")
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    assert file_md5(download("adrenal", data_dir=stale.parent, mirror=mirror)) == file_md5(source)


def test_download_corrupted_is_removed(served, tmp_path, patch_info):
    mirror, source = served
    patch_info("adrenal", md5="0" * 32)
    data_dir = tmp_path / "dl"
    message = _error(download, "adrenal", data_dir=data_dir, mirror=mirror)
    assert f"{mirror}/adrenalmnist3d.npz" in message and "0" * 32 in message and file_md5(source) in message
    assert list(data_dir.iterdir()) == []


def test_failed_download_keeps_existing_file(served, tmp_path, patch_info):
    mirror, _ = served
    patch_info("adrenal", md5="0" * 32)
    existing = dataset_path("adrenal", data_dir=tmp_path / "keep")
    existing.parent.mkdir()
    existing.write_bytes(b"user's own file")
    _error(download, "adrenal", data_dir=existing.parent, mirror=mirror)
    assert existing.read_bytes() == b"user's own file" and os.listdir(existing.parent) == [existing.name]


def test_download_not_found(tmp_path, http_mirror):
    mirror = http_mirror(tmp_path)  # serves an empty folder
    message = _error(download, "vessel", data_dir=tmp_path / "dl", mirror=mirror)
    assert f"{mirror}/vesselmnist3d.npz" in message and "HTTP 404" in message
    assert list((tmp_path / "dl").iterdir()) == []


def test_download_unreachable(tmp_path, closed_port_url):
    message = _error(download, "adrenal", data_dir=tmp_path, mirror=closed_port_url)
    assert message.startswith(f"Could not download {closed_port_url}/adrenalmnist3d.npz: ")
    assert "refused" in message.lower() and "Traceback" not in message
    assert list(tmp_path.iterdir()) == []


def test_download_unwritable_dir(tmp_path, monkeypatch):
    # get_file would quietly write to /tmp/.keras instead; running as root cannot make a folder read-only.
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    assert "Cannot write to the MedMNIST folder" in _error(download, "adrenal", data_dir=tmp_path, mirror="http://x")


def test_load_with_download(served, tmp_path):
    mirror, source = served
    dataset = load_dataset("adrenal", data_dir=tmp_path / "auto", download=True, mirror=mirror)
    assert dataset.md5 == file_md5(source) and dataset.path.parent == tmp_path / "auto"


# CLI -----------------------------------------------------------------------------------------------


def test_cli_download(served, tmp_path):
    mirror, source = served
    result = CliRunner().invoke(main, ["download", "adrenal", "--mirror", mirror, "--data-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    target = tmp_path / "c" / "adrenalmnist3d.npz"
    assert f"{target} (MD5 verified)" in result.output and file_md5(target) == file_md5(source)


def test_cli_download_env_mirror(served, tmp_path, monkeypatch):
    mirror, source = served
    monkeypatch.setenv("KERAS_LNN_MEDMNIST_MIRROR", mirror + "/")
    monkeypatch.setenv("KERAS_LNN_DATA_DIR", str(tmp_path / "env"))
    result = CliRunner().invoke(main, ["download", "AdrenalMNIST3D"])
    assert result.exit_code == 0, result.output
    assert file_md5(tmp_path / "env" / "adrenalmnist3d.npz") == file_md5(source)


def test_cli_download_error(tmp_path, closed_port_url):
    result = CliRunner().invoke(main, ["download", "adrenal", "--mirror", closed_port_url, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"Error: Could not download {closed_port_url}/adrenalmnist3d.npz" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args, expected",
    [
        (["download", "pathmnist"], "choose from nodule, adrenal, vessel, fracture, organ, synapse"),
        (["download", "adrenal", "--size", "32"], "'32' is not one of '28', '64'"),
    ],
)
def test_cli_usage_errors(args, expected):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and expected in result.output


def test_cli_import_stays_light():
    assert modules_imported_by("import keras_lnn.cli", ("keras", "tensorflow", "torch", "medmnist", "jax")) == "[]"


def test_the_zoo_reads_without_a_backend():
    # The registry's names and facts, as `lnn-keras list` prints them: no Keras, no ncps until a model is built.
    statement = ("from keras_lnn import models; models.list_models(); models.get_architecture('LiqExp1N2').head; "
                 "models.validate_model('LiqExp1N2', n_classes=3)")
    assert modules_imported_by(statement, ("keras", "ncps", "tensorflow", "jax", "torch")) == "[]"
    assert modules_imported_by("from keras_lnn import models; models.create_model('CNNExp2N4')", ("keras",)) == "['keras']"


# Custom files (--dataset PATH.npz) -----------------------------------------------------------------


def test_custom_file_takes_name_size_and_classes_from_itself(tmp_path):
    from tests.conftest import write_medmnist_npz

    path = write_medmnist_npz(tmp_path / "my scans.npz", size=64, counts=(5, 2, 3), n_classes=4)
    source = data.resolve_dataset_source(str(path))
    assert (source.info.name, source.size, source.info.n_classes, source.custom) == ("my scans", 64, 4, True)
    assert source.info.n_samples == {"train": 5, "val": 2, "test": 3} and source.md5 is None
    dataset = load_dataset(str(path), dtype="uint8")  # verify=True: no MD5 to check against
    assert dataset.info.task == "multi-class" and dataset.test[0].shape == (3, 64, 64, 64, 1)
    record = dataset.provenance()
    assert record["path"] == str(path.resolve()) and record["md5"] == file_md5(path) and record["custom"] is True
    assert record["classes"] == ["0", "1", "2", "3"]
    # The class names: a `classes` array in the file, else a JSON list beside it.
    (tmp_path / "my scans.classes.json").write_text(json.dumps(["a", "b", "c", "d", "e"]))
    assert load_dataset(str(path)).info.labels == {0: "a", 1: "b", 2: "c", 3: "d", 4: "e"}


def test_custom_file_md5_checked_only_when_given(tmp_path):
    from tests.conftest import write_medmnist_npz

    path = write_medmnist_npz(tmp_path / "mine.npz")
    assert load_dataset(str(path), md5=file_md5(path)).md5 == file_md5(path)
    message = _error(load_dataset, str(path), md5="0" * 32)
    assert str(path) in message and "expected " + "0" * 32 + " (--md5)" in message
    assert load_dataset(str(path), md5="0" * 32, verify=False).md5 == file_md5(path)


def test_official_file_name_is_the_official_dataset(make_official):
    path = make_official("vessel", size=64, counts=(2, 1, 1))
    source = data.resolve_dataset_source(str(path))
    assert source.info is DATASETS["vessel"] and source.size == 64 and not source.custom
    assert load_dataset(str(path)).md5 == file_md5(path)  # checked against the official MD5


@pytest.mark.parametrize("name, kwargs, expected", [
    ("adrenal.npz", {}, "needs a name of its own, not MedMNIST's AdrenalMNIST3D"),
    ("one.npz", {"n_classes": 1}, "the labels hold a single class"),
    ("flat.npz", {"overrides": {"train_images": np.zeros((4, 28, 28), np.uint8)}}, "expected (N, S, S, S) volumes"),
    ("odd.npz", {"size": 28, "overrides": {"train_images": np.zeros((4, 32, 32, 32), np.uint8)}},
     "S = 28 or 64"),
    ("names.npz", {"n_classes": 3, "overrides": {"classes": np.array(["a", "b"])}},
     "the labels go up to 2, but"),
    ("keys.npz", {"drop": ("val_labels",)}, "lacks the key(s) val_labels"),
    ("labels.npz", {"overrides": {"test_labels": np.full((2, 1), 0.5)}}, "test_labels has dtype float64"),
])
def test_custom_file_errors_name_the_file(tmp_path, name, kwargs, expected):
    from tests.conftest import write_medmnist_npz

    path = write_medmnist_npz(tmp_path / name, **kwargs)
    message = _error(load_dataset, str(path))
    assert str(path) in message and expected in message and "\n" not in message


def test_custom_file_errors_without_a_file(tmp_path):
    from tests.conftest import write_medmnist_npz

    assert "Dataset file not found: " + str(tmp_path / "gone.npz") in _error(load_dataset, str(tmp_path / "gone.npz"))
    path = write_medmnist_npz(tmp_path / "small.npz")
    assert "holds 28^3 volumes, not the 64^3 asked for" in _error(load_dataset, str(path), 64)
    np.savez(tmp_path / "objects.npz", **dict(np.load(path)), classes=np.array(["a", 1], dtype=object))
    assert "classes must be an array of strings" in _error(load_dataset, str(tmp_path / "objects.npz"))


def test_cli_run_refuses_a_bad_custom_file(tmp_path):
    from tests.conftest import write_medmnist_npz

    path = write_medmnist_npz(tmp_path / "flat.npz", n_classes=1)
    result = CliRunner().invoke(main, ["run", "exp1", "--dataset", str(path), "--output", str(tmp_path / "out")])
    assert result.exit_code == 1 and f"Error: {path}: the labels hold a single class" in result.output
    assert not (tmp_path / "out").exists()


# The real files in ../shared/medmnist --------------------------------------------------------------


@pytest.mark.parametrize("name", ["adrenal", "vessel"])
def test_real_files_load(shared_medmnist, name):
    dataset = load_dataset(name, data_dir=shared_medmnist)
    info = DATASETS[name]
    assert dataset.md5 == REAL_MD5[name] == info.md5(28)
    for split in ("train", "val", "test"):
        x, y = dataset.split(split)
        n = info.n_samples[split]
        assert x.shape == (n, 28, 28, 28, 1) and x.dtype == np.float32
        assert y.shape == (n, 1) and y.dtype == np.int64
        assert 0 <= x.min() and x.max() <= 255 and x.max() > 1  # raw values, not rescaled
        assert set(np.unique(y)) <= set(range(info.n_classes))


def test_real_files_cli_datasets(shared_medmnist):
    result = CliRunner().invoke(main, ["datasets", "--data-dir", str(shared_medmnist), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {(row["name"], row["size"]): row for row in json.loads(result.output)}
    for name in ("adrenal", "vessel"):
        assert rows[name, 28]["present"] is True and rows[name, 28]["md5_ok"] is True
    assert rows["nodule", 28]["present"] is False and rows["nodule", 28]["md5_ok"] is None


def test_real_file_download_from_mirror(shared_medmnist, http_mirror, tmp_path):
    target = download("adrenal", data_dir=tmp_path, mirror=http_mirror(shared_medmnist))
    assert file_md5(target) == REAL_MD5["adrenal"] and os.listdir(tmp_path) == [target.name]


@pytest.mark.parametrize("verify", [True, False])
def test_real_file_truncated(shared_medmnist, tmp_path, verify):
    source = shared_medmnist / "adrenalmnist3d.npz"
    copy = tmp_path / source.name
    copy.write_bytes(source.read_bytes()[: source.stat().st_size * 2 // 3])
    message = _error(load_dataset, "adrenal", data_dir=tmp_path, verify=verify)
    assert str(copy) in message and "not a readable .npz" in message
