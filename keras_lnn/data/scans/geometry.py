"""Where a scan's cube is, in millimetres, and resampling it onto S^3 isotropic voxels in one orientation.

All of it happens in physical space (SimpleITK's origin, spacing and direction), so a scan stored
flipped, transposed, as DICOM slices in any order or with anisotropic voxels gives the same cube.
The cube's grid has the recipe's orientation (`LPS`: array axes x, y, z point to the patient's
left, posterior and superior) and isotropic spacing `edge / S`; its array is `(z, y, x)`: axial slices
from inferior to superior.
"""
import dataclasses

import numpy as np

from keras_lnn.errors import DataError


@dataclasses.dataclass(frozen=True)
class Cube:
    """A cube in physical space: its centre (mm, LPS) and edge length (mm), axis-aligned in the patient's axes."""

    centre: tuple
    edge: float

    def grid(self, size):
        """`(origin, spacing)` of the `size`^3 grid of voxel centres filling the cube (isotropic spacing)."""
        spacing = self.edge / size
        origin = tuple(c - spacing * (size - 1) / 2 for c in self.centre)
        return origin, spacing


def orient(image, code):
    """`image` with its axes permuted and flipped to the DICOM orientation `code` (e.g. `"LPS"`): no interpolation."""
    import SimpleITK as sitk

    return sitk.DICOMOrient(image, code)


def centred_cube(image):
    """The largest cube centred on the scan's centre that the scan's field of view holds along every axis."""
    size, spacing = np.array(image.GetSize()), np.array(image.GetSpacing())
    centre = image.TransformContinuousIndexToPhysicalPoint([float(v) for v in (size - 1) / 2])
    return Cube(tuple(centre), float(np.min(size * spacing)))


def mask_cube(mask, margin, where):
    """The cube centred on the bounding box of a mask's nonzero voxels, `margin` times its largest extent.

    Raises:
        DataError: the mask is empty.
    """
    array = _array(mask)
    nonzero = np.argwhere(array != 0)  # (z, y, x) indices
    if not len(nonzero):
        raise DataError(f"{where}: the mask is empty (no nonzero voxel); expected the region to crop around")
    low, high = nonzero.min(axis=0)[::-1].astype(float), nonzero.max(axis=0)[::-1].astype(float)
    corners = [mask.TransformContinuousIndexToPhysicalPoint([(high if bit else low)[axis]
                                                              for axis, bit in enumerate(bits)])
               for bits in np.ndindex(2, 2, 2)]
    corners = np.array(corners)
    spacing = np.array(mask.GetSpacing())
    extent = corners.max(axis=0) - corners.min(axis=0) + spacing.min()  # voxel centres -> voxel edges
    centre = (corners.max(axis=0) + corners.min(axis=0)) / 2
    return Cube(tuple(float(c) for c in centre), float(extent.max() * margin))


def resample_cube(image, cube, size, orientation, background):
    """The cube's `size`^3 voxels of `image` (oriented like `orientation`), as a float32 `(z, y, x)` array.

    Downsampling first smooths the scan with a Gaussian of `(new - old) / 2` mm per axis (what
    scikit-image's `resize(anti_aliasing=True)` does in voxels), so that thin structures are averaged,
    not skipped; then trilinear interpolation samples the cube's grid. Outside the scan: `background`.

    Example:

    ```python
    cube = resample_cube(image, centred_cube(image), 28, "LPS", background=-1024.0)  # (28, 28, 28)
    ```
    """
    import SimpleITK as sitk

    image = orient(image, orientation)
    origin, spacing = cube.grid(size)
    sigmas = [max(0.0, (spacing - old) / 2) for old in image.GetSpacing()]
    if any(sigmas):
        image = sitk.DiscreteGaussian(image, variance=[s * s for s in sigmas], maximumKernelWidth=64,
                                      useImageSpacing=True)
    reference = sitk.Image([size] * 3, sitk.sitkFloat32)
    reference.SetOrigin(origin)
    reference.SetSpacing([spacing] * 3)
    reference.SetDirection(_direction(orientation))
    resampled = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkLinear, float(background),
                              sitk.sitkFloat32)
    return _array(resampled)


def resample_mask(mask, image, where):
    """The mask on its scan's grid (nearest neighbour), refused where it does not overlap the scan at all."""
    import SimpleITK as sitk

    on_grid = sitk.Resample(mask, image, sitk.Transform(), sitk.sitkNearestNeighbor, 0.0, sitk.sitkFloat32)
    if not np.any(_array(on_grid)):
        raise DataError(f"{where}: the mask does not overlap its scan (or is empty); expected a mask of the same scan")
    return on_grid


def _direction(code):
    """The direction matrix (row-major, LPS patient axes) of an axis-aligned grid in orientation `code`."""
    axes = {"L": (0, 1), "R": (0, -1), "P": (1, 1), "A": (1, -1), "S": (2, 1), "I": (2, -1)}
    matrix = np.zeros((3, 3))
    for column, letter in enumerate(code.upper()):
        row, sign = axes[letter]
        matrix[row, column] = sign
    return tuple(matrix.ravel())


def _array(image):
    import SimpleITK as sitk

    return sitk.GetArrayFromImage(image)
