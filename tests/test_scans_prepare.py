"""`prepare_dataset` and `lnn-keras prepare`: a labels table of scans -> a checked MedMNIST-layout file and its record."""
import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn.cli import main
from keras_lnn.data import file_md5, load_dataset, resolve_dataset_source
from keras_lnn.data.scans import Recipe, checksum, prepare_dataset, read_record, record_path, scan_cube
from keras_lnn.errors import DataError
from tests.conftest import modules_imported_by
from tests.scan_files import copy_files, nibabel_data, phantom, pydicom_data, write_dicom_series

FORMATS = ("nii.gz", "nrrd", "mha", "dicom")


def write_scans(folder, patients=4, scans_per_patient=2):
    """`patients` per class ("soft": a 60 HU ball, "dense": a 400 HU ball), each with scans of its own sizes,
    spacings and formats; returns the table's rows (image relative to `folder`, label, patient)."""
    rows, rng = [], np.random.default_rng(0)
    for label, value in (("soft", 60), ("dense", 400)):
        for p in range(patients):
            for s in range(scans_per_patient):
                n = len(rows)
                spacing = (0.8 + 0.1 * (n % 3), 0.8 + 0.1 * (n % 3), 2.0 + 0.5 * (n % 2))
                image = phantom((30, 30, 12), spacing, radius=6 + rng.uniform(0, 3), label=value,
                                shift=tuple(rng.uniform(-50, 50, 3)))
                fmt = FORMATS[n % len(FORMATS)]
                name = f"{label}{p}_{s}" + ("" if fmt == "dicom" else f".{fmt}")
                if fmt == "dicom":
                    write_dicom_series(image, folder / name, series_uid=f"1.2.826.0.1.3680043.2.1125.9.{n}")
                else:
                    import SimpleITK as sitk

                    sitk.WriteImage(image, str(folder / name))
                rows.append({"image": name, "label": label, "patient": f"{label}-{p}"})
    return rows


def write_table(path, rows, columns=None):
    columns = columns or list(rows[0])
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """A folder of 16 scans (two classes, four patients each, two scans per patient) and their rows."""
    folder = tmp_path_factory.mktemp("scans")
    return folder, write_scans(folder)


@pytest.fixture(scope="module")
def prepared(scans):
    folder, rows = scans
    rows = [dict(row, split="test" if row["patient"] == "soft-3" else "") for row in rows]
    table = write_table(folder / "labels.csv", rows)
    return prepare_dataset(table, folder / "mine.npz", Recipe(size=28, window=(40, 400)), seed=3), rows


def test_the_file_has_medmnists_layout_and_loads(prepared):
    result, rows = prepared
    with np.load(result.path) as npz:
        arrays = dict(npz)
    assert sorted(arrays) == sorted([f"{split}_{kind}" for split in ("train", "val", "test")
                                     for kind in ("images", "labels", "sources")] + ["classes"])
    assert arrays["classes"].tolist() == ["dense", "soft"]
    for split in ("train", "val", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28, 28)
        assert labels.shape == (len(images), 1) and arrays[f"{split}_sources"].shape == (len(images),)
        truth = {row["image"]: row["label"] for row in rows}
        assert [truth[source] for source in arrays[f"{split}_sources"]] == [
            arrays["classes"][k] for k in labels[:, 0]]
    source = resolve_dataset_source(result.path)
    assert (source.info.name, source.size, source.info.n_classes) == ("mine", 28, 2)
    assert source.info.labels == {0: "dense", 1: "soft"}
    data = load_dataset(result.path)
    assert sum(len(data.split(split)[1]) for split in ("train", "val", "test")) == 16


def test_each_volume_is_its_scans_cube(prepared, scans):
    result, _ = prepared
    folder, _ = scans
    with np.load(result.path) as npz:
        for split in ("train", "test"):
            source = str(npz[f"{split}_sources"][0])
            np.testing.assert_array_equal(npz[f"{split}_images"][0], scan_cube(folder / source, Recipe(window=(40, 400))))


def test_patients_never_straddle_splits_and_every_class_is_in_every_split(prepared):
    result, rows = prepared
    record = read_record(result.path)
    split_of = {}
    for source in record["sources"]:
        assert split_of.setdefault(source["patient"], source["split"]) == source["split"], source
    assert split_of["soft-3"] == "test"  # given in the table
    assert all(n > 0 for counts in result.counts.values() for n in counts.values())
    # One patient each to val, test and train, the fourth to train (0.7 of 8 scans); soft-3 was given test.
    assert result.counts == {"train": {"dense": 4, "soft": 2}, "val": {"dense": 2, "soft": 2},
                             "test": {"dense": 2, "soft": 4}}


def test_the_split_follows_the_seed(scans, tmp_path):
    folder, rows = scans
    table = write_table(folder / "plain.csv", rows)
    splits = {}
    for seed in range(4):
        prepare_dataset(table, tmp_path / f"s{seed}.npz", seed=seed)
        splits[seed] = [source["split"] for source in read_record(tmp_path / f"s{seed}.npz")["sources"]]
    prepare_dataset(table, tmp_path / "again.npz", seed=0)
    assert [source["split"] for source in read_record(tmp_path / "again.npz")["sources"]] == splits[0]
    assert len({tuple(split) for split in splits.values()}) > 1


def test_the_record_holds_the_recipe_versions_and_checksums(prepared, scans):
    result, _ = prepared
    folder, rows = scans
    assert result.record == record_path(result.path) == folder / "mine.prepare.json"
    record = json.loads(result.record.read_text())
    assert record["data_md5"] == file_md5(result.path)
    assert record["recipe"] == {"size": 28, "window": [40.0, 400.0], "percentiles": [0.5, 99.5],
                                "orientation": "LPS", "mask_margin": 1.5}
    assert record["settings"] == {"fractions": [0.7, 0.1, 0.2], "seed": 3, "mask_column": None}
    assert record["versions"]["SimpleITK"] and record["versions"]["numpy"] == np.__version__
    assert [source["image"] for source in record["sources"]] == [row["image"] for row in rows]
    for source in record["sources"]:
        assert source["sha256"] == checksum(folder / source["image"])
    assert record["labels_table"]["sha256"] == checksum(folder / "labels.csv")
    assert read_record(result.path)["recipe"] == Recipe(window=(40, 400))


def test_a_mask_column_centres_the_cube_on_the_mask(tmp_path):
    import SimpleITK as sitk

    rows = []
    for n, label in enumerate(["a", "b"] * 3):
        image = phantom((40, 40, 16), (1.0, 1.0, 2.0), radius=5, marker=(8.0, 0.0, 0.0))
        mask = sitk.Cast(sitk.BinaryThreshold(image, 900, 5000), sitk.sitkUInt8)  # the marker: 8 mm left
        sitk.WriteImage(image, str(tmp_path / f"s{n}.nii.gz"))
        sitk.WriteImage(mask, str(tmp_path / f"s{n}_mask.nrrd"))
        rows.append({"image": f"../s{n}.nii.gz", "label": label, "roi": f"../s{n}_mask.nrrd",
                     "split": ["train", "val", "test"][n // 2]})
    rows[1]["roi"] = str(tmp_path / "s1_mask.nrrd")  # an absolute path, outside the table's folder
    (tmp_path / "table").mkdir()
    table = write_table(tmp_path / "table" / "labels.csv", rows)
    result = prepare_dataset(table, tmp_path / "masked.npz", Recipe(window=(40, 400), mask_margin=2.0),
                             mask_column="roi")
    with np.load(result.path) as npz:
        cube = npz["train_images"][0]
    assert cube.shape == (28, 28, 28)
    np.testing.assert_allclose(np.argwhere(cube == 255).mean(axis=0), 13.5, atol=0.5)  # the marker, centred
    assert np.count_nonzero(cube == 255) > 28 ** 3 / 8 ** 3 * 0.5 * 4 / 3 * np.pi  # a ball of half the edge
    sources = read_record(result.path)["sources"]
    assert sources[0]["mask_sha256"] == checksum(tmp_path / "s0_mask.nrrd")
    assert [source["mask"] for source in sources[:2]] == ["../s0_mask.nrrd", str(tmp_path / "s1_mask.nrrd")]


def _error_lines(args):
    result = CliRunner().invoke(main, ["prepare", *map(str, args)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output.strip().splitlines()


def _bad_rows(case, scans, tmp_path):
    """A table of the fixture's scans spoiled one way, and the error's text."""
    folder, rows = scans
    rows = [dict(row, image=str(folder / row["image"])) for row in rows]
    table = tmp_path / "labels.csv"
    if case == "missing":
        rows[2]["image"] = "gone.nii.gz"
        return rows, f"{table} row 4 (gone.nii.gz): no such file or folder; expected a NIfTI"
    if case == "unreadable":
        rows[2]["image"] = str(copy_files([nibabel_data("README.rst")], tmp_path / "text") / "README.rst")
        return rows, f"{table} row 4 ({rows[2]['image']}): not a readable image (Unable to determine ImageIO reader"
    if case == "4d":
        rows[5]["image"] = str(nibabel_data("example4d.nii.gz"))
        return rows, f"{table} row 7 ({rows[5]['image']}): a 4D image (128x96x24x2 voxels); expected a 3D volume"
    if case == "2d":
        rows[0]["image"] = str(copy_files([pydicom_data("CT_small.dcm")], tmp_path / "slice"))
        return rows, f"{table} row 2 ({rows[0]['image']}): a 2D image (128x128x1 voxels, a single slice)"
    if case == "series":
        rows[1]["image"] = str(copy_files([pydicom_data("CT_small.dcm"), pydicom_data("MR_small.dcm")],
                                          tmp_path / "two"))
        return rows, f"{table} row 3 ({rows[1]['image']}): a folder holding 2 DICOM series"
    if case == "unknown label":
        rows[9]["label"] = "sofft"
        return rows, (f"{table} row 11 ({rows[9]['image']}): unknown label 'sofft'; expected one of the classes "
                      "soft, dense")
    if case == "unknown split":
        rows[3]["split"] = "training"
        return rows, f"{table} row 5 ({rows[3]['image']}): unknown split 'training'; expected train, val, test or blank"
    if case == "absent class":
        for row in rows:
            row["split"] = "test" if row["label"] == "dense" else "train"
        return rows, f"{table}: class 'dense' has no scan in the train split (0 train, 0 val, 8 test)"
    if case == "two splits":
        rows[0]["split"], rows[1]["split"] = "train", "test"
        return rows, (f"{table}: patient 'soft-0' is given two splits (train in row 2, test in row 3); all of a "
                      "patient's scans go to one split")
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing", "unreadable", "4d", "2d", "series", "unknown label", "unknown split",
                                  "absent class", "two splits"])
def test_bad_input_is_one_line_and_writes_nothing(scans, tmp_path, case):
    rows, message = _bad_rows(case, scans, tmp_path)
    table = write_table(tmp_path / "labels.csv", rows, ["image", "label", "patient", "split"])
    lines = _error_lines([table, "--output", tmp_path / "out.npz", "--classes", "soft,dense"])
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), lines
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["labels.csv"]


def test_the_command_prints_the_splits_and_refuses_bad_settings(scans, tmp_path):
    folder, rows = scans
    table = write_table(tmp_path / "labels.csv", [dict(row, image=str(folder / row["image"])) for row in rows])
    result = CliRunner().invoke(main, ["prepare", str(table), "--output", str(tmp_path / "cli.npz"), "--size", "64",
                                       "--window", "percentiles:1,99", "--split", "0.5,0.25,0.25", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "train: 8 scans (4 dense, 4 soft)"
    assert result.output.splitlines()[-2:] == [f"{tmp_path / 'cli.npz'} (64^3, percentiles 1,99)",
                                               str(tmp_path / "cli.prepare.json")]
    assert resolve_dataset_source(tmp_path / "cli.npz").size == 64
    for args, message in [
        (["--split", "0.7,0.3"], "--split '0.7,0.3': expected three positive fractions"),
        (["--window", "40"], "'40': expected LEVEL,WIDTH (e.g. 40,400)"),
        (["--output", tmp_path / "organmnist3d.npz"], "a dataset of your own needs a name other than MedMNIST's"),
        (["--mask", "roi"], f"{table}: no column roi; its columns are image, label, patient"),
        (["--classes", "soft,soft"], "--classes soft,soft: class 'soft' named twice; expected each class's name once"),
        (["--classes", "soft,,dense"], "--classes soft,,dense: a blank class name; expected"),
    ]:
        output = ["--output", tmp_path / "x.npz"] if "--output" not in args else []
        lines = _error_lines([table, *output, *args])
        assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "x.npz").exists()


def test_labels_may_be_class_indices(scans, tmp_path):
    folder, rows = scans
    rows = [dict(row, image=str(folder / row["image"]), label="1" if row["label"] == "soft" else "0")
            for row in rows]
    result = prepare_dataset(write_table(tmp_path / "labels.csv", rows), tmp_path / "idx.npz")
    assert result.classes == ["0", "1"]
    with pytest.raises(DataError, match="class '1' has no scan in the train split"):
        rows = [dict(row, label="2" if row["label"] == "1" else "0") for row in rows]  # no class 1 at all
        prepare_dataset(write_table(tmp_path / "gap.csv", rows), tmp_path / "gap.npz")


def test_preparing_imports_no_deep_learning_framework(prepared, tmp_path):
    """`prepare` needs numpy and SimpleITK only: no Keras, TensorFlow, JAX or PyTorch start-up."""
    result, _ = prepared
    table = result.path.parent / "labels.csv"
    statement = (f"from keras_lnn.cli import main; main(['prepare', {str(table)!r}, '--output', "
                 f"{str(tmp_path / 'light.npz')!r}], standalone_mode=False)")
    assert modules_imported_by(statement, ("keras", "tensorflow", "jax", "torch", "SimpleITK")) == "['SimpleITK']"
    assert (tmp_path / "light.npz").is_file()
