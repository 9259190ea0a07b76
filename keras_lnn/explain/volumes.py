"""`explain_model`: per chosen volume one PNG (montage, per-slice contributions, neuron states), and the wirings."""
import dataclasses
from pathlib import Path

import numpy as np

import keras_lnn
from keras_lnn.errors import KerasLnnError
from keras_lnn.io import atomic_write_bytes
from keras_lnn.explain.contributions import (
    neuron_states, recurrent_layers, slice_contributions, synapse_strengths, wired_cell,
)
from keras_lnn.data import run_dataset_source
from keras_lnn.explain.inputs import check_fits, run_record


@dataclasses.dataclass
class Explanation:
    """One explained volume.

    Attributes:
        index: its position in the split's arrays.
        label, predicted: true and predicted class.
        probability: the model's probability of the predicted class.
        explained_class: the class whose logit is decomposed (binary models: 1, the sigmoid's).
        logit: that logit; `contributions.sum()` equals it.
        contributions: `(slices,)` per-slice contributions to that logit.
        figure: the PNG written.
    """

    index: int
    label: int
    predicted: int
    probability: float
    explained_class: int
    logit: float
    contributions: np.ndarray
    figure: Path


@dataclasses.dataclass
class ExplainResult:
    """What `explain_model` wrote: per-volume `explanations` (with their figures) and the wiring figures."""

    explanations: list
    wiring_figures: list

    @property
    def figures(self):
        return [explanation.figure for explanation in self.explanations]


def _predicted(probabilities):
    """Predicted class and its probability, per row (binary: class 1 where p > 0.5)."""
    if probabilities.shape[-1] == 1:
        p = probabilities[:, 0]
        predicted = (p > 0.5).astype(int)
        return predicted, np.where(predicted == 1, p, 1 - p)
    predicted = np.argmax(probabilities, axis=1)
    return predicted, probabilities[np.arange(len(predicted)), predicted]


def _class(index, names):
    """"1", or "1 (malignant)" where the class has a name of its own."""
    name = names.get(index)
    return f"{index}" if name in (None, str(index)) else f"{index} ({name})"


def choose_volumes(labels, probabilities, indices=None, worst=None):
    """Which volumes to explain: `indices`, else the `worst` most confident mistakes, else volume 0.

    Args:
        labels: `(N,)` or `(N, 1)` true classes.
        probabilities: `(N, outputs)` the model's outputs (only needed for `worst`).
        indices: positions in the split.
        worst: how many of the most confident mistakes (fewer where there are fewer mistakes).

    Raises:
        KerasLnnError: both given, or an index outside the split.
    """
    labels = np.asarray(labels).reshape(-1)
    if indices is not None and worst is not None:
        raise KerasLnnError("pass either indices (--index) or worst (--worst), not both")
    if worst is not None:
        predicted, confidence = _predicted(np.asarray(probabilities))
        mistakes = np.flatnonzero(predicted != labels)
        return [int(i) for i in mistakes[np.argsort(-confidence[mistakes], kind="stable")][:worst]]
    indices = [0] if indices is None else [int(i) for i in indices]
    outside = [i for i in indices if not 0 <= i < len(labels)]
    if outside:
        raise KerasLnnError(f"index {outside[0]} is outside the split: it has {len(labels)} volumes (0-{len(labels) - 1})")
    return indices


def explain_model(model_dir, split="test", indices=None, worst=None, output=None, dataset=None, data_dir=None,
                  batch_size=32, echo=print):
    """Writes one PNG per chosen volume (montage, per-slice contributions, neuron states) and the wiring diagrams.

    Args:
        model_dir: a model folder of `lnn-keras run` (model.keras, metrics.json), or a `.keras` file.
        split: "train", "val" or "test".
        indices: volumes to explain, by position in the split (default: volume 0).
        worst: explain the `worst` most confident mistakes instead.
        output: folder for the PNGs (default: `<model_dir>/explain`).
        dataset: the data to read (a MedMNIST name or `.npz` file); default: the run's own.
        data_dir: MedMNIST root for a MedMNIST dataset.
        batch_size: volumes per forward pass.
        echo: where progress lines go.

    Returns:
        An `ExplainResult`.

    Raises:
        NotDecomposableError: the model's head is not a mean of per-slice logits (CNNExp3N6).
        KerasLnnError, DataError: the model or the data cannot be read, or do not fit together.

    Example:

    ```python
    explain_model("saved_models/exp1_myscans/LiqExp1N2", indices=[0, 5])
    ```
    """
    from keras_lnn.data import load_dataset
    from keras_lnn.explain import figures

    model_dir = Path(model_dir)
    model = keras_lnn.load_model(model_dir, compile=False)
    slice_contributions(model, np.zeros((1, *model.input_shape[1:]), "uint8"))  # refuses a non-decomposable head now
    data = load_dataset(run_dataset_source(run_record(model_dir), dataset, data_dir, str(model_dir)),
                        verify=False, dtype="uint8")
    check_fits(model, data)
    x, y = data.split(split)
    labels = y.reshape(-1)
    everything = slice_contributions(model, x, batch_size) if worst is not None else None
    chosen = choose_volumes(labels, everything.probabilities if everything else None, indices, worst)
    if worst is not None and not chosen:
        echo(f"{model.name} makes no mistake on the {split} split: nothing to explain with --worst")
    output = Path(output) if output is not None else (model_dir if model_dir.is_dir() else model_dir.parent) / "explain"
    result = ExplainResult([], [])
    if chosen:
        picked = slice_contributions(model, x[chosen], batch_size)
        states = neuron_states(model, x[chosen], batch_size)
        predicted, confidence = _predicted(picked.probabilities)
        names = data.info.labels
        for row, index in enumerate(chosen):
            label, guess = int(labels[index]), int(predicted[row])
            column = 0 if picked.logits.shape[-1] == 1 else guess
            explained = 1 if picked.logits.shape[-1] == 1 else guess
            title = (f"{model.name}, {data.info.name} {split} volume {index}: label {_class(label, names)}, "
                     f"predicted {_class(guess, names)} with p = {confidence[row]:.3f}"
                     + ("  (a mistake)" if guess != label else ""))
            per_volume = [dataclasses.replace(s, states=s.states[row]) for s in states]
            png = figures.volume_figure(x[index], picked.contributions[row, :, column], picked.logits[row, column],
                                        title, f"class {_class(explained, names)}", per_volume)
            path = output / f"{split}_{index:04d}.png"
            atomic_write_bytes(path, png)
            echo(f"wrote {path}")
            result.explanations.append(Explanation(
                index, label, guess, float(confidence[row]), explained, float(picked.logits[row, column]),
                picked.contributions[row, :, column], path))
    layers = recurrent_layers(model)
    for number, layer in enumerate(layers, start=1):
        wiring = wired_cell(layer).wiring
        try:
            png = figures.wiring_figure(wiring, *synapse_strengths(layer),
                                        title=f"{model.name}: {layer.name} wiring, {type(wiring).__name__}"
                                              f"({wiring.units} neurons, {wiring.output_dim} motor)")
        except ImportError:  # networkx: ncps draws wirings with it
            echo("networkx is not installed: no wiring diagram (pip install networkx)")
            break
        # Not the layer's name: ncps layers may load under another one on another backend.
        path = output / ("wiring.png" if len(layers) == 1 else f"wiring_{number}.png")
        atomic_write_bytes(path, png)
        echo(f"wrote {path}")
        result.wiring_figures.append(path)
    return result
