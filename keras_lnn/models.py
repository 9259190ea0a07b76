"""Model building blocks and the model registry (in the spirit of timm).

An architecture is data: a slice encoder name plus a head, a tuple of small
step specs (`Dense`, `Ltc`, `Rnn`, ...). `create_model` turns it into a Keras
functional model:

    volume (S, S, S, 1), raw 0-255
      -> Rescaling(1/255)
      -> encoder, applied to every slice (the first spatial axis is the sequence)
      -> head steps (per slice until `MEAN` averages over the slices)
      -> sigmoid (binary) or softmax (multi-class) named "probability"

Example:

>>> import keras_lnn
>>> keras_lnn.list_models("LiqExp1*")
['LiqExp1N2', 'LiqExp1N5', 'LiqExp1N6']
>>> model = keras_lnn.create_model("LiqExp1N2")
>>> model.output_shape
(None, 1)
"""
import dataclasses
import fnmatch
import math
from typing import Optional, Union

import keras
import ncps.wirings

from keras_lnn import layers as lnn_layers
from keras_lnn.errors import KerasLnnError

# Stands for the model's number of outputs in a head spec: 1 for a binary task
# (one logit), n_classes for a multi-class task.
OUT = "OUT"
Units = Union[int, str]


class UnknownModelError(KerasLnnError, KeyError):
    """A model or experiment name that the registry does not know."""

    def __str__(self):
        return str(self.args[0])


def _resolve_units(units, n_outputs):
    return n_outputs if units == OUT else units


# ---------------------------------------------------------------- step specs
@dataclasses.dataclass(frozen=True)
class Conv:
    """Conv2D with `filters` of `kernel` x `kernel` (valid padding) and ReLU."""

    filters: int
    kernel: int

    def layer(self, n_outputs):
        return keras.layers.Conv2D(self.filters, self.kernel, activation="relu")


@dataclasses.dataclass(frozen=True)
class Pool:
    """MaxPooling2D 2x2."""

    def layer(self, n_outputs):
        return keras.layers.MaxPooling2D(2)


@dataclasses.dataclass(frozen=True)
class Dense:
    """A Dense layer, applied per slice on sequences; `units` may be `OUT`."""

    units: Units
    activation: Optional[str] = None

    def layer(self, n_outputs):
        return keras.layers.Dense(_resolve_units(self.units, n_outputs), activation=self.activation)


@dataclasses.dataclass(frozen=True)
class Dropout:
    rate: float = 0.2

    def layer(self, n_outputs):
        return keras.layers.Dropout(self.rate)


@dataclasses.dataclass(frozen=True)
class BatchNorm:
    """BatchNormalization over the features (its moving statistics are non-trainable)."""

    def layer(self, n_outputs):
        return keras.layers.BatchNormalization()


@dataclasses.dataclass(frozen=True)
class Activation:
    name: str

    def layer(self, n_outputs):
        return keras.layers.Activation(self.name)


@dataclasses.dataclass(frozen=True)
class Mean:
    """The mean over the slice (time) axis: the read-out of every head."""

    def layer(self, n_outputs):
        return keras.layers.GlobalAveragePooling1D(name="slice_mean")


MEAN = Mean()
RELU = Activation("relu")

_WIRINGS = {"auto": ncps.wirings.AutoNCP, "full": ncps.wirings.FullyConnected}


@dataclasses.dataclass(frozen=True)
class Ltc:
    """An LTC (or CfC) layer over the slices with `units` neurons and `motor` outputs.

    Args:
        units: number of neurons.
        motor: number of motor (output) neurons; may be `OUT`.
        wiring: "auto" (`ncps.wirings.AutoNCP`) or "full" (`FullyConnected`).
        cell: "ltc" (`ncps.keras.LTC`) or "cfc" (`ncps.keras.CfC`).
        mixed_memory: wrap the cell in ncps's mixed-memory (LSTM-augmented) RNN.
    """

    units: int
    motor: Units
    wiring: str = "auto"
    cell: str = "ltc"
    mixed_memory: bool = False

    def validate(self, n_outputs):
        motor = _resolve_units(self.motor, n_outputs)
        # AutoNCP needs inter and command neurons beside the motor ones; motor neurons are a subset.
        most = self.units - 3 if self.wiring == "auto" else self.units
        if motor > most:
            raise KerasLnnError(f"{_WIRINGS[self.wiring].__name__}({self.units}) cannot have {motor} motor neurons (at most {most})")
        return motor

    def layer(self, n_outputs):
        motor = self.validate(n_outputs)
        wiring = _WIRINGS[self.wiring](self.units, motor)
        layer_class = {"ltc": lnn_layers.LTC, "cfc": lnn_layers.CfC}[self.cell]
        return layer_class(wiring, mixed_memory=self.mixed_memory, return_sequences=True)


@dataclasses.dataclass(frozen=True)
class Rnn:
    """A Keras LSTM or SimpleRNN (tanh) over the slices, returning every step."""

    kind: str
    units: Units

    def layer(self, n_outputs):
        layer_class = {"lstm": keras.layers.LSTM, "rnn": keras.layers.SimpleRNN}[self.kind]
        return layer_class(_resolve_units(self.units, n_outputs), return_sequences=True)

    def pytorch_extra_params(self, n_outputs=1):
        """PyTorch carries a second (recurrent) bias per gate that Keras folds into one."""
        gates = {"lstm": 4, "rnn": 1}[self.kind]
        return gates * _resolve_units(self.units, n_outputs)


# ---------------------------------------------------------------- encoders
ENCODERS = {
    "E2": (Conv(6, 5), Pool(), Conv(16, 3), Pool()),
    "E4a": (Conv(6, 5), Conv(6, 5), Pool(), Conv(16, 3), Conv(16, 3), Pool()),
    "E4b": (Conv(6, 5), Conv(6, 5), Pool(), Conv(16, 3), Conv(16, 3)),
}


def slice_encoder(name, n_outputs=1):
    """The per-slice convolutional encoder `name` ("E2", "E4a" or "E4b") as one layer.

    Returns a `SliceWise` layer mapping `(batch, slices, S, S, 1)` to
    `(batch, slices, features)`.
    """
    steps = [step.layer(n_outputs) for step in ENCODERS[name]]
    return lnn_layers.SliceWise(keras.Sequential([*steps, keras.layers.Flatten()], name=name), name=f"encoder_{name}")


# ---------------------------------------------------------------- heads (shorthands for the table)
def cnn(*hidden, dropout=None):
    """Per-slice Dense layers with ReLU, then one logit per slice, averaged over slices."""
    steps = []
    for units in hidden:
        steps += [Dropout(dropout)] if dropout else []
        steps.append(Dense(units, "relu"))
    steps += [Dropout(dropout)] if dropout else []
    return (*steps, Dense(OUT), MEAN)


def auto(units, motor=OUT, **options):
    return Ltc(units, motor, "auto", **options)


def full(units, motor=OUT, **options):
    return Ltc(units, motor, "full", **options)


def liquid(*ltc_layers):
    """LTC layers (ReLU between them) whose motor outputs are averaged over slices."""
    steps = []
    for index, layer in enumerate(ltc_layers):
        steps += [RELU] if index else []
        steps.append(layer)
    return (*steps, MEAN)


def recurrent(kind, *units, dense_out=True):
    """Keras LSTM/SimpleRNN layers, then (optionally) ReLU + per-step Dense logit, averaged."""
    steps = tuple(Rnn(kind, u) for u in units)
    return (*steps, RELU, Dense(OUT), MEAN) if dense_out else (*steps, MEAN)


# ---------------------------------------------------------------- registry
@dataclasses.dataclass(frozen=True)
class Architecture:
    """One registered architecture.

    Args:
        name: the paper's model name, e.g. "LiqExp1N2".
        experiment: "exp1" ... "exp6".
        encoder: key of `ENCODERS`.
        head: tuple of step specs; must contain `MEAN`.
        paper_params: Table 1's parameter count (None for models not in the paper).
        note: one line of prose (e.g. which paper model an extension pairs with).
    """

    name: str
    experiment: str
    encoder: str
    head: tuple
    paper_params: Optional[int] = None
    note: str = ""

    def pytorch_extra_params(self, n_outputs=1):
        """Parameters the paper's PyTorch model has beyond the Keras one (second RNN biases)."""
        return sum(step.pytorch_extra_params(n_outputs) for step in self.head if isinstance(step, Rnn))


_REGISTRY: dict = {}
_EXPERIMENTS: dict = {}


def register(architecture):
    """Adds an `Architecture` to the registry (names are unique)."""
    if architecture.name in _REGISTRY:
        raise ValueError(f"model {architecture.name!r} is registered twice")
    _REGISTRY[architecture.name] = architecture
    _EXPERIMENTS.setdefault(architecture.experiment, []).append(architecture.name)
    return architecture


def _ensure_registered():
    from keras_lnn import architectures  # noqa: F401  (registers the zoo on import)


def list_models(pattern=None, experiment=None):
    """Names of the registered models, in the paper's order.

    Args:
        pattern: optional shell-style wildcard, case-insensitive ("Liq*", "*exp5*").
        experiment: optional experiment name to restrict to.
    """
    _ensure_registered()
    names = list(_REGISTRY)
    if experiment is not None:
        names = experiment_models(experiment)
    if pattern:
        names = [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]
    return names


def list_experiments():
    _ensure_registered()
    return list(_EXPERIMENTS)


def experiment_models(experiment):
    """The six model names of `experiment` in the paper's order."""
    _ensure_registered()
    if experiment not in _EXPERIMENTS:
        raise UnknownModelError(
            f"unknown experiment {experiment!r}; expected one of: {', '.join(_EXPERIMENTS)}"
        )
    return list(_EXPERIMENTS[experiment])


def get_architecture(name):
    _ensure_registered()
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
    _ensure_registered()
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


def validate_model(name, n_classes=2):
    """Returns the architecture, or raises KerasLnnError if it cannot have `n_classes` outputs."""
    architecture = get_architecture(name)
    n_outputs = 1 if n_classes == 2 else n_classes
    for step in architecture.head:
        try:
            getattr(step, "validate", lambda n: None)(n_outputs)
        except KerasLnnError as error:
            raise KerasLnnError(f"{architecture.name} cannot be built with {n_classes} classes: {error}") from None
    return architecture


def create_model(name, input_size=28, n_classes=2):
    """Builds the registered model `name` as a Keras functional model.

    Args:
        name: a registered model name (see `list_models`).
        input_size: edge length S of the `(S, S, S, 1)` input volumes (28 or 64).
        n_classes: 2 for a binary task (sigmoid output `(batch, 1)`), more for
            a multi-class one (softmax output `(batch, n_classes)`).

    Returns:
        An uncompiled `keras.Model` taking raw 0-255 volumes.

    Example:

    >>> model = create_model("CNNExp2N4")
    >>> model.count_params()
    13739
    """
    architecture = validate_model(name, n_classes)
    n_outputs = 1 if n_classes == 2 else n_classes
    head = [step.layer(n_outputs) for step in architecture.head]
    volume = keras.Input((input_size, input_size, input_size, 1), name="volume")
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(volume)
    x = slice_encoder(architecture.encoder)(x)
    for layer in head:
        x = layer(x)
    activation = "sigmoid" if n_outputs == 1 else "softmax"
    probability = keras.layers.Activation(activation, name="probability")(x)
    return keras.Model(volume, probability, name=architecture.name)


def count_params(model):
    """(trainable, non_trainable) parameter counts, as `model.summary()` prints them."""
    def total(weights):
        return sum(math.prod(w.shape) for w in weights)

    return total(model.trainable_weights), total(model.non_trainable_weights)
