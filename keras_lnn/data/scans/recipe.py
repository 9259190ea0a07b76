"""`Recipe`: the preprocessing settings that travel together, from `prepare` to the record to `predict`."""
import dataclasses

from keras_lnn.data.info import SIZES
from keras_lnn.errors import DataError

ORIENTATION = "LPS"  # DICOM's patient axes: array axis x -> Left, y -> Posterior, z -> Superior
DEFAULT_PERCENTILES = (0.5, 99.5)
DEFAULT_MASK_MARGIN = 1.5


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a scan becomes a cube: one orientation, isotropic spacing, a cube, S^3 voxels, 0-255 intensities.

    Attributes:
        size: The cube's edge in voxels, S (28 or 64).
        window: `(level, width)` of a CT window in the scan's units (Hounsfield units for CT): values
            from `level - width/2` to `level + width/2` map to 0-255; `None`: per-scan percentiles.
        percentiles: `(low, high)` percentiles of each cube mapped to 0 and 255 (without `window`).
        orientation: The DICOM orientation code every scan is brought to (array axes x, y, z).
        mask_margin: With a mask, the cube's edge is the mask's largest bounding-box extent times this.

    Example:

    ```python
    recipe = Recipe(size=64, window=(40, 400))          # a soft-tissue CT window
    Recipe.from_dict(recipe.to_dict()) == recipe        # True: the record holds it as JSON
    ```
    """

    size: int = 28
    window: tuple = None
    percentiles: tuple = DEFAULT_PERCENTILES
    orientation: str = ORIENTATION
    mask_margin: float = DEFAULT_MASK_MARGIN

    def __post_init__(self):
        if self.size not in SIZES:
            raise DataError(f"size {self.size}: expected one of {', '.join(map(str, SIZES))}")
        if self.window is not None:
            object.__setattr__(self, "window", tuple(float(v) for v in self.window))
            if len(self.window) != 2 or self.window[1] <= 0:
                raise DataError(f"window {self.window}: expected LEVEL,WIDTH with a positive width")
        object.__setattr__(self, "percentiles", tuple(float(v) for v in self.percentiles))
        low, high = self.percentiles
        if not 0 <= low < high <= 100:
            raise DataError(f"percentiles {self.percentiles}: expected LOW,HIGH with 0 <= LOW < HIGH <= 100")
        if self.mask_margin < 1:
            raise DataError(f"mask margin {self.mask_margin}: expected at least 1 (the cube holds the whole mask)")

    @property
    def intensities(self):
        """How intensities map to 0-255, in words: `"window 40,400"` or `"percentiles 0.5,99.5"`."""
        if self.window is not None:
            return "window {:g},{:g}".format(*self.window)
        return "percentiles {:g},{:g}".format(*self.percentiles)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        """The recipe of a record's `recipe` entry (unknown keys refused: a newer record needs a newer keras-lnn)."""
        fields = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise DataError(f"a preprocessing record with unknown setting(s) {', '.join(unknown)}: "
                            "written by a newer keras-lnn?")
        return cls(**data)


def parse_intensities(text):
    """`--window`'s value: `"LEVEL,WIDTH"` -> `{"window": (level, width)}`; `"percentiles"` or
    `"percentiles:LOW,HIGH"` -> `{"percentiles": (low, high)}`, keyword arguments of `Recipe`.

    Example:

    ```python
    parse_intensities("-600,1500")          # {"window": (-600.0, 1500.0)}, a lung window
    parse_intensities("percentiles:1,99")   # {"percentiles": (1.0, 99.0)}
    ```
    """
    text = text.strip()
    if text.startswith("percentiles"):
        rest = text[len("percentiles"):].lstrip(":")
        return {"percentiles": _pair(rest, text, "percentiles:LOW,HIGH")} if rest else {}
    return {"window": _pair(text, text, "LEVEL,WIDTH (e.g. 40,400)")}


def _pair(text, given, expected):
    try:
        low, high = (float(value) for value in text.split(","))
    except ValueError:
        raise DataError(f"{given!r}: expected {expected} or percentiles[:LOW,HIGH]") from None
    return low, high
