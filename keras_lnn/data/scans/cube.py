"""One scan (and its mask) to one MedMNIST cube: read, orient, crop, resample, map intensities."""
from keras_lnn.data.scans.geometry import centred_cube, mask_cube, resample_cube, resample_mask
from keras_lnn.data.scans.intensity import background, to_uint8
from keras_lnn.data.scans.reading import read_scan


def scan_cube(path, recipe, mask=None, where=None):
    """The `(S, S, S)` uint8 cube of the scan at `path`, made by `recipe` (a `Recipe`).

    The cube is centred on the scan (or on `mask`'s bounding box), resampled to S^3 isotropic
    voxels in the recipe's orientation (see `geometry`), its intensities mapped to 0-255 (see
    `intensity`). `prepare_dataset` and `predict` both call this, so a scan becomes the same cube
    in training and in deployment.

    Args:
        path: a scan file or DICOM folder (see `read_scan`).
        recipe: the `Recipe`.
        mask: a mask of the same scan (file or DICOM folder), nonzero in the region of interest.
        where: how errors name the scan (e.g. a labels table's row); default the path.

    Example:

    ```python
    cube = scan_cube("scans/case01.nii.gz", Recipe(size=28, window=(40, 400)))  # (28, 28, 28) uint8
    ```
    """
    import SimpleITK as sitk

    where = where or str(path)
    image = read_scan(path, where)
    if mask is None:
        region = centred_cube(image)
    else:
        mask_where = f"{where}, mask {mask}"
        region = mask_cube(resample_mask(read_scan(mask, mask_where), image, mask_where), recipe.mask_margin,
                           mask_where)
    statistics = sitk.MinimumMaximumImageFilter()
    statistics.Execute(image)
    fill = background(statistics.GetMinimum(), recipe)
    return to_uint8(resample_cube(image, region, recipe.size, recipe.orientation, fill), recipe)
