"""Scans with known geometry for the tests of keras_lnn.data.scans, and the real files packages ship.

`phantom` makes a CT-like volume in Hounsfield units: a ball of soft tissue in air and,
optionally, a small bright marker off the centre (to tell the patient's left from right).
`write_twins` stores one such volume six ways: NIfTI, NRRD and MetaImage (SimpleITK), a NIfTI
flipped along x by nibabel (data and affine flipped together), a DICOM series whose file
names run against the slice order, and one whose file names are shuffled.
"""
import contextlib
import locale
import shutil
from pathlib import Path

import numpy as np

AIR, TISSUE, MARKER = -1000, 60, 1000


def nibabel_data(name):
    """A file of nibabel's bundled test data (nibabel/tests/data), e.g. `anatomical.nii`."""
    import nibabel

    return Path(nibabel.__file__).parent / "tests" / "data" / name


def pydicom_data(name):
    """A file of pydicom's bundled test files, e.g. `CT_small.dcm` (only bundled ones: nothing is downloaded)."""
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file(name, download=False))


def phantom(size=(64, 64, 18), spacing=(0.7, 0.7, 2.5), radius=12.0, marker=None, shift=(0.0, 0.0, 0.0),
            label=TISSUE):
    """A SimpleITK image (int16, LPS, identity direction): a ball of `radius` mm at its centre, in air.

    Args:
        size, spacing: voxels and their spacing (mm) along x, y, z.
        radius: the ball's radius (mm).
        marker: `(x, y, z)` mm from the centre of a 4 mm bright ball, or None.
        shift: where the image's centre is (mm): the scanner's coordinates, not the patient's.
        label: the ball's value (HU).
    """
    import SimpleITK as sitk

    size, spacing, shift = np.array(size), np.array(spacing), np.array(shift)
    origin = shift - (size - 1) * spacing / 2
    z, y, x = np.meshgrid(*[origin[a] + spacing[a] * np.arange(size[a]) for a in (2, 1, 0)], indexing="ij")
    values = np.full(z.shape, AIR, np.int16)
    x, y, z = x - shift[0], y - shift[1], z - shift[2]
    values[x ** 2 + y ** 2 + z ** 2 <= radius ** 2] = label
    if marker is not None:
        values[(x - marker[0]) ** 2 + (y - marker[1]) ** 2 + (z - marker[2]) ** 2 <= 4.0 ** 2] = MARKER
    image = sitk.GetImageFromArray(values)
    image.SetSpacing([float(s) for s in spacing])
    image.SetOrigin([float(o) for o in origin])
    return image


def write_dicom_series(image, folder, reverse_names=True, series_uid="1.2.826.0.1.3680043.2.1125.1.1",
                       shuffle_seed=None):
    """`image` as one DICOM CT series in `folder`, a file per slice with its position and orientation.

    With `reverse_names`, file names sort against the slice order; with `shuffle_seed`, they are in
    a random order (either way the reader must sort by position).
    """
    import SimpleITK as sitk

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    direction = image.GetDirection()
    orientation = "\\".join(f"{v:.6f}" for v in (direction[0], direction[3], direction[6],
                                                 direction[1], direction[4], direction[7]))
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    depth = image.GetDepth()
    names = list(range(depth - 1, -1, -1) if reverse_names else range(depth))
    if shuffle_seed is not None:
        names = list(np.random.default_rng(shuffle_seed).permutation(depth))
    with _locale_kept():
        for k in range(depth):
            piece = image[:, :, k]
            position = image.TransformIndexToPhysicalPoint((0, 0, k))
            for tag, value in {
                "0008|0060": "CT", "0020|000d": series_uid + ".0", "0020|000e": series_uid,
                "0008|0018": f"{series_uid}.{k + 1}", "0020|0013": str(k + 1),
                "0020|0032": "\\".join(f"{p:.6f}" for p in position), "0020|0037": orientation,
                "0018|0050": f"{image.GetSpacing()[2]:.6f}", "0028|1052": "0", "0028|1053": "1",
            }.items():
                piece.SetMetaData(tag, value)
            writer.SetFileName(str(folder / f"slice{names[k]:03d}.dcm"))
            writer.Execute(piece)
    return folder


@contextlib.contextmanager
def _locale_kept():
    """The process's locale as it was: GDCM's DICOM writer leaves it at "C", after which Python's
    `open()` without an encoding reads ASCII (and fails on other tests' UTF-8 files)."""
    saved = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def write_twins(image, folder):
    """`image` stored six ways in `folder`: {format: path}."""
    import nibabel
    import SimpleITK as sitk

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"nifti": folder / "ball.nii.gz", "nrrd": folder / "ball.nrrd", "mha": folder / "ball.mha"}
    for path in paths.values():
        sitk.WriteImage(image, str(path))
    original = nibabel.load(paths["nifti"])
    flipped = original.as_reoriented([[0, -1], [1, 1], [2, 1]])  # data reversed along i, the affine with it
    assert np.array_equal(np.asarray(flipped.dataobj), np.asarray(original.dataobj)[::-1])
    paths["nifti_flipped"] = folder / "ball_flipped.nii.gz"
    nibabel.save(flipped, paths["nifti_flipped"])
    paths["dicom"] = write_dicom_series(image, folder / "ball_dicom")
    paths["dicom_shuffled"] = write_dicom_series(image, folder / "ball_dicom_shuffled", shuffle_seed=1)
    return paths


def copy_files(sources, folder):
    """The files `sources` copied into a new `folder` (e.g. a DICOM folder made of bundled test files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for source in sources:
        shutil.copy(source, folder)
    return folder
