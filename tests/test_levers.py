"""Levers beyond the paper's protocol: augmentation, class weights, TTA, TensorBoard, progress.

Each is off by default, and then everything is as the paper's protocol always was: the batches,
the settings and the run folder names.
"""
import importlib.util
import itertools
import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn import evaluation, models, runs, training
from keras_lnn.cli import main
from keras_lnn.settings import OptionsError, Protocol, TrainingOptions
from keras_lnn.training import EpochBatches, PaperEarlyStopping
from keras_lnn.deploy.tta import tta_probabilities
from keras_lnn.training.augment import augment_batch
from keras_lnn.training.progress import stopping_line

ALL = ("flip", "rot90", "intensity")


def _volumes(n=6, size=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, size, 1)).astype("uint8")


# --- TrainingOptions ---------------------------------------------------------------------------


def test_options_keep_the_tables_order_and_name_the_run_folder():
    options = TrainingOptions(augment=("rot90", "flip", "rot90"), class_weight="balanced")
    assert options.augment == ("flip", "rot90")
    assert options.run_suffix == "_aug-flip-rot90_cw-balanced"
    assert TrainingOptions(class_weight=[1, 3.5]).run_suffix == "_cw-1-3.5"
    assert TrainingOptions(tta=True).run_suffix == ""  # the same weights as the paper's: the same folder
    assert TrainingOptions().is_paper and not TrainingOptions(tta=True).is_paper
    assert TrainingOptions().as_dict() == {"augment": [], "class_weight": None, "tta": False}
    for other in (options, TrainingOptions(class_weight=(1, 2), tta=True), TrainingOptions()):
        assert TrainingOptions.from_dict(json.loads(json.dumps(other.as_dict()))) == other
    [plan] = runs.plan_runs("exp2", "vessel", seeds=(0, 1), options=options)[:1]
    assert plan.run_dir.name == "exp2_vessel_aug-flip-rot90_cw-balanced_seed0"
    assert runs.plan_runs("exp2", "vessel", size=64, options=TrainingOptions())[0].run_dir.name == "exp2_vessel_64"


@pytest.mark.parametrize("kwargs, message", [
    ({"augment": ("flip", "blur")}, "unknown augmentation 'blur'"),
    ({"class_weight": (1, -2)}, "finite weights >= 0"),
    ({"class_weight": (0, 0)}, "at least one"),
    ({"class_weight": "inverse"}, "expected 'balanced'"),
])
def test_bad_options_are_refused(kwargs, message):
    with pytest.raises(OptionsError, match=message):
        TrainingOptions(**kwargs)
    with pytest.raises(OptionsError, match="3 weights, but vessel has 2 classes"):
        TrainingOptions(class_weight=(1, 2, 3)).check(2, "vessel")


def test_balanced_weights_are_sklearns():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0] * 7 + [1] * 2 + [2] * 3)
    weights = TrainingOptions(class_weight="balanced").class_weights(labels, 3)
    np.testing.assert_allclose(weights, compute_class_weight("balanced", classes=np.arange(3), y=labels), rtol=1e-6)
    np.testing.assert_allclose(weights, [12 / 21, 12 / 6, 12 / 9], rtol=1e-6)  # n / (k * n_c)
    with pytest.raises(OptionsError, match=r"class\(es\) \[2\] have no training volume"):
        TrainingOptions(class_weight="balanced").class_weights([0, 1, 1], 3)


# --- training augmentation ---------------------------------------------------------------------


def _flips(volume):
    return [np.flip(volume, [a for a, f in zip((0, 1, 2), flips) if f]) if any(flips) else volume
            for flips in itertools.product((False, True), repeat=3)]


def test_each_augmented_volume_is_a_flip_or_turn_of_its_own():
    x = _volumes()
    flipped = augment_batch(x, ("flip",), seed=1, epoch=2, batch=3)
    turned = augment_batch(x, ("rot90",), seed=1, epoch=2, batch=3)
    assert flipped.dtype == turned.dtype == np.uint8
    flip_index, turn_index = [], []
    for volume, f, t in zip(x, flipped, turned):
        flip_index.append([np.array_equal(f, view) for view in _flips(volume)].index(True))
        turn_index.append([np.array_equal(t, np.rot90(volume, k, axes=(1, 2))) for k in range(4)].index(True))
    assert len(set(flip_index)) > 1 and len(set(turn_index)) > 1  # drawn per volume, not once per batch


def test_intensity_scales_each_volume_within_ten_percent_and_clips():
    x = np.full((200, 2, 2, 2, 1), 240, "uint8")
    x[:, 0] = 10
    scaled = augment_batch(x, ("intensity",), 0, 0, 0)
    assert scaled.dtype == np.float32 and scaled.max() <= 255.0
    factors = scaled[:, 0, 0, 0, 0] / 10
    assert 0.9 <= factors.min() < 0.92 and 1.08 < factors.max() <= 1.1
    np.testing.assert_allclose(scaled[:, 1, 0, 0, 0], np.minimum(240 * factors, 255), rtol=1e-5)


def test_draws_depend_on_seed_epoch_and_batch_alone_and_on_no_other_augmentation():
    x = _volumes()
    first = augment_batch(x, ALL, 4, 7, 2)
    np.testing.assert_array_equal(first, augment_batch(x, ALL, 4, 7, 2))
    for other in [(5, 7, 2), (4, 8, 2), (4, 7, 3)]:
        assert not np.array_equal(first, augment_batch(x, ALL, *other))
    # Each augmentation has its own stream: intensity on or off leaves the flips and turns as they were.
    geometric = augment_batch(x, ("flip", "rot90"), 4, 7, 2)
    np.testing.assert_array_equal(first, augment_batch(geometric, ("intensity",), 4, 7, 2))
    np.testing.assert_array_equal(geometric, augment_batch(augment_batch(x, ("flip",), 4, 7, 2), ("rot90",), 4, 7, 2))


def test_paper_batches_are_the_plain_shuffle_and_augmented_ones_resume_exactly():
    x, y = _volumes(10), (np.arange(10) % 2).reshape(-1, 1)
    for pad in (False, True):
        batches = EpochBatches(x, y, batch_size=4, seed=3, epochs=2, pad=pad)
        order = np.random.default_rng((3, 1)).permutation(10)[8:]  # epoch 1's last, partial batch
        last = batches[5]
        assert len(last) == (3 if pad else 2) and last[0].dtype == np.uint8
        np.testing.assert_array_equal(last[0][:2], x[order])
    whole = EpochBatches(x, y, 4, seed=3, epochs=4, pad=True, augment=ALL, class_weights=[1.0, 2.0])
    resumed = EpochBatches(x, y, 4, seed=3, epochs=4, first_epoch=2, pad=True, augment=ALL, class_weights=[1.0, 2.0])
    for index in range(len(resumed)):
        for a, b in zip(whole[index + 2 * whole.batches_per_epoch], resumed[index]):
            np.testing.assert_array_equal(a, b)


# --- class weights -----------------------------------------------------------------------------


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1, "sigmoid")])
    return training.compile_model(model, Protocol())


def test_class_weights_times_padding_give_the_hand_weighted_loss_and_gradients():
    import tensorflow as tf

    model = _tiny_model()
    x, y = _volumes(5, 4, seed=2).astype("float32") / 255, np.array([[0], [1], [1], [0], [0]])  # unsaturated
    weights = np.array([0.5, 3.0], "float32")
    xb, yb, wb = EpochBatches(x, y, batch_size=8, seed=1, pad=True, class_weights=weights)[0]
    order = np.random.default_rng((1, 0)).permutation(5)
    np.testing.assert_array_equal(wb, [*weights[y[order, 0]], 0, 0, 0])  # class weight x padding's 0/1

    def hand_loss(xs, ys, ws):  # sum(w * bce) / sum(w), with Keras's clipping
        p = tf.clip_by_value(model(xs)[:, 0], keras.config.epsilon(), 1 - keras.config.epsilon())
        bce = -(ys * tf.math.log(p) + (1 - ys) * tf.math.log(1 - p))
        return tf.reduce_sum(ws * bce) / tf.reduce_sum(ws)

    def keras_loss(xs, ys, ws):
        return model.compute_loss(x=xs, y=ys, y_pred=model(xs), sample_weight=ws)

    real = (x[order], y[order, 0].astype("float32"), weights[y[order, 0]])
    results = []
    for function, args in [(keras_loss, (xb, yb, wb)), (hand_loss, (xb, yb[:, 0].astype("float32"), wb)),
                           (hand_loss, real)]:
        with tf.GradientTape() as tape:
            loss = function(*(tf.constant(a) for a in args))
        results.append((float(loss), [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]))
    (keras_value, keras_grads), *hand = results
    for value, grads in hand:  # the padded batch as Keras weighs it = by hand = its real samples alone
        assert keras_value == pytest.approx(value, rel=1e-6)
        for a, b in zip(keras_grads, grads):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


# --- test-time augmentation --------------------------------------------------------------------


def test_tta_averages_the_eight_flips():
    x = _volumes(5, 3).astype("float32")
    corner = lambda v: v[:, 0, 0, 0, :]  # not flip-invariant: each flip shows another corner
    expected = x[:, [0, -1]][:, :, [0, -1]][:, :, :, [0, -1]].reshape(5, -1).mean(axis=1, keepdims=True)
    for batch_size in (1, 2, 64):
        np.testing.assert_allclose(tta_probabilities(corner, x, batch_size), expected, rtol=1e-12)
    calls = []
    tta_probabilities(lambda v: calls.append(len(v)) or np.zeros((len(v), 1)), x, 2)
    assert calls == [2] * 8 + [2] * 8 + [1] * 8


# --- progress ----------------------------------------------------------------------------------


def test_the_stopping_line_says_best_loss_its_epoch_and_patience():
    stopping = PaperEarlyStopping(patience=3, min_delta=0.01, previous=[0.9, 0.5, 0.505, 0.7])
    assert stopping_line(stopping) == "    best val_loss 0.5000 at epoch 2, patience 1/3"
    assert "no finite val_loss yet" in stopping_line(PaperEarlyStopping())


# --- the command line --------------------------------------------------------------------------


@pytest.fixture
def tiny_data(make_medmnist, tmp_path):
    make_medmnist("adrenal", counts=(20, 6, 6))
    return tmp_path / "data"


def _args(data_dir, output, *extra, epochs=2):
    return ["run", "exp1", "--dataset", "adrenal", "--models", "CNNExp1N4", "--data-dir", str(data_dir),
            "--no-verify", "--max-epochs", str(epochs), "--batch-size", "8", "--seed", "1", "--output", str(output),
            *extra]


@pytest.mark.parametrize("extra, message", [
    (["--augment", "flip,blur"], "unknown augmentation 'blur'"),
    (["--class-weight", "1,2,3"], "3 weights, but adrenal has 2 classes"),
    (["--class-weight", "1,-1"], "finite weights >= 0"),
    (["--class-weight", "1,x"], "expected 'balanced' or comma-separated numbers"),
    (["--tensorboard", "/proc/no-such-folder"], "TensorBoard"),
])
def test_bad_options_are_one_line_errors_before_training(tiny_data, tmp_path, extra, message):
    result = CliRunner().invoke(main, _args(tiny_data, tmp_path / "out", *extra))
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    assert [line for line in result.output.splitlines() if line.startswith("Error")] == \
        [result.output.strip().splitlines()[-1]]


def test_an_options_run_is_named_recorded_and_refused_under_other_options(tiny_data, tmp_path):
    out = tmp_path / "out"
    extra = ["--augment", "flip,rot90", "--class-weight", "balanced", "--tta"]
    result = CliRunner().invoke(main, _args(tiny_data, out, *extra))
    assert result.exit_code == 0, result.output
    # Keras's epoch lines each followed by the stopping rule's state; the model's line has the elapsed time.
    lines = result.output.splitlines()
    assert lines[0].startswith("[1/1] CNNExp1N4 (seed 1, ") and lines[0].endswith(" elapsed ...")
    assert sum(line.startswith("    best val_loss ") and line.endswith("/10") for line in lines) == 2
    model_dir = out / "exp1_adrenal_aug-flip-rot90_cw-balanced" / "CNNExp1N4"
    record = {"augment": ["flip", "rot90"], "class_weight": "balanced", "tta": True}
    settings = json.loads((model_dir / "settings.json").read_text())
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert settings["training_options"] == metrics["training_options"] == record
    # predictions.csv: the plain probabilities beside the TTA ones; the model: no augmentation in it.
    import csv

    with open(model_dir / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["split", "index", "label", "probability", "probability_tta"]
    model = keras_lnn_load(model_dir / "model.keras")
    plain = models.create_model("CNNExp1N4")
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in plain.layers]
    x = np.load(tiny_data / "adrenalmnist3d.npz")["test_images"][..., None].astype("float32")
    test_rows = [row for row in rows if row["split"] == "test"]
    written = [float(r["probability"]) for r in test_rows]
    np.testing.assert_allclose(model.predict(x, verbose=0)[:, 0], written, atol=1e-6)
    import tensorflow as tf

    served = tf.saved_model.load(str(model_dir / "1")).signatures["serving_default"]
    np.testing.assert_allclose(served(volume=tf.constant(x))["probability"].numpy()[:, 0], written, atol=1e-6)
    expected_tta = tta_probabilities(lambda v: model.predict(v, verbose=0), x, 64)[:, 0]
    np.testing.assert_allclose(expected_tta, [float(r["probability_tta"]) for r in test_rows], atol=1e-6)
    assert metrics["tta"]["views"] == 8
    exact = evaluation.basic_metrics([int(r["label"]) for r in test_rows],
                                     np.array([[float(r["probability_tta"])] for r in test_rows]))
    assert {k: metrics["tta"]["test"][k] for k in exact} == pytest.approx(exact)
    # The same folder under other options: refused; --overwrite replaces it.
    again = CliRunner().invoke(main, _args(tiny_data, out, "--augment", "flip,rot90", "--class-weight", "balanced",
                                           "--quiet"))
    assert again.exit_code == 1 and "'tta': True" in again.output and "--overwrite" in again.output, again.output


def keras_lnn_load(path):
    import keras_lnn

    return keras_lnn.load_model(path, compile=False)


def test_a_paper_run_keeps_its_name_and_settings_and_quiet_stays_quiet(tiny_data, tmp_path):
    result = CliRunner().invoke(main, _args(tiny_data, tmp_path / "out", "--quiet", epochs=1))
    assert result.exit_code == 0, result.output
    assert "best val_loss" not in result.output and "Epoch 1/" not in result.output
    model_dir = tmp_path / "out" / "exp1_adrenal" / "CNNExp1N4"
    settings = json.loads((model_dir / "settings.json").read_text())
    assert set(settings) == {"model", "experiment", "dataset", "size", "n_classes", "seed", "backend", "data_md5",
                             "protocol"}
    assert json.loads((model_dir / "metrics.json").read_text())["training_options"] == TrainingOptions().as_dict()


def test_tensorboard_without_its_package_is_a_one_line_error(tiny_data, tmp_path, monkeypatch):
    # An image without it (a JAX-only one): the install brings it, so its absence is simulated.
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "tensorboard" else find_spec(name, *args))
    result = CliRunner().invoke(main, _args(tiny_data, tmp_path / "out", "--tensorboard", str(tmp_path / "tb")))
    assert result.exit_code == 2 and "need tensorboard" in result.output and "Traceback" not in result.output


def test_tensorboard_logs_per_run_folder_and_model_and_changes_no_identity(tiny_data, tmp_path):
    out, logs = tmp_path / "out", tmp_path / "tb"
    assert CliRunner().invoke(main, _args(tiny_data, out, "--quiet", "--tensorboard", str(logs))).exit_code == 0
    assert list((logs / "exp1_adrenal" / "CNNExp1N4" / "train").glob("events.out.tfevents.*"))
    metrics = json.loads((out / "exp1_adrenal" / "CNNExp1N4" / "metrics.json").read_text())
    assert metrics["sessions"][0]["tensorboard"] == str(logs / "exp1_adrenal" / "CNNExp1N4")
    rerun = CliRunner().invoke(main, _args(tiny_data, out, "--quiet"))  # without it: no clash
    assert rerun.exit_code == 0 and "already finished" in rerun.output, rerun.output


# --- exact resume of an augmented, class-weighted run (the pattern of tests/test_faults.py) -----

# Before test_faults' driver: SIGKILL right after the KILL_AFTER_BACKUPS-th epoch backup is complete.
KILL_AFTER_BACKUPS = """
import os, signal
from keras_lnn.training import resume as _resume
_after, _seen, _write = int(os.environ.get("KILL_AFTER_BACKUPS", "0")), [], _resume.atomic_write_json
def _counting(path, *args, **kwargs):
    result = _write(path, *args, **kwargs)
    if os.path.basename(path) == "training_metadata.json":
        _seen.append(path)
        if len(_seen) == _after:
            os.kill(os.getpid(), signal.SIGKILL)
    return result
_resume.atomic_write_json = _counting  # what the epoch backup writes its metadata with
"""
LEVERS = ["--models", "CNNExp1N4", "--augment", "flip,rot90,intensity", "--class-weight", "balanced", "--tta"]
LEVERS_RUN = "exp1_adrenal_aug-flip-rot90-intensity_cw-balanced"


def _levers_command(data_dir, out, mode="none", argument="-"):
    """tests/test_faults.py's driver and arguments, with the levers."""
    from tests.test_faults import _driver_args

    return _driver_args(data_dir, out, mode, argument) + LEVERS  # the later --models wins


def _levers_finish(args, kill_after=0):
    """The driver's exit status and output, in a process forked as tests/test_faults.py's are."""
    from tests import preloaded
    from tests.test_faults import DRIVER, ENV

    return preloaded.run(KILL_AFTER_BACKUPS + DRIVER, args, {**ENV, "KILL_AFTER_BACKUPS": str(kill_after)},
                         timeout=600)


@pytest.fixture(scope="module")
def levers_runs(tmp_path_factory):
    """An uninterrupted augmented, class-weighted, TTA run, and the same killed three times and resumed."""
    from tests.conftest import write_medmnist_npz

    root = tmp_path_factory.mktemp("levers")
    data_dir = root / "data"
    write_medmnist_npz(data_dir / "adrenalmnist3d.npz", counts=(24, 8, 8), seed=1)  # 24 = 16 + 8: a padded batch
    code, output = _levers_finish(_levers_command(data_dir, root / "reference"))
    assert code == 0, output[-3000:]
    out = root / "resumed"
    # After epoch 0's backup; at epoch 1's backup (half written: it resumes at 1 again); after epoch 1's.
    for mode, argument, kill_after in [("none", "-", 1), ("hook", "backup", 0), ("none", "-", 1)]:
        code, output = _levers_finish(_levers_command(data_dir, out, mode, argument), kill_after)
        assert code == -9, output[-3000:]
    code, output = _levers_finish(_levers_command(data_dir, out))
    assert code == 0, output[-3000:]
    return root / "reference" / LEVERS_RUN / "CNNExp1N4", out / LEVERS_RUN / "CNNExp1N4", data_dir


def test_an_augmented_class_weighted_run_resumed_after_kills_ends_as_an_uninterrupted_one(levers_runs):
    from tests.test_faults import EPOCHS, _history_columns, _predictions

    reference, resumed, _ = levers_runs
    metrics, expected = (json.loads((d / "metrics.json").read_text()) for d in (resumed, reference))
    assert [s["first_epoch"] for s in metrics["sessions"]] == [0, 1, 2]  # it did resume mid-training
    assert metrics["epochs"] == EPOCHS
    keys = ("val", "test", "tta", "best_val_epoch", "best_val_logged", "training_options")
    assert {k: metrics[k] for k in keys} == {k: expected[k] for k in keys}
    assert _history_columns(resumed) == _history_columns(reference)
    assert _predictions(resumed) == _predictions(reference)
    assert "probability_tta" in _predictions(resumed)[0]


@pytest.mark.parametrize("fmt", ["keras", "saved_model", "onnx", "litert"])
def test_every_format_of_an_augmented_run_is_the_plain_model_and_predicts_with_tta(levers_runs, fmt):
    from keras_lnn.deploy.predict import predict
    from tests.conftest import run_cli_here
    from tests.test_faults import _predictions

    _, model_dir, data_dir = levers_runs
    if fmt in ("onnx", "litert") and not (model_dir / f"model.{'onnx' if fmt == 'onnx' else 'tflite'}").exists():
        run_cli_here("export", str(model_dir.parent), "--format", "onnx", "--format", "litert")
    result = predict(model_dir, data_dir / "adrenalmnist3d.npz", split="test", fmt=fmt, tta=True)
    assert result.columns == ["index", "probability", "predicted", "probability_tta", "predicted_tta", "label"]
    written = [row for row in _predictions(model_dir) if row["split"] == "test"]
    for column in ("probability", "probability_tta"):
        np.testing.assert_allclose([row[column] for row in result.rows], [float(r[column]) for r in written],
                                   atol=1e-5)
    recorded = json.loads((model_dir / "metrics.json").read_text())["tta"]["test"]
    assert result.metrics_tta == pytest.approx({k: recorded[k] for k in result.metrics_tta}, abs=1e-5)


# On JAX and PyTorch, every lever at once: tests/test_runs.py::test_other_backends_train_with_the_levers_then_export_through_tensorflow.
