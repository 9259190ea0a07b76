"""Intensities to MedMNIST's 0-255: a fixed CT window, or each cube's own percentiles."""
import numpy as np

AIR_HU = -1024.0  # what lies outside a CT scan; with a window, the cube's padding


def background(minimum, recipe):
    """The value of voxels outside a scan whose smallest value is `minimum`: air (below any CT window)
    with a window, else that minimum."""
    return min(AIR_HU, minimum) if recipe.window is not None else minimum


def to_uint8(cube, recipe):
    """`cube` (float, the scan's units) mapped linearly to 0-255 and rounded, clipped outside the range.

    With `recipe.window = (level, width)` the range is `level -+ width/2` (Hounsfield units for CT);
    else it is the cube's `recipe.percentiles`. A constant cube maps to 0.

    Example:

    ```python
    to_uint8(np.array([-1000.0, 40.0, 240.0]), Recipe(window=(40, 400)))  # array([0, 128, 255])
    ```
    """
    if recipe.window is not None:
        level, width = recipe.window
        low, high = level - width / 2, level + width / 2
    else:
        low, high = np.percentile(cube, recipe.percentiles)
    if high <= low:
        return np.zeros(cube.shape, np.uint8)
    scaled = (np.asarray(cube, np.float64) - low) / (high - low)
    return np.rint(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)
