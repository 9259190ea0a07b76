"""The zoo's building blocks, written once: head step specs, slice encoders, shorthands, `Architecture`.

A head is a tuple of small frozen specs (`Dense`, `LiquidLayer`, `Rnn`, ...), each
of which makes its Keras layer on demand (`spec.layer(n_outputs)`); the shorthands
(`cnn(120, 84)`, `liquid(auto(21))`, `liquid(cfc(21))`, `recurrent("lstm", 40)`)
spell the paper's heads in one line each (`keras_lnn.models.zoo`).
`keras_lnn.models.build` turns an `Architecture` into a Keras model.

Keras, ncps and the package's layers load when a spec makes its layer, not
before: the zoo's names and facts (`lnn-keras list`, the report's families) read
without starting a backend (about 4 s of Keras's import on a 2-core machine).

Example:

>>> from keras_lnn.models.blocks import Architecture, auto, liquid
>>> Architecture("MyLiq", "mine", "E2", liquid(auto(12))).head[-1]
Mean()
"""
import dataclasses
from typing import Optional, Union

from keras_lnn.errors import KerasLnnError

# Stands for the model's number of outputs in a head spec: 1 for a binary task
# (one logit), n_classes for a multi-class task.
OUT = "OUT"
Units = Union[int, str]


def resolve_units(units, n_outputs):
    """`units`, with `OUT` replaced by the model's number of outputs."""
    return n_outputs if units == OUT else units


# ---------------------------------------------------------------- step specs
@dataclasses.dataclass(frozen=True)
class Conv:
    """Conv2D with `filters` of `kernel` x `kernel` (valid padding) and ReLU."""

    filters: int
    kernel: int

    def layer(self, n_outputs):
        import keras

        return keras.layers.Conv2D(self.filters, self.kernel, activation="relu")


@dataclasses.dataclass(frozen=True)
class Pool:
    """MaxPooling2D 2x2."""

    def layer(self, n_outputs):
        import keras

        return keras.layers.MaxPooling2D(2)


@dataclasses.dataclass(frozen=True)
class Dense:
    """A Dense layer, applied per slice on sequences; `units` may be `OUT`."""

    units: Units
    activation: Optional[str] = None

    def layer(self, n_outputs):
        import keras

        return keras.layers.Dense(resolve_units(self.units, n_outputs), activation=self.activation)


@dataclasses.dataclass(frozen=True)
class Dropout:
    rate: float = 0.2

    def layer(self, n_outputs):
        import keras

        return keras.layers.Dropout(self.rate)


@dataclasses.dataclass(frozen=True)
class BatchNorm:
    """BatchNormalization over the features (its moving statistics are non-trainable)."""

    def layer(self, n_outputs):
        import keras

        return keras.layers.BatchNormalization()


@dataclasses.dataclass(frozen=True)
class Activation:
    name: str

    def layer(self, n_outputs):
        import keras

        return keras.layers.Activation(self.name)


@dataclasses.dataclass(frozen=True)
class Mean:
    """The mean over the slice (time) axis: the read-out of every head."""

    def layer(self, n_outputs):
        import keras

        return keras.layers.GlobalAveragePooling1D(name="slice_mean")


MEAN = Mean()
RELU = Activation("relu")

_WIRINGS = {"auto": "AutoNCP", "full": "FullyConnected"}  # classes of `ncps.wirings`


@dataclasses.dataclass(frozen=True)
class LiquidLayer:
    """An ncps-wired liquid layer over the slices: LTC or CfC, `units` neurons, `motor` outputs.

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
        motor = resolve_units(self.motor, n_outputs)
        # AutoNCP needs inter and command neurons beside the motor ones; motor neurons are a subset.
        most = self.units - 3 if self.wiring == "auto" else self.units
        if motor > most:
            raise KerasLnnError(f"{_WIRINGS[self.wiring]}({self.units}) cannot have {motor} motor neurons (at most {most})")
        return motor

    def layer(self, n_outputs):
        import ncps.wirings

        from keras_lnn import layers as lnn_layers

        motor = self.validate(n_outputs)
        wiring = getattr(ncps.wirings, _WIRINGS[self.wiring])(self.units, motor)
        layer_class = {"ltc": lnn_layers.LTC, "cfc": lnn_layers.CfC}[self.cell]
        return layer_class(wiring, mixed_memory=self.mixed_memory, return_sequences=True)


@dataclasses.dataclass(frozen=True)
class Rnn:
    """A Keras LSTM or SimpleRNN (tanh) over the slices, returning every step.

    Args:
        kind: "lstm" or "rnn".
        units: the layer's units; may be `OUT`.
        across_batch: recur over the volumes of the batch instead, as the paper's code did
            (`keras_lnn.layers.AcrossBatch`): only for the diagnostic models.
    """

    kind: str
    units: Units
    across_batch: bool = False

    def layer(self, n_outputs):
        import keras

        from keras_lnn import layers as lnn_layers

        layer_class = {"lstm": keras.layers.LSTM, "rnn": keras.layers.SimpleRNN}[self.kind]
        layer = layer_class(resolve_units(self.units, n_outputs), return_sequences=True)
        return lnn_layers.AcrossBatch(layer) if self.across_batch else layer

    def pytorch_extra_params(self, n_outputs=1):
        """PyTorch carries a second (recurrent) bias per gate that Keras folds into one."""
        gates = {"lstm": 4, "rnn": 1}[self.kind]
        return gates * resolve_units(self.units, n_outputs)


# ---------------------------------------------------------------- encoders
ENCODERS = {
    "E2": (Conv(6, 5), Pool(), Conv(16, 3), Pool()),
    "E4a": (Conv(6, 5), Conv(6, 5), Pool(), Conv(16, 3), Conv(16, 3), Pool()),
    "E4b": (Conv(6, 5), Conv(6, 5), Pool(), Conv(16, 3), Conv(16, 3)),
}


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
    """An LTC layer with an AutoNCP(units, motor) wiring (`options`: `cell`, `mixed_memory`)."""
    return LiquidLayer(units, motor, "auto", **options)


def full(units, motor=OUT, **options):
    """An LTC layer with a FullyConnected(units, motor) wiring."""
    return LiquidLayer(units, motor, "full", **options)


def cfc(units, motor=OUT, wiring="auto"):
    """A CfC layer (closed-form continuous-time) with an AutoNCP or FullyConnected wiring."""
    return LiquidLayer(units, motor, wiring, cell="cfc")


def liquid(*ltc_layers):
    """Liquid layers (ReLU between them) whose motor outputs are averaged over slices."""
    steps = []
    for index, layer in enumerate(ltc_layers):
        steps += [RELU] if index else []
        steps.append(layer)
    return (*steps, MEAN)


def recurrent(kind, *units, dense_out=True, across_batch=False):
    """Keras LSTM/SimpleRNN layers, then (optionally) ReLU + per-step Dense logit, averaged.

    `across_batch`: every recurrent layer recurs over the batch, as the paper's code ran them.
    """
    steps = tuple(Rnn(kind, u, across_batch) for u in units)
    return (*steps, RELU, Dense(OUT), MEAN) if dense_out else (*steps, MEAN)


# ---------------------------------------------------------------- a whole model
@dataclasses.dataclass(frozen=True)
class Architecture:
    """One registered architecture.

    Args:
        name: the paper's model name, e.g. "LiqExp1N2".
        experiment: "exp1" ... "exp6".
        encoder: key of `ENCODERS`.
        head: tuple of step specs; must contain `MEAN`.
        paper_params: Table 1's parameter count (None for models not in the paper: `in_paper`).
        note: one line of prose (e.g. which paper model an extension pairs with).
        reproduces: for a diagnostic model, the paper model whose defect it reproduces; such a
            model is no baseline and belongs to no family (`diagnostic`).
        pairs_with: for an extension beyond the paper (exp6), the paper's LTC model it changes one part
            of (the recurrent cell or its memory; same encoder and wiring), which a report compares it with.
    """

    name: str
    experiment: str
    encoder: str
    head: tuple
    paper_params: Optional[int] = None
    note: str = ""
    reproduces: Optional[str] = None
    pairs_with: Optional[str] = None

    @property
    def diagnostic(self):
        """Whether the model reproduces a defect of the paper's code (registered apart from the study's models)."""
        return self.reproduces is not None

    @property
    def family(self):
        """"LTC" (a liquid layer: LTC or CfC), "LSTM/RNN" (a Keras recurrent layer), "CNN" (neither), or None for
        a diagnostic model, which is no baseline: the family a report compares its best models in."""
        if self.diagnostic:
            return None
        if any(isinstance(step, LiquidLayer) for step in self.head):
            return "LTC"
        return "LSTM/RNN" if any(isinstance(step, Rnn) for step in self.head) else "CNN"

    @property
    def in_paper(self):
        """Whether the model is one of the paper's 30 (it has a Table 1 count)."""
        return self.paper_params is not None

    def pytorch_extra_params(self, n_outputs=1):
        """Parameters the paper's PyTorch model has beyond the Keras one (second RNN biases)."""
        return sum(step.pytorch_extra_params(n_outputs) for step in self.head if isinstance(step, Rnn))

