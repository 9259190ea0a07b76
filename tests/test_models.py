"""The model zoo: parameter counts against Table 1, the registry, the models' inputs and outputs,
the slice encoders, and the `list` and `summary` commands."""
import csv
import math
import re

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn import cli, models, paper
from keras_lnn.models import zoo as zoo_module
from keras_lnn.errors import KerasLnnError
from keras_lnn.models import UnknownModelError
from tests.conftest import DOCUMENTED_DELTAS

# The 30 models of the paper's Table 1, in its order (ARCHITECTURES.md).
PAPER_MODELS = [
    "CNNExp1N1", "LiqExp1N2", "CNNExp1N3", "CNNExp1N4", "LiqExp1N5", "LiqExp1N6",
    "CNNExp2N1", "LiqExp2N2", "CNNExp2N3", "CNNExp2N4", "LiqExp2N5", "LiqExp2N6",
    "CNNExp3N1", "LiqExp3N2", "LiqExp3N3", "LiqExp3N4", "LiqExp3N5", "CNNExp3N6",
    "CNNExp4N1", "LiqExp4N2", "CNNExp4N3", "CNNExp4N4", "LiqExp4N5", "LiqExp4N6",
    "LiqExp5N1", "LSTMExp5N2", "LSTMExp5N3", "LSTMExp5N4", "RNNExp5N5", "RNNExp5N6",
]
PAPER_EXPERIMENTS = ["exp1", "exp2", "exp3", "exp4", "exp5"]

NON_TRAINABLE = {"LiqExp3N3": 800}  # BatchNorm's moving mean and variance over 400 features

# A few of Table 1's counts spelled out, so that a wrong packaged table cannot pass unnoticed.
TABLE1_SPOT_CHECKS = {
    "CNNExp1N1": 59405, "LiqExp1N5": 37930, "CNNExp2N4": 13739, "LiqExp3N2": 127537,
    "LiqExp3N3": 38065, "CNNExp4N3": 83751, "LiqExp5N1": 9953, "LSTMExp5N2": 71797,
}


def _trainable(model):
    return sum(math.prod(w.shape) for w in model.trainable_weights)


def _non_trainable(model):
    return sum(math.prod(w.shape) for w in model.non_trainable_weights)


def _read_table1_csv(folder):
    path = folder / "table1_parameters.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(newline="") as handle:
        return {row["model"]: int(row["parameters"]) for row in csv.DictReader(handle)}


def _assert_counts_match(zoo, table1):
    assert sorted(table1) == sorted(PAPER_MODELS)
    mismatches = {}
    for name in PAPER_MODELS:
        expected = table1[name] + DOCUMENTED_DELTAS.get(name, 0)
        actual = _trainable(zoo[name])
        if actual != expected:
            mismatches[name] = {"keras": actual, "expected": expected, "table1": table1[name]}
    assert mismatches == {}


# ---------------------------------------------------------------- parameter counts
def test_trainable_params_equal_packaged_table1(zoo):
    _assert_counts_match(zoo, paper.table1_parameters())


def test_trainable_params_equal_shared_table1_csv(zoo, shared_paper):
    _assert_counts_match(zoo, _read_table1_csv(shared_paper))


def test_table1_spot_checks():
    table1 = paper.table1_parameters()
    assert {name: table1[name] for name in TABLE1_SPOT_CHECKS} == TABLE1_SPOT_CHECKS


def test_only_the_batchnorm_model_has_non_trainable_params(zoo):
    counts = {name: _non_trainable(zoo[name]) for name in PAPER_MODELS}
    assert counts == {name: NON_TRAINABLE.get(name, 0) for name in PAPER_MODELS}


def test_count_params_agrees_with_keras(zoo):
    for name in ("CNNExp2N4", "LiqExp3N3", "LSTMExp5N3"):
        trainable, non_trainable = models.count_params(zoo[name])
        assert (trainable, non_trainable) == (_trainable(zoo[name]), _non_trainable(zoo[name]))
        assert trainable + non_trainable == zoo[name].count_params()


def test_registered_paper_params_are_table1(zoo):
    table1 = paper.table1_parameters()
    assert {name: models.get_architecture(name).paper_params for name in PAPER_MODELS} == table1


def test_imports_run_one_way():
    # blocks <- zoo <- registry <- build: the zoo is data, and the registry fills itself from it.
    import ast
    import inspect

    from keras_lnn.models import blocks, build, registry

    def imported(module):
        tree = ast.parse(inspect.getsource(module))
        return {n.module.rsplit(".", 1)[-1] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("keras_lnn.models.")}

    assert imported(blocks) == set()
    assert imported(zoo_module) == {"blocks"}
    assert imported(registry) == {"zoo"}
    assert imported(build) == {"blocks", "registry"}
    assert models.list_models(experiment="exp6") == [a.name for a in zoo_module.ARCHITECTURES if a.experiment == "exp6"]
    # One home per name: the registry's tables live in the registry, not beside the blocks.
    assert not hasattr(blocks, "_REGISTRY") and not hasattr(blocks, "_EXPERIMENTS")


def test_the_groups_have_one_meaning_each():
    # `paper`: the 30 models with a Table 1 count; `all`: every registered model but the diagnostics.
    assert models.group_models("paper") == PAPER_MODELS == models.resolve_models(["paper"])
    diagnostics = models.group_models("diagnostic")
    assert models.group_models("all") == [n for n in models.list_models() if n not in diagnostics]
    assert models.group_models("all") == models.resolve_models(["all"])
    assert len(models.group_models("all")) == 36 and len(diagnostics) == 5
    assert models.group_experiments("paper") == PAPER_EXPERIMENTS
    assert models.group_experiments("all") == [e for e in models.list_experiments() if e != "exp5-across-batch"]
    assert models.group_experiments("diagnostic") == ["exp5-across-batch"]
    with pytest.raises(UnknownModelError, match="paper, all, diagnostic"):
        models.group_models("everything")
    assert "paper" in _invoke("list", "--help").output and "all" in _invoke("list", "--help").output
    assert _listed_models(_invoke("list", "paper").output) == PAPER_MODELS


def test_pytorch_extra_params_are_the_documented_deltas():
    extras = {name: -models.get_architecture(name).pytorch_extra_params() for name in PAPER_MODELS}
    assert extras == {name: DOCUMENTED_DELTAS.get(name, 0) for name in PAPER_MODELS}


# ---------------------------------------------------------------- registry
def test_list_models_starts_with_the_paper_models_in_order():
    names = models.list_models()
    assert names[:30] == PAPER_MODELS
    assert len(names) == len(set(names))
    assert [n for n in names if models.get_architecture(n).paper_params is not None] == PAPER_MODELS
    # Models beyond the paper live in experiments after exp5 and carry no Table 1 count.
    assert all(models.get_architecture(n).experiment not in PAPER_EXPERIMENTS for n in names[30:])


def test_the_paper_experiments_hold_the_30_models():
    names = [n for exp in PAPER_EXPERIMENTS for n in models.experiment_models(exp)]
    assert names == PAPER_MODELS


def test_list_models_patterns_are_case_insensitive_wildcards():
    liquid = models.list_models("Liq*")
    assert liquid[: len([n for n in PAPER_MODELS if n.startswith("Liq")])] == [
        n for n in PAPER_MODELS if n.startswith("Liq")
    ]
    assert all(n.startswith("Liq") for n in liquid)
    assert models.list_models("liq*") == liquid
    assert models.list_models("LIQEXP1*") == ["LiqExp1N2", "LiqExp1N5", "LiqExp1N6"]
    exp5 = ["LiqExp5N1", "LSTMExp5N2", "LSTMExp5N3", "LSTMExp5N4", "RNNExp5N5", "RNNExp5N6"]
    assert models.list_models("*exp5*") == exp5 + models.group_models("diagnostic")  # a listing shows them all
    assert models.resolve_models(["*exp5*"]) == exp5  # a wildcard trains no diagnostic
    assert models.list_models("CNNExp?N1") == ["CNNExp1N1", "CNNExp2N1", "CNNExp3N1", "CNNExp4N1"]
    assert models.list_models("NoSuch*") == []
    assert models.list_models("Liq*", experiment="exp3") == ["LiqExp3N2", "LiqExp3N3", "LiqExp3N4", "LiqExp3N5"]


def test_list_experiments():
    experiments = models.list_experiments()
    assert experiments[:5] == PAPER_EXPERIMENTS
    assert len(experiments) == len(set(experiments))


def test_experiment_models_in_the_papers_order():
    assert models.experiment_models("exp3") == [
        "CNNExp3N1", "LiqExp3N2", "LiqExp3N3", "LiqExp3N4", "LiqExp3N5", "CNNExp3N6",
    ]
    for experiment in PAPER_EXPERIMENTS:
        assert len(models.experiment_models(experiment)) == 6


def test_experiment_models_returns_a_copy():
    models.experiment_models("exp1").append("Mutated")
    assert "Mutated" not in models.experiment_models("exp1")


def test_unknown_model_raises_a_helpful_key_error():
    with pytest.raises(UnknownModelError) as info:
        models.get_architecture("NoSuchModel")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, KerasLnnError)
    message = str(info.value)
    assert "NoSuchModel" in message and "lnn-keras list" in message
    with pytest.raises(KeyError, match="NoSuchModel"):
        models.create_model("NoSuchModel")


def test_unknown_experiment_raises_with_the_known_ones():
    with pytest.raises(UnknownModelError) as info:
        models.experiment_models("exp99")
    assert isinstance(info.value, KeyError)
    message = str(info.value)
    assert "exp99" in message
    assert all(exp in message for exp in PAPER_EXPERIMENTS)


def test_model_names_are_case_insensitive():
    assert models.get_architecture("liqexp1n2").name == "LiqExp1N2"
    assert models.resolve_models(["cnnexp2n4"]) == ["CNNExp2N4"]


def test_resolve_models_expands_experiments_and_wildcards_without_repeats():
    exp5 = models.experiment_models("exp5")
    resolved = models.resolve_models(["exp5", "LiqExp5N1", "LSTM*", "CNNExp1N1", "exp5"])
    assert resolved == [*exp5, "CNNExp1N1"]
    assert models.resolve_models(["RNN*", "exp5"]) == ["RNNExp5N5", "RNNExp5N6", "LiqExp5N1", "LSTMExp5N2",
                                                      "LSTMExp5N3", "LSTMExp5N4"]
    assert models.resolve_models(["all"]) == models.group_models("all")


def test_resolve_models_rejects_unknown_names_and_empty_wildcards():
    with pytest.raises(UnknownModelError, match="NoSuchModel"):
        models.resolve_models(["exp1", "NoSuchModel"])
    with pytest.raises(UnknownModelError, match="Nothing"):
        models.resolve_models(["Nothing*"])


# ---------------------------------------------------------------- inputs and outputs
def test_every_model_takes_raw_volumes_named_volume(zoo):
    for name, model in zoo.items():
        assert len(model.inputs) == 1, name
        assert model.inputs[0].name == "volume", name
        assert tuple(model.input_shape) == (None, 28, 28, 28, 1), name
        rescale = model.layers[1]
        assert isinstance(rescale, keras.layers.Rescaling), name
        assert rescale.scale == pytest.approx(1 / 255) and rescale.offset == 0, name


def test_every_binary_model_ends_in_a_sigmoid_probability(zoo):
    for name, model in zoo.items():
        output = model.layers[-1]
        assert output.name == "probability", name
        assert output is model.get_layer("probability"), name
        assert keras.activations.serialize(output.activation) == "sigmoid", name
        assert tuple(model.output_shape) == (None, 1), name
        assert model.name == name


def test_binary_predictions_are_probabilities(zoo):
    x = np.random.default_rng(0).integers(0, 256, size=(2, 28, 28, 28, 1)).astype("float32")
    for name in ("CNNExp2N4", "LiqExp1N2", "LiqExp3N3", "RNNExp5N5"):
        y = keras.ops.convert_to_numpy(zoo[name](x, training=False))
        assert y.shape == (2, 1), name
        assert np.all((y > 0) & (y < 1)), name


def test_models_rescale_raw_volumes_to_unit_range(zoo):
    model = zoo["CNNExp2N4"]
    rescale = keras.Model(model.inputs[0], model.layers[1].output)
    x = np.full((1, 28, 28, 28, 1), 255.0, dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(rescale(x)), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["CNNExp2N4", "LiqExp1N2", "LSTMExp5N3"])
def test_multiclass_models_end_in_a_softmax(name):
    model = models.create_model(name, n_classes=3)
    output = model.get_layer("probability")
    assert output is model.layers[-1]
    assert keras.activations.serialize(output.activation) == "softmax"
    assert tuple(model.output_shape) == (None, 3)
    x = np.random.default_rng(1).integers(0, 256, size=(2, 28, 28, 28, 1)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, 3)
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("n_classes", [3, 11])
def test_too_few_neurons_for_the_classes_is_a_clear_error(n_classes):
    # LiqExp5N1's AutoNCP(5) has room for at most 2 motor neurons.
    with pytest.raises(KerasLnnError, match="LiqExp5N1") as info:
        models.create_model("LiqExp5N1", n_classes=n_classes)
    assert str(n_classes) in str(info.value)


def test_a_larger_input_grows_only_the_dense_layers():
    model = models.create_model("CNNExp2N4", input_size=64)
    assert tuple(model.input_shape) == (None, 64, 64, 64, 1)
    assert tuple(model.output_shape) == (None, 1)
    # E2 gives 16*14*14 = 3136 features per slice at 64; the first Dense has 3136*30 + 30 weights.
    assert _trainable(model) == 1036 + (3136 * 30 + 30) + (30 * 21 + 21) + (21 + 1)


# ---------------------------------------------------------------- encoders
@pytest.mark.parametrize(
    "encoder, size, features, params",
    [("E2", 28, 400, 1036), ("E2", 64, 16 * 14 * 14, 1036), ("E4a", 28, 144, 4262), ("E4b", 28, 576, 4262)],
)
def test_slice_encoder_features_and_params(encoder, size, features, params):
    layer = models.slice_encoder(encoder)
    assert layer.compute_output_shape((None, size, size, size, 1)) == (None, size, features)
    x = np.random.default_rng(0).uniform(size=(1, 3, size, size, 1)).astype("float32")
    y = layer(x)
    assert tuple(y.shape) == (1, 3, features)
    assert layer.count_params() == params


# ---------------------------------------------------------------- the list and summary commands
def _invoke(*args):
    return CliRunner().invoke(cli.main, list(args))


def _listed_models(output):
    names = set(models.list_models())
    return [line.split()[0] for line in output.splitlines() if line.split() and line.split()[0] in names]


def test_list_command_shows_every_model():
    result = _invoke("list")
    assert result.exit_code == 0, result.output
    listed = _listed_models(result.output)
    assert listed == models.list_models()
    assert listed[:30] == PAPER_MODELS
    assert f"{len(listed)} models" in result.output
    assert all(exp in result.output for exp in PAPER_EXPERIMENTS)


def test_list_command_for_an_experiment():
    result = _invoke("list", "exp3")
    assert result.exit_code == 0, result.output
    assert _listed_models(result.output) == models.experiment_models("exp3")


def test_list_command_with_a_wildcard():
    result = _invoke("list", "Liq*")
    assert result.exit_code == 0, result.output
    listed = _listed_models(result.output)
    assert listed == models.list_models("Liq*")
    assert "LiqExp1N2" in listed and not any(name.startswith(("CNN", "LSTM", "RNN")) for name in listed)


def test_list_command_json():
    import json

    result = _invoke("list", "exp5", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["model"] for row in rows] == models.experiment_models("exp5")
    assert rows[1]["paper_params"] == 71797 and rows[1]["encoder"] == "E2"


def test_list_command_without_a_match_is_a_usage_error():
    result = _invoke("list", "Nothing*")
    assert result.exit_code == 2
    assert "Nothing*" in result.output


def test_summary_command_prints_the_total():
    result = _invoke("summary", "CNNExp2N4")
    assert result.exit_code == 0, result.output
    assert re.search(r"Total params: 13,739\b", result.output), result.output
    assert "probability" in result.output


def test_summary_command_rejects_an_unknown_model():
    result = _invoke("summary", "NoSuchModel")
    assert result.exit_code == 2
    assert "NoSuchModel" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_building_models_off_tensorflow_never_imports_tensorflow(backend_report, backend):
    # tests/backend_checks.py looks right after it built every registered model (LiqExp1N2 and
    # CfcExp6N1 among them) in the backend's fresh interpreter.
    report = backend_report(backend)
    assert report["backend"] == backend and {"LiqExp1N2", "CfcExp6N1"} <= set(report["predictions"])
    assert report["tensorflow_after_building"] == {"imported": False}


def test_the_architectures_prose_is_in_the_repository():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    prose = (root / "docs" / "architectures.md").read_text()
    table1 = paper.table1_parameters()
    for name in PAPER_MODELS:  # each paper model's row, with Table 1's count
        row = next(line for line in prose.splitlines() if line.startswith(f"| {name} |"))
        assert f"{table1[name]:,}" in row, row
    assert all(f"| {name} |" in prose for name in models.group_models("all"))
    # No pointer to the paper's prose outside the repository (the benchmark may still name its reference code).
    pointing = [str(p) for p in [root / "README.md", *(root / "docs").glob("*.md"), *(root / "keras_lnn").rglob("*.py")]
                if "ARCHITECTURES.md" in p.read_text()]
    assert pointing == []


def test_one_name_per_meaning_one_home_per_name(tmp_path):
    import importlib

    import keras_lnn
    from keras_lnn import explain, paper, training
    from keras_lnn.errors import KerasLnnError

    # No second path to a name: no top-level module for what has a room, no package-level alias.
    for old in ("keras_lnn.specs", "keras_lnn.registry", "keras_lnn.info", "keras_lnn.architectures",
                "keras_lnn.training_options", "keras_lnn.export", "keras_lnn.predict", "keras_lnn.stats"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(old)
    for module, name in [(keras_lnn, "create_model"), (keras_lnn, "load_dataset"), (training, "predict"),
                         (training, "Protocol"), (explain, "load_model"), (paper, "DATASETS")]:
        assert not hasattr(module, name), (module.__name__, name)
    # The one loader names what it could not load.
    with pytest.raises(KerasLnnError, match="model.keras"):
        keras_lnn.load_model(tmp_path)
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(KerasLnnError, match="cannot load .*model.keras"):
        keras_lnn.load_model(tmp_path)


def test_a_models_family_follows_from_its_layers():
    families = {name: models.get_architecture(name).family for name in models.list_models()}
    assert {families[n] for n in ("LiqExp1N2", "CfcExp6N1", "CNNExp1N1", "LSTMExp5N2", "RNNExp5N5")} == {
        "LTC", "CNN", "LSTM/RNN"}
    assert (families["LiqExp1N2"], families["CfcExp6N1"], families["CNNExp1N1"], families["RNNExp5N5"]) == (
        "LTC", "LTC", "CNN", "LSTM/RNN")
    assert [n for n in models.group_models("diagnostic") if families[n] is not None] == []
    assert set(families.values()) == {"LTC", "CNN", "LSTM/RNN", None}
