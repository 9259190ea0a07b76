"""The model registry (in the spirit of timm): names to `Architecture`s, and the lookups by name.

The registry fills itself from the zoo in `keras_lnn.architectures` on import;
`register` adds a model of one's own.

Example:

>>> from keras_lnn.registry import experiment_models, get_architecture
>>> experiment_models("exp1")[:2]
['CNNExp1N1', 'LiqExp1N2']
>>> get_architecture("liqexp1n2").name  # names are case-insensitive
'LiqExp1N2'
"""
import fnmatch

from keras_lnn.architectures import ARCHITECTURES
from keras_lnn.errors import KerasLnnError


class UnknownModelError(KerasLnnError, KeyError):
    """A model or experiment name that the registry does not know."""

    def __str__(self):
        return str(self.args[0])


_REGISTRY: dict = {}
_EXPERIMENTS: dict = {}


def register(architecture):
    """Adds an `Architecture` to the registry (names are unique)."""
    if architecture.name in _REGISTRY:
        raise ValueError(f"model {architecture.name!r} is registered twice")
    _REGISTRY[architecture.name] = architecture
    _EXPERIMENTS.setdefault(architecture.experiment, []).append(architecture.name)
    return architecture


def list_models(pattern=None, experiment=None):
    """Names of the registered models, in the paper's order.

    Args:
        pattern: optional shell-style wildcard, case-insensitive ("Liq*", "*exp5*").
        experiment: optional experiment name to restrict to.
    """
    names = list(_REGISTRY)
    if experiment is not None:
        names = experiment_models(experiment)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]
    return names


def list_experiments():
    """The experiment names, in the order their first models were registered (exp1 ... exp6)."""
    return list(_EXPERIMENTS)


def experiment_models(experiment):
    """The six model names of `experiment` in the paper's order."""
    if experiment not in _EXPERIMENTS:
        raise UnknownModelError(
            f"unknown experiment {experiment!r}; expected one of: {', '.join(_EXPERIMENTS)}"
        )
    return list(_EXPERIMENTS[experiment])


def get_architecture(name):
    """The `Architecture` registered as `name` (case-insensitive); `UnknownModelError` if there is none."""
    if name not in _REGISTRY:
        lowered = {n.lower(): n for n in _REGISTRY}
        if name.lower() in lowered:
            return _REGISTRY[lowered[name.lower()]]
        raise UnknownModelError(
            f"unknown model {name!r}; `lnn-keras list` shows the {len(_REGISTRY)} registered models"
        )
    return _REGISTRY[name]


def resolve_models(names):
    """Expands experiment names, model names and wildcards into model names (order kept, no repeats)."""
    resolved = []
    for name in names:
        if name == "all":
            found = list(_REGISTRY)
        elif name in _EXPERIMENTS:
            found = _EXPERIMENTS[name]
        elif any(ch in name for ch in "*?["):
            found = list_models(name)
            if not found:
                raise UnknownModelError(f"no model matches {name!r}")
        else:
            found = [get_architecture(name).name]
        resolved += [n for n in found if n not in resolved]
    return resolved


for _architecture in ARCHITECTURES:
    register(_architecture)
