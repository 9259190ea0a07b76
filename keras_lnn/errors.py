"""Exceptions the package raises for bad input: each message says which file or key and what was expected."""


class KerasLnnError(Exception):
    """Base class: the CLI prints these as one line (no traceback) and exits non-zero."""


class DataError(KerasLnnError, ValueError):
    """A MedMNIST file is missing, corrupt or not in the expected layout."""


class RunError(KerasLnnError):
    """A run cannot start or continue (for example, a settings clash with existing results)."""


class EvaluationError(KerasLnnError):
    """A finished model's predictions cannot be evaluated (a missing or damaged predictions.csv)."""
