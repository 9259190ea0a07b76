"""keras_lnn.data.scans, one scan at a time: reading the four formats, orientation, spacing, twins, refusals."""
import numpy as np
import pytest

from keras_lnn.data.scans import Recipe, checksum, read_scan, scan_cube
from keras_lnn.data.scans.intensity import to_uint8
from keras_lnn.data.scans.recipe import parse_intensities
from keras_lnn.errors import DataError
from tests.scan_files import (
    AIR, MARKER, TISSUE, copy_files, nibabel_data, phantom, pydicom_data, write_dicom_series, write_twins,
)

CT = Recipe(size=28, window=(40, 400))  # soft tissue: TISSUE (60 HU) -> 140, AIR -> 0, MARKER -> 255
MARKER_MM = (10.0, -6.0, 8.0)  # left, anterior, superior of the centre (LPS)


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """One ball (0.7 x 0.7 x 2.5 mm voxels, off the scanner's centre) with a marker, stored six ways."""
    image = phantom(marker=MARKER_MM, shift=(31.0, -17.0, 140.0))
    return write_twins(image, tmp_path_factory.mktemp("twins"))


WIDE = Recipe(size=28, window=((AIR + TISSUE) / 2, TISSUE - AIR))  # AIR -> 0, TISSUE -> 255, linear between


def test_every_format_reads_the_same_geometry(twins):
    images = {name: read_scan(path) for name, path in twins.items()}
    for name, image in images.items():
        assert image.GetSize() == (64, 64, 18), name
        np.testing.assert_allclose(image.GetSpacing(), (0.7, 0.7, 2.5), atol=1e-5, err_msg=name)
        # every format puts voxel (0, 0, 0) and the far corner at the same place in the patient
        for index in ((0, 0, 0), (63, 63, 17)):
            np.testing.assert_allclose(image.TransformIndexToPhysicalPoint(index),
                                       images["nifti"].TransformIndexToPhysicalPoint(index) if name != "nifti_flipped"
                                       else images["nifti"].TransformIndexToPhysicalPoint((63 - index[0], *index[1:])),
                                       atol=1e-4, err_msg=name)
    assert images["nifti_flipped"].GetDirection()[0] == -1  # stored the other way along x


def test_writing_dicom_keeps_the_locale(tmp_path):
    """GDCM's writer resets the C locale; the tests' writer restores it, so later text files still read as UTF-8."""
    import locale

    before = locale.setlocale(locale.LC_ALL), locale.getpreferredencoding(False)
    write_dicom_series(phantom((8, 8, 3)), tmp_path / "series")
    assert (locale.setlocale(locale.LC_ALL), locale.getpreferredencoding(False)) == before


def test_twins_give_the_same_cube(twins):
    import pydicom

    heights = {path.name: float(pydicom.dcmread(path).ImagePositionPatient[2])
               for path in twins["dicom_shuffled"].iterdir()}
    by_height = sorted(heights, key=heights.get)
    assert by_height not in (sorted(heights), sorted(heights, reverse=True))  # names in neither slice order
    cubes = {name: scan_cube(path, CT) for name, path in twins.items()}
    for name, cube in cubes.items():
        assert cube.shape == (28, 28, 28) and cube.dtype == np.uint8
        assert np.abs(cube.astype(int) - cubes["nifti"]).max() <= 1, name
        assert np.mean(cube != cubes["nifti"]) < 0.001, name


def test_the_cube_is_oriented_lps(twins):
    cube = scan_cube(twins["dicom"], CT)
    spacing = 64 * 0.7 / 28  # the cube: the scan's smallest extent (x, y: 44.8 mm) in 28 voxels
    centre = (28 - 1) / 2
    marker = np.argwhere(cube == 255).mean(axis=0)  # (z, y, x)
    expected = [centre + MARKER_MM[axis] / spacing for axis in (2, 1, 0)]
    np.testing.assert_allclose(marker, expected, atol=0.6)  # left -> +x, anterior -> -y, superior -> +z


@pytest.mark.parametrize("size, spacing", [((64, 64, 18), (0.7, 0.7, 2.5)), ((20, 60, 40), (2.5, 0.8, 1.2))])
def test_a_ball_stays_a_ball(size, spacing):
    """Anisotropic voxels in, isotropic out: the ball keeps its volume, centre and spread along every axis."""
    cube = scan_cube_of(phantom(size, spacing), WIDE) / 255  # the fraction of tissue in each voxel
    voxel = min(n * s for n, s in zip(size, spacing)) / 28  # mm: the cube's edge is the smallest extent
    assert abs(cube.sum() * voxel ** 3 - 4 / 3 * np.pi * 12 ** 3) < 0.01 * 4 / 3 * np.pi * 12 ** 3
    where = np.indices(cube.shape).reshape(3, -1) * voxel
    centre = (where * cube.ravel()).sum(axis=1) / cube.sum()
    np.testing.assert_allclose(centre / voxel, 13.5, atol=0.05)
    spread = ((where - centre[:, None]) ** 2 * cube.ravel()).sum(axis=1) / cube.sum()  # mm^2 along z, y, x
    np.testing.assert_allclose(spread, 12 ** 2 / 5, rtol=0.07)  # a ball's: r^2 / 5 along every axis


def test_resampling_averages_thin_structures_when_shrinking():
    """One 0.7 mm slab in a 64^3 scan: skipped by plain sampling, kept (dimmer) with the anti-aliasing."""
    import SimpleITK as sitk

    values = np.full((64, 64, 64), AIR, np.int16)
    values[:, :, 33] = MARKER  # one voxel thick, between the cube's sampling points
    image = sitk.GetImageFromArray(values)
    image.SetSpacing((0.7, 0.7, 0.7))
    cube = scan_cube_of(image, Recipe(size=28, window=(0, 2000)))
    assert 0 < cube[14, 14].max() < 255


def scan_cube_of(image, recipe):
    import tempfile

    import SimpleITK as sitk

    with tempfile.TemporaryDirectory() as folder:
        sitk.WriteImage(image, f"{folder}/scan.mha")
        return scan_cube(f"{folder}/scan.mha", recipe)


def test_real_nifti_and_its_canonical_twin_agree(tmp_path):
    """nibabel's anatomical.nii (stored L-A-S) and nibabel's own R-A-S reorientation of it give one cube."""
    import nibabel

    original = nibabel.load(nibabel_data("anatomical.nii"))
    canonical = nibabel.as_closest_canonical(original)
    assert nibabel.aff2axcodes(original.affine) != nibabel.aff2axcodes(canonical.affine)
    nibabel.save(canonical, tmp_path / "canonical.nii.gz")
    for recipe in (Recipe(), Recipe(size=64, percentiles=(1, 99))):
        first, second = scan_cube(nibabel_data("anatomical.nii"), recipe), scan_cube(tmp_path / "canonical.nii.gz",
                                                                                     recipe)
        assert first.shape == (recipe.size,) * 3 and first.std() > 10
        assert np.abs(first.astype(int) - second).max() <= 1


def test_real_dicom_series_is_sorted_by_position(tmp_path):
    """nibabel's two-slice oblique DICOM series (Siemens), its files named against the slice order."""
    import pydicom

    folder = tmp_path / "series"
    folder.mkdir()
    slices = sorted((nibabel_data(name) for name in ("0.dcm", "1.dcm")),
                    key=lambda path: float(pydicom.dcmread(path).ImagePositionPatient[2]))
    for number, path in enumerate(reversed(slices)):  # a.dcm is the upper slice
        copy_files([path], tmp_path / "tmp")
        (tmp_path / "tmp" / path.name).rename(folder / f"{'ab'[number]}.dcm")
    image = read_scan(folder)
    assert image.GetSize() == (256, 256, 2)
    np.testing.assert_allclose(image.GetSpacing()[:2], 1.796875)
    lower = pydicom.dcmread(slices[0]).ImagePositionPatient
    np.testing.assert_allclose(image.GetOrigin(), [float(v) for v in lower], atol=1e-3)
    assert abs(image.GetDirection()[5]) > 0.005  # oblique: tilted about x
    assert scan_cube(folder, Recipe()).shape == (28, 28, 28)


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "nowhere.nii.gz", "no such file or folder; expected a NIfTI (.nii, .nii.gz)"),
    (lambda tmp: copy_files([nibabel_data("README.rst")], tmp) / "README.rst",
     "not a readable image (Unable to determine ImageIO reader"),
    (lambda tmp: _renamed(nibabel_data("README.rst"), tmp / "scan.nii.gz"), "not a readable image ("),
    (lambda tmp: nibabel_data("example4d.nii.gz"), "a 4D image (128x96x24x2 voxels); expected a 3D volume"),
    (lambda tmp: nibabel_data("functional.nii"), "a 4D image (17x21x3x20 voxels); expected a 3D volume"),
    (lambda tmp: copy_files([pydicom_data("CT_small.dcm")], tmp / "one_slice"),
     "a 2D image (128x128x1 voxels, a single slice); expected a 3D volume"),
    (lambda tmp: copy_files([pydicom_data("CT_small.dcm"), pydicom_data("MR_small.dcm")], tmp / "mixed"),
     "a folder holding 2 DICOM series (1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322, "
     "1.3.6.1.4.1.5962.1.3.4.1.20040826185059.5457); expected one: put each series in a folder of its own"),
    (lambda tmp: _empty_folder(tmp / "empty"), "a folder with no DICOM series; expected a NIfTI"),
])
def test_bad_scans_are_one_line_errors_naming_them(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(DataError) as raised:
        read_scan(path, where=f"labels.csv row 7 ({path.name})")
    assert str(raised.value).startswith(f"labels.csv row 7 ({path.name}): {message}")
    assert "\n" not in str(raised.value)


def _renamed(source, target):
    target.write_bytes(source.read_bytes())
    return target


def _empty_folder(folder):
    folder.mkdir()
    return folder


def test_checksums_follow_the_contents(twins, tmp_path):
    assert checksum(twins["dicom"]) == checksum(copy_files(sorted(twins["dicom"].iterdir()), tmp_path / "copy"))
    slices = sorted((tmp_path / "copy").iterdir())
    slices[3].write_bytes(slices[3].read_bytes()[:-2] + b"\0\1")
    assert checksum(twins["dicom"]) != checksum(tmp_path / "copy")
    assert checksum(twins["nifti"]) != checksum(twins["nifti_flipped"])


def test_intensities_by_window_and_by_percentiles():
    values = np.array([AIR, -160.0, 40.0, TISSUE, 240.0, MARKER])
    np.testing.assert_array_equal(to_uint8(values, CT), [0, 0, 128, 140, 255, 255])
    ramp = np.linspace(0, 1000, 1001)
    mapped = to_uint8(ramp, Recipe(percentiles=(10, 90)))
    assert mapped[100] == 0 and mapped[900] == 255 and mapped[500] in (127, 128)
    assert not to_uint8(np.full(5, 7.0), Recipe()).any()
    assert parse_intensities("-600,1500") == {"window": (-600.0, 1500.0)}
    assert parse_intensities("percentiles:1,99") == {"percentiles": (1.0, 99.0)}
    assert parse_intensities("percentiles") == {}
    with pytest.raises(DataError, match="'40': expected LEVEL,WIDTH"):
        parse_intensities("40")
    with pytest.raises(DataError, match="positive width"):
        Recipe(window=(40, 0))
