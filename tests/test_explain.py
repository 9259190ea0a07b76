"""keras_lnn.explain: per-slice contributions, neuron states, `lnn-keras explain`, and custom datasets end to end."""
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn.cli import main
from keras_lnn.errors import KerasLnnError
from keras_lnn.explain import (
    NotDecomposableError, choose_volumes, neuron_states, recurrent_layers, slice_contributions, slice_profiles,
)
from keras_lnn.models import create_model
from tests.conftest import write_medmnist_npz

ATOL = 1e-5  # float32 logits against float64 sums of float32 per-slice values


def _volumes(n=3, size=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, size, 1)).astype("uint8")


def _invoke(args):
    result = CliRunner().invoke(main, args)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


# ---------------------------------------------------------------- contributions
@pytest.mark.parametrize("name, n_classes", [
    ("CNNExp1N4", 2),  # Dense(OUT) per slice, then the mean
    ("LiqExp1N2", 3),  # the LTC's motor neurons are the per-slice logits
    ("LSTMExp5N2", 2),  # LSTM, ReLU, Dense(OUT) per slice
    ("LiqExp3N5", 2),  # a Dense(OUT) after the mean: linear, pushed through it
])
def test_contributions_sum_to_the_logit(name, n_classes):
    keras.utils.set_random_seed(1)
    model = create_model(name, n_classes=n_classes)
    volumes = _volumes()
    result = slice_contributions(model, volumes)
    outputs = 1 if n_classes == 2 else n_classes
    assert result.contributions.shape == (3, 28, outputs)
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.logits, atol=ATOL)
    # The logits are the model's: its output is their sigmoid / softmax.
    expected = keras.ops.convert_to_numpy(keras.activations.get("sigmoid" if outputs == 1 else "softmax")(result.logits))
    np.testing.assert_allclose(model.predict(volumes, verbose=0), expected, atol=1e-5)
    assert np.ptp(result.contributions, axis=1).max() > 0  # not a constant spread of the logit


def test_non_linear_layer_after_the_mean_is_refused():
    model = create_model("CNNExp3N6")  # Dense(84), MEAN, ReLU, Dropout, Dense(OUT)
    with pytest.raises(NotDecomposableError, match="non-linear layer.*follows the slice mean"):
        slice_contributions(model, _volumes(1))


# ---------------------------------------------------------------- neuron states
def _step(cell, sequence):
    """`(states (N, slices, units), outputs (N, slices, outputs))` of ncps's single-step `cell` stepped over
    `sequence` from a zero state, as `keras.layers.RNN` steps it: an independent computation of the states."""
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    state = [keras.ops.zeros((sequence.shape[0], size)) for size in sizes]
    states, outputs = [], []
    for t in range(sequence.shape[1]):
        output, state = cell(keras.ops.convert_to_tensor(sequence[:, t]), state)
        state = list(state) if isinstance(state, (list, tuple)) else [state]
        outputs.append(keras.ops.convert_to_numpy(output))
        states.append(keras.ops.convert_to_numpy(state[-1]))  # mixed memory: [memory, ODE state]
    return np.stack(states, axis=1), np.stack(outputs, axis=1)


@pytest.mark.parametrize("name", ["LiqExp1N2", "CfcExp6N1", "LiqExp6N5"])
def test_neuron_states_are_the_cells_stepped_over_the_slices(name):
    from keras_lnn.explain.contributions import _state_order

    keras.utils.set_random_seed(2)
    model = create_model(name)
    volumes = _volumes(2)
    (found,) = neuron_states(model, volumes)  # the layer's own states
    layer = recurrent_layers(model)[0]
    sequence = keras.Model(model.inputs, layer.input).predict(volumes, verbose=0)
    stepped, outputs = _step(layer.cell, sequence)
    np.testing.assert_allclose(found.states[..., _state_order(layer)], stepped, atol=1e-4, rtol=1e-3)
    np.testing.assert_allclose(outputs, keras.Model(model.inputs, layer.output).predict(volumes, verbose=0),
                               atol=1e-4, rtol=1e-3)
    wiring = layer.cell
    wiring = getattr(wiring, "rnn_cell", wiring).wiring
    assert found.states.shape == (2, 28, wiring.units)
    assert found.motor == list(range(wiring.output_dim))
    assert [found.neuron_types[i] for i in found.motor] == ["motor"] * wiring.output_dim
    assert ("mixed memory" in found.kind) == (name == "LiqExp6N5")
    if name.startswith("Cfc"):
        # A wired CfC outputs its motor neurons' states: the columns must be ordered by neuron index.
        per_slice = keras.Model(model.inputs, model.get_layer("slice_mean").input).predict(volumes, verbose=0)
        np.testing.assert_allclose(found.states[..., found.motor], per_slice, atol=1e-5)


def test_cnn_has_no_neuron_states():
    assert neuron_states(create_model("CNNExp1N4"), _volumes(1)) == []


def test_choose_volumes():
    labels = np.array([0, 1, 1, 0, 1])
    probabilities = np.array([[0.9], [0.2], [0.45], [0.1], [0.8]])  # mistakes: 0 (p 0.9), 1 (0.8), 2 (0.55)
    assert choose_volumes(labels, probabilities, worst=2) == [0, 1]
    assert choose_volumes(labels, probabilities, worst=9) == [0, 1, 2]
    assert choose_volumes(labels, None, indices=[4, 3]) == [4, 3]
    assert choose_volumes(labels, None) == [0]
    with pytest.raises(KerasLnnError, match="index 5 is outside the split: it has 5 volumes"):
        choose_volumes(labels, None, indices=[5])
    multi = np.array([[0.1, 0.8, 0.1], [0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    assert choose_volumes([0, 0, 1], multi, worst=5) == [0, 2]


def test_slice_profiles_per_true_class():
    model = create_model("CNNExp1N4", n_classes=3)
    volumes, labels = _volumes(4), np.array([0, 2, 2, 0])
    profiles = slice_profiles(model, volumes, labels, {0: "a", 1: "b", 2: "c"})
    assert list(profiles) == ["0 (a)", "2 (c)"]
    contributions = slice_contributions(model, volumes).contributions
    np.testing.assert_allclose(profiles["2 (c)"], contributions[[1, 2], :, 2].mean(axis=0))


# ---------------------------------------------------------------- custom datasets end to end
@pytest.fixture(scope="module")
def custom_runs(tmp_path_factory):
    """A binary and a 3-class custom file (not MedMNIST names), each trained for one epoch."""
    root = tmp_path_factory.mktemp("custom")
    binary = write_medmnist_npz(root / "data" / "scans_bin.npz", counts=(8, 4, 6), n_classes=2)
    three = write_medmnist_npz(root / "data" / "scans3.npz", counts=(9, 3, 6), n_classes=3,
                               overrides={"classes": np.array(["cyst", "tumour", "normal"])})
    outputs = {}
    for path, models in ((binary, "CNNExp1N4,LiqExp1N2"), (three, "LiqExp1N2")):
        result = _invoke(["run", "exp1", "--dataset", str(path), "--models", models, "--max-epochs", "1",
                          "--batch-size", "4", "--output", str(root / "out"), "--quiet"])
        assert result.exit_code == 0, result.output
        outputs[path.stem] = root / "out" / f"exp1_{path.stem}"
    return root, outputs


@pytest.mark.slow
def test_custom_runs_train_and_export(custom_runs):
    root, runs = custom_runs
    for stem, n_classes in (("scans_bin", 2), ("scans3", 3)):
        metrics = json.loads((runs[stem] / "LiqExp1N2" / "metrics.json").read_text())
        assert metrics["dataset"] == stem and metrics["n_classes"] == n_classes and metrics["status"] == "finished"
        data = metrics["data"]
        assert data["custom"] is True and data["path"] == str((root / "data" / f"{stem}.npz").resolve())
        assert len(data["md5"]) == 32 and data["n_samples"]["test"] == 6
        assert (runs[stem] / "LiqExp1N2" / "1" / "saved_model.pb").exists()
        assert 'name: "LiqExp1N2"' in (runs[stem] / "models.config").read_text()
    assert json.loads((runs["scans3"] / "LiqExp1N2" / "metrics.json").read_text())["data"]["classes"] == [
        "cyst", "tumour", "normal"]


@pytest.mark.slow
def test_explain_writes_figures_for_a_cnn_and_an_ltc(custom_runs):
    _, runs = custom_runs
    result = _invoke(["explain", str(runs["scans_bin"] / "CNNExp1N4"), "--index", "1", "--index", "4"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (runs["scans_bin"] / "CNNExp1N4" / "explain").iterdir())
    assert written == ["test_0001.png", "test_0004.png"]
    out = runs["scans3"].parent / "ltc_figures"
    result = _invoke(["explain", str(runs["scans3"] / "LiqExp1N2"), "--split", "val", "--worst", "2",
                      "--output", str(out)])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert "wiring.png" in names and all(n.startswith("val_") for n in names if n != "wiring.png")
    for path in out.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_explain_errors_are_one_line(custom_runs, tmp_path):
    _, runs = custom_runs
    result = _invoke(["explain", str(runs["scans_bin"] / "CNNExp1N4"), "--index", "99"])
    assert result.exit_code == 1 and "index 99 is outside the split: it has 6 volumes" in result.output
    result = _invoke(["explain", str(runs["scans_bin"] / "CNNExp1N4"), "--index", "0", "--worst", "1"])
    assert result.exit_code == 2 and "not both" in result.output
    result = _invoke(["explain", str(runs["scans_bin"] / "CNNExp1N4"), "--dataset", str(runs["scans3"].parent.parent
                                                                                       / "data" / "scans3.npz")])
    assert result.exit_code == 1 and "has 3 classes; CNNExp1N4 has 1 outputs" in result.output
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    result = _invoke(["explain", str(tmp_path)])
    assert result.exit_code == 1 and f"cannot load {tmp_path / 'model.keras'}" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_explain_on_jax_from_the_keras_file(custom_runs, tmp_path):
    _, runs = custom_runs
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    command = [sys.executable, "-m", "keras_lnn.cli", "explain", str(runs["scans_bin"] / "LiqExp1N2"),
               "--index", "2", "--output", str(tmp_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test_0002.png", "wiring.png"]


@pytest.mark.slow
def test_report_on_custom_datasets(custom_runs):
    root, runs = custom_runs
    result = _invoke(["report", str(root / "out"), "--output", str(root / "report")])
    assert result.exit_code == 0, result.output
    markdown = (root / "report" / "report.md").read_text()
    for stem in ("scans_bin", "scans3"):
        section = markdown.split(f"## Table 2: {stem} (custom, 28^3)")[1].split("\n## ")[0]
        assert "paper ACC" not in section and f"{stem} is a custom dataset" in section
        assert f"--dataset {(root / 'data' / f'{stem}.npz').resolve()}" in markdown
        # The slice profiles of the best model per family, from the runs' model.keras files.
        assert f"figures/slices_{stem}.png" in section
        assert (root / "report" / "figures" / f"slices_{stem}.png").read_bytes()[:4] == b"\x89PNG"
