"""Reading one scan with SimpleITK: a NIfTI, NRRD or MetaImage file, or a folder holding one DICOM series.

Every refusal is a `DataError` of one line naming the scan (and, from a labels table, its row).
"""
import contextlib
import hashlib
import locale
import re
from pathlib import Path

from keras_lnn.errors import DataError

# The formats read, by file name ending (a folder is a DICOM series): one table, for the reader and the docs.
FORMATS = {
    ".nii": "NIfTI", ".nii.gz": "NIfTI", ".nrrd": "NRRD", ".nhdr": "NRRD",
    ".mha": "MetaImage", ".mhd": "MetaImage", ".dcm": "DICOM",
}
EXPECTED = "a NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd) file, or a folder of one DICOM series"


def scan_format(path):
    """The format of a scan path by its name (`"DICOM series"` for a folder), or None for another file."""
    path = Path(path)
    if path.is_dir():
        return "DICOM series"
    name = path.name.lower()
    return next((fmt for ending, fmt in FORMATS.items() if name.endswith(ending)), None)


def read_scan(path, where=None):
    """The scan at `path` as a 3D, single-channel `SimpleITK.Image` in float32, its geometry as stored.

    Args:
        path: a scan file, or a folder of one DICOM series (slices sorted by position, not by name).
        where: how errors name the scan, e.g. `"labels.csv row 3 (scans/a.nii.gz)"`; default the path.

    Raises:
        DataError: missing, unreadable, several DICOM series, 2D (a single slice) or 4D, or
            several values per voxel.

    Example:

    ```python
    image = read_scan("scans/case01")   # a DICOM folder
    image.GetSpacing()                   # (0.7, 0.7, 2.5)
    ```
    """
    import SimpleITK as sitk

    path = Path(path)
    where = where or str(path)
    if not path.exists():
        raise DataError(f"{where}: no such file or folder; expected {EXPECTED}")
    try:
        with process_locale_kept():
            image = sitk.ReadImage(dicom_series_files(path, where) if path.is_dir() else str(path))
    except RuntimeError as error:
        raise DataError(f"{where}: not a readable image ({_reason(error)}); expected {EXPECTED}") from None
    _check_volume(image, where)
    return sitk.Cast(image, sitk.sitkFloat32)


def dicom_series_files(folder, where=None):
    """The files of the one DICOM series in `folder`, sorted by slice position (GDCM's order)."""
    import SimpleITK as sitk

    where = where or str(folder)
    sitk.ProcessObject.SetGlobalWarningDisplay(False)  # GDCM's multi-line warnings: the refusals below say it in one
    with process_locale_kept():
        series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not series:
        raise DataError(f"{where}: a folder with no DICOM series; expected {EXPECTED}")
    if len(series) > 1:
        raise DataError(f"{where}: a folder holding {len(series)} DICOM series ({', '.join(series)}); "
                        "expected one: put each series in a folder of its own")
    with process_locale_kept():
        return list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series[0]))


@contextlib.contextmanager
def process_locale_kept():
    """Restores the process's locale after ITK's readers, which set it to "C" and leave it so: Python's
    text files opened without an encoding would then read and write ASCII for the rest of the process."""
    saved = locale.setlocale(locale.LC_ALL, None)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, saved)


def _check_volume(image, where):
    size = image.GetSize()
    shown = "x".join(map(str, size))
    if image.GetDimension() != 3:
        raise DataError(f"{where}: a {image.GetDimension()}D image ({shown} voxels); expected a 3D volume")
    if min(size) < 2:
        raise DataError(f"{where}: a 2D image ({shown} voxels, a single slice); expected a 3D volume")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise DataError(f"{where}: {image.GetNumberOfComponentsPerPixel()} values per voxel (colour or vector "
                        "image); expected one intensity per voxel")


def _reason(error):
    """SimpleITK's message, shortened to its `ERROR:` line without the source file's path."""
    lines = [line for line in str(error).splitlines() if "ERROR" in line] or str(error).splitlines() or [""]
    return re.sub(r"^.*?ERROR:\s*", "", lines[0]).strip() or type(error).__name__


def source_files(path):
    """The files a scan is read from: a DICOM series' slices, a header and its data file, or the file itself."""
    path = Path(path)
    if path.is_dir():
        return [Path(name) for name in dicom_series_files(path)]
    data = _detached_data_file(path)
    return [path, data] if data else [path]


def _detached_data_file(path):
    """The data file a MetaImage `.mhd` or NRRD `.nhdr` header names (ElementDataFile / data file), if any."""
    keys = {".mhd": "ElementDataFile", ".nhdr": "data file"}
    key = keys.get(path.suffix.lower())
    if key is None:
        return None
    for line in path.read_text(errors="replace").splitlines():
        name, _, value = line.partition("=" if key == "ElementDataFile" else ":")
        if name.strip().lower() == key.lower() and value.strip() not in ("", "LOCAL", "LIST"):
            data = path.parent / value.strip()
            return data if data.is_file() else None
    return None


def checksum(path):
    """SHA-256 of a scan's contents: of its file, or of its files' names and bytes in reading order."""
    files = source_files(path)
    if len(files) == 1:
        return _file_sha256(files[0])
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{Path(file).name}\0{_file_sha256(file)}\n".encode())
    return digest.hexdigest()


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
