"""The model registry (in the spirit of timm): names to `Architecture`s, and the lookups by name.

The registry fills itself from the zoo in `keras_lnn.models.zoo` on import;
`register` adds a model of one's own. Besides model and experiment names, three
group names stand for sets of models, each with one meaning (`MODEL_GROUPS`):
`paper`, the paper's 30 models (experiments 1-5, with a Table 1 count); `all`,
the paper's and the extensions'; `diagnostic`, the models that reproduce a defect
of the paper's code (registered apart: no baselines, in no family).

Example:

>>> from keras_lnn.models import experiment_models, get_architecture, group_models
>>> experiment_models("exp1")[:2]
['CNNExp1N1', 'LiqExp1N2']
>>> get_architecture("liqexp1n2").name  # names are case-insensitive
'LiqExp1N2'
>>> len(group_models("paper")), len(group_models("all"))
(30, 36)
"""
import fnmatch

from keras_lnn.errors import KerasLnnError
from keras_lnn.models.zoo import ARCHITECTURES

# The names of sets of models, one meaning each.
MODEL_GROUPS = {
    "paper": "the paper's 30 models (exp1-exp5, each with a Table 1 parameter count)",
    "all": "every registered model but the diagnostics: the paper's and the extensions (exp6)",
    "diagnostic": "models that reproduce a defect of the paper's code to measure it (exp5-across-batch), no baselines",
}


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


def group_models(group):
    """The model names of a group of `MODEL_GROUPS`, in the registry's order.

    Example:

    >>> group_models("paper")[-1]
    'RNNExp5N6'
    """
    if group not in MODEL_GROUPS:
        raise UnknownModelError(f"unknown model group {group!r}; expected one of: {', '.join(MODEL_GROUPS)}")
    names = list(_REGISTRY)
    if group == "diagnostic":
        return [n for n in names if _REGISTRY[n].diagnostic]
    return [n for n in names if _REGISTRY[n].in_paper or (group == "all" and not _REGISTRY[n].diagnostic)]


def group_experiments(group):
    """The experiments whose models make up `group` (`paper`: exp1-exp5; `all`: every experiment)."""
    names = set(group_models(group))
    return [e for e, members in _EXPERIMENTS.items() if all(n in names for n in members)]


def experiment_scope(name):
    """What `lnn-keras run NAME` trains: `(experiments, models)` for a group (`MODEL_GROUPS`), an experiment or
    one model's name; `models` is None where every model of the experiments is meant.

    Raises:
        UnknownModelError: `name` is none of them (the message lists the experiments and groups).

    Example:

    >>> experiment_scope("paper")[0][:2], experiment_scope("LiqExp1N2")
    (['exp1', 'exp2'], (['exp1'], ['LiqExp1N2']))
    """
    if name in MODEL_GROUPS:
        return group_experiments(name), None
    if name in _EXPERIMENTS:
        return [name], None
    try:
        architecture = get_architecture(name)
    except UnknownModelError:
        raise UnknownModelError(f"{name!r} is neither an experiment ({', '.join(list_experiments())}), a group "
                                f"({', '.join(MODEL_GROUPS)}) nor a model") from None
    return [architecture.experiment], [architecture.name]


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
    """Expands group names (`MODEL_GROUPS`), experiment names, model names and wildcards into model names.

    The order is kept and no name repeats. A wildcard never picks a diagnostic model: those are
    trained only by name, by their experiment or by the `diagnostic` group.
    """
    resolved = []
    for name in names:
        if name in MODEL_GROUPS:
            found = group_models(name)
        elif name in _EXPERIMENTS:
            found = _EXPERIMENTS[name]
        elif any(ch in name for ch in "*?["):
            found = [n for n in list_models(name) if not _REGISTRY[n].diagnostic]
            if not found:
                raise UnknownModelError(f"no model matches {name!r}")
        else:
            found = [get_architecture(name).name]
        resolved += [n for n in found if n not in resolved]
    return resolved


for _architecture in ARCHITECTURES:
    register(_architecture)
