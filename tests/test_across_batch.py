"""The diagnostic exp5 variants: `AcrossBatch` computes what the paper's code computed, checked against PyTorch.

The paper's baselines are `torch.nn.LSTM(400, 40, n)` / `torch.nn.RNN(...)` in PyTorch's default
sequence-first layout, fed `(batch, slices, features)` tensors. Here the same weights go into Keras
layers wrapped in `AcrossBatch` and both are fed the same tensor the paper's way.
"""
import keras
import numpy as np
import pytest
import torch

from keras_lnn.layers import AcrossBatch
from keras_lnn.models import create_model, experiment_models, get_architecture, group_models, resolve_models


def _keras_stack(kind, torch_layer):
    """Keras layers with the weights of a (possibly multi-layer) torch LSTM/RNN, each wrapped in AcrossBatch."""
    layers = []
    for k in range(torch_layer.num_layers):
        w_ih, w_hh = (getattr(torch_layer, f"{w}_l{k}").detach().numpy() for w in ("weight_ih", "weight_hh"))
        bias = sum(getattr(torch_layer, f"{b}_l{k}").detach().numpy() for b in ("bias_ih", "bias_hh"))
        cls = {"lstm": keras.layers.LSTM, "rnn": keras.layers.SimpleRNN}[kind]
        layer = AcrossBatch(cls(torch_layer.hidden_size, return_sequences=True))
        layer.build((None, 28, w_ih.shape[1]))
        # PyTorch's and Keras's LSTM gates come in one order (input, forget, cell, output); Keras folds
        # PyTorch's two bias vectors into one.
        layer.layer.set_weights([w_ih.T, w_hh.T, bias])
        layers.append(layer)
    return layers


@pytest.mark.parametrize("kind,size,n_layers", [("lstm", 40, 1), ("lstm", 40, 2), ("rnn", 40, 2), ("lstm", 1, 1)])
def test_across_batch_equals_torch_fed_batch_first_into_a_sequence_first_layer(kind, size, n_layers):
    torch.manual_seed(0)
    torch_layer = {"lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}[kind](16, size, n_layers)  # batch_first=False
    x = np.random.default_rng(0).normal(size=(7, 28, 16)).astype("float32")  # (batch, slices, features)
    with torch.no_grad():
        expected = torch_layer(torch.from_numpy(x))[0].numpy()  # what the paper's forward() took: [0]
    y = x
    for layer in _keras_stack(kind, torch_layer):
        y = layer(y)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(y), expected, atol=2e-6)


def test_a_volumes_prediction_depends_on_the_volumes_before_it_only_in_the_diagnostic():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, size=(4, 28, 28, 28, 1)).astype("float32")
    for name, depends in (("LSTMExp5N2AcrossBatch", True), ("LSTMExp5N2", False)):
        keras.utils.set_random_seed(0)
        model = create_model(name)
        alone = keras.ops.convert_to_numpy(model(x[2:3]))
        in_batch = keras.ops.convert_to_numpy(model(x))[2:3]
        first = keras.ops.convert_to_numpy(model(x[2:]))[:1]  # the same volume first in its batch
        np.testing.assert_allclose(first, alone, atol=1e-6)  # no predecessor: no history
        assert (np.abs(in_batch - alone).max() > 1e-4) == depends, name


def test_diagnostics_are_registered_apart_from_the_study_and_keep_their_paper_models_parameters():
    diagnostics = group_models("diagnostic")
    assert diagnostics == experiment_models("exp5-across-batch") == [f"{n}AcrossBatch" for n in experiment_models("exp5")
                                                                     if not n.startswith("Liq")]
    assert not set(diagnostics) & set(resolve_models(["paper"]) + resolve_models(["all"]))
    for name in diagnostics:
        architecture = get_architecture(name)
        assert architecture.diagnostic and not architecture.in_paper and "not a baseline" in architecture.note
        assert create_model(name).count_params() == create_model(architecture.reproduces).count_params()


def test_a_diagnostic_model_saves_and_loads(tmp_path):
    model = create_model("RNNExp5N6AcrossBatch")
    x = np.random.default_rng(2).uniform(0, 255, size=(3, 28, 28, 28, 1)).astype("float32")
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)
