"""Old import paths kept working for a while: each module named here warns once and re-exports its new home."""
import warnings


def moved(old, new):
    """Warns (DeprecationWarning) that module `old` is now `new`.

    Example:

    >>> moved("keras_lnn.specs", "keras_lnn.models.blocks")  # in keras_lnn/specs.py
    """
    warnings.warn(f"{old} is deprecated: import from {new} instead", DeprecationWarning, stacklevel=3)
