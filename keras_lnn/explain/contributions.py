"""What a model's decision is made of: per-slice contributions to the logit, and neuron states.

Every head of the zoo averages per-slice outputs (the `slice_mean` layer). Where only linear
layers (and the final sigmoid or softmax) follow that mean, the logit is exactly the mean of
per-slice logits, so `per-slice logit / slices` are contributions that sum to the logit. For
an LTC or CfC layer, the states of its neurons over the slices are its whole internal state;
they are the layer's own (`neuron_states` of `keras_lnn.layers.LTC` and `CfC`), whose outputs are
read from them.

Example:

```python
import keras, keras_lnn
from keras_lnn.explain import neuron_states, slice_contributions

model = keras.saving.load_model("saved_models/exp1_adrenal/LiqExp1N2/model.keras", compile=False)
result = slice_contributions(model, x[:4])
result.contributions.sum(axis=1)  # == result.logits
states = neuron_states(model, x[:4])[0].states  # (4, 28, 21): batch, slice, neuron
```
"""
import dataclasses

import keras
import numpy as np

from keras_lnn.errors import KerasLnnError

MEAN_LAYER, OUTPUT_LAYER = "slice_mean", "probability"  # the names keras_lnn.models gives them


class NotDecomposableError(KerasLnnError):
    """A model whose logit is not a sum of per-slice terms (a non-linear layer follows the slice mean)."""


@dataclasses.dataclass
class SliceContributions:
    """Per-slice contributions to the logits of a batch of volumes.

    Attributes:
        contributions: `(N, slices, outputs)`: per-slice logit / slices; summed over the slices
            it is `logits` (up to float32 rounding).
        logits: `(N, outputs)`: the model's logits (the input of its final sigmoid or softmax).
        probabilities: `(N, outputs)`: the model's outputs.
    """

    contributions: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray


def _linear_after_mean(model):
    """The layers between the slice mean and the output activation, if all are linear (else an error)."""
    names = [layer.name for layer in model.layers]
    if MEAN_LAYER not in names or OUTPUT_LAYER not in names:
        raise NotDecomposableError(
            f"{model.name} has no `{MEAN_LAYER}` and `{OUTPUT_LAYER}` layers: per-slice contributions are defined "
            "for keras_lnn's models, whose heads average per-slice outputs"
        )
    linear = []
    for layer in model.layers[names.index(MEAN_LAYER) + 1 : names.index(OUTPUT_LAYER)]:
        if isinstance(layer, keras.layers.Dropout):
            continue  # the identity at inference
        activation = getattr(getattr(layer, "activation", None), "__name__", None)
        if isinstance(layer, keras.layers.Dense) and activation == "linear":
            linear.append(layer)  # commutes with the mean: W mean(h) + b = mean(W h + b)
            continue
        what = f"{type(layer).__name__} {layer.name!r}" + (f" ({activation})" if activation else "")
        raise NotDecomposableError(
            f"{model.name}: a non-linear layer, {what}, follows the slice mean, so its logit is not a sum of "
            "per-slice terms; per-slice contributions are defined only where the layers after the mean are linear"
        )
    return linear


def slice_contributions(model, volumes, batch_size=32):
    """Each slice's contribution to the logit of each output, for a batch of volumes.

    Args:
        model: a keras_lnn model (its head ends in `slice_mean`, linear layers, `probability`).
        volumes: `(N, S, S, S, 1)` raw 0-255 volumes (any numeric dtype).
        batch_size: volumes per forward pass.

    Returns:
        A `SliceContributions`; `contributions.sum(axis=1)` equals `logits`.

    Raises:
        NotDecomposableError: a non-linear layer (e.g. CNNExp3N6's ReLU) follows the slice mean.

    Example:

    ```python
    result = slice_contributions(model, x_test[:8])
    np.allclose(result.contributions.sum(axis=1), result.logits, atol=1e-5)  # True
    ```
    """
    linear = _linear_after_mean(model)
    probability = model.get_layer(OUTPUT_LAYER)
    probe = keras.Model(model.inputs, [model.get_layer(MEAN_LAYER).input, probability.input, probability.output])
    per_slice, logits, probabilities = probe.predict(volumes, batch_size=batch_size, verbose=0)
    for layer in linear:
        per_slice = keras.ops.convert_to_numpy(layer(per_slice))
    per_slice = np.asarray(per_slice, dtype=np.float64)
    return SliceContributions(per_slice / per_slice.shape[1], np.asarray(logits, np.float64),
                              np.asarray(probabilities, np.float64))


# ---------------------------------------------------------------- neuron states
@dataclasses.dataclass
class NeuronStates:
    """The neurons of one wired recurrent layer (LTC or CfC) over the slices.

    Attributes:
        layer: the layer's name, e.g. `"ltc"`.
        kind: `"LTC"`, `"CfC"`, with `" + mixed memory"` where the cell has one.
        states: `(N, slices, units)`, neuron `i` of the wiring in column `i`.
        neuron_types: per neuron, `"motor"`, `"command"` or `"inter"` (the wiring's).
        motor: the motor neurons' indices (the wiring's first `output_dim`).
    """

    layer: str
    kind: str
    states: np.ndarray
    neuron_types: list
    motor: list


def wired_cell(layer):
    """The single-step cell with a `wiring` inside a recurrent layer (the ODE cell of a mixed-memory one), or None."""
    cell = getattr(layer, "cell", None)
    inner = getattr(cell, "rnn_cell", cell)
    return inner if hasattr(inner, "wiring") else None


def recurrent_layers(model):
    """The model's LTC and CfC layers with an ncps wiring (layers of `keras_lnn.layers`), in order."""
    return [layer for layer in model.layers if wired_cell(layer) is not None]


def _kind(layer):
    inner = wired_cell(layer)
    kind = "CfC" if "cfc" in type(inner).__name__.lower() else "LTC"
    return kind + (" + mixed memory" if inner is not layer.cell else "")


def _state_order(layer):
    """Neuron index of each state column: ncps's wired CfC keeps its state layer by layer
    (inter, command, motor), the LTC cell by neuron index."""
    inner = wired_cell(layer)
    wiring = inner.wiring
    if _kind(layer).startswith("CfC"):
        return [n for index in range(wiring.num_layers) for n in wiring.get_neurons_of_layer(index)]
    return list(range(wiring.units))


def neuron_states(model, volumes, batch_size=32):
    """The state of every neuron of every wired LTC/CfC layer, slice by slice.

    The layer's input sequence comes from the model up to that layer; the states are the
    layer's own (`LTC.neuron_states`, `CfC.neuron_states`): the computation its outputs
    are read from, from a zero state.

    Args:
        model: a keras_lnn model.
        volumes: `(N, S, S, S, 1)` raw 0-255 volumes.
        batch_size: volumes per forward pass.

    Returns:
        A list of `NeuronStates`, one per wired recurrent layer (empty for CNN and LSTM heads).

    Raises:
        KerasLnnError: a wired layer that is not one of `keras_lnn.layers` (it has no `neuron_states`).
    """
    layers = recurrent_layers(model)
    if not layers:
        return []
    foreign = [layer.name for layer in layers if not hasattr(layer, "neuron_states")]
    if foreign:
        raise KerasLnnError(f"{model.name}: layer {foreign[0]!r} is not a keras_lnn LTC or CfC layer, whose neuron "
                            "states explain reads; load the model with keras_lnn imported")
    probe = keras.Model(model.inputs, [layer.input for layer in layers])
    found = probe.predict(volumes, batch_size=batch_size, verbose=0)
    found = found if isinstance(found, (list, tuple)) else [found]
    results = []
    for layer, sequence in zip(layers, found):
        states = np.concatenate([
            keras.ops.convert_to_numpy(layer.neuron_states(keras.ops.convert_to_tensor(sequence[start:start + batch_size])))
            for start in range(0, len(sequence), batch_size)
        ])
        wiring = wired_cell(layer).wiring
        by_neuron = np.empty_like(states)
        by_neuron[..., _state_order(layer)] = states
        results.append(NeuronStates(
            layer.name, _kind(layer), by_neuron, [wiring.get_type_of_neuron(i) for i in range(wiring.units)],
            list(range(wiring.output_dim)),
        ))
    return results


# ---------------------------------------------------------------- synapses
def synapse_strengths(layer):
    """The learned strength of each synapse of a wired LTC layer, signed by its polarity.

    An LTC synapse's strength is its maximum conductance `w` (sensory ones: `sensory_w`); its
    sign is that of its learned reversal potential (`erev`): positive excitatory, negative
    inhibitory. Synapses the wiring does not have are 0.

    Returns:
        `(internal (units, units) or None, sensory (inputs, units) or None)`, source by target;
        None where the cell has no such weights (a CfC's synapses are masked dense weights
        with no single strength).
    """
    inner = wired_cell(layer)
    weights = {variable.name.split("/")[-1]: keras.ops.convert_to_numpy(variable) for variable in inner.weights}
    wiring = inner.wiring

    def strength(prefix, adjacency):
        if f"{prefix}w" not in weights:
            return None
        sign = np.sign(weights.get(f"{prefix}erev", adjacency))
        return np.abs(weights[f"{prefix}w"]) * np.abs(adjacency) * np.where(sign == 0, 1, sign)

    return strength("", wiring.adjacency_matrix), strength("sensory_", wiring.sensory_adjacency_matrix)
