"""The paper's early-stopping rule, the metrics, and resumable history handling."""
import math
import os

import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from keras_lnn import training
from keras_lnn.models import create_model
from keras_lnn.settings import Protocol
from keras_lnn.evaluation import basic_metrics
from keras_lnn.training import PaperEarlyStopping, backend, resume


class _Model:
    stop_training = False


def _stop_epoch(callback, losses):
    """Feeds losses to a callback as Keras would; returns the epoch index at which it stops (None if never)."""
    callback.set_model(_Model())
    callback.on_train_begin()
    for epoch, loss in enumerate(losses):
        callback.on_epoch_end(epoch, {"val_loss": loss})
        if callback.model.stop_training:
            return epoch
    return None


def _keras_rule(patience=3, min_delta=0.001):
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta)


def test_small_improvements_reset_the_paper_counter_but_not_keras():
    # Each epoch improves by less than min_delta: the paper resets, Keras counts.
    losses = [1.0 - 0.0001 * i for i in range(10)]
    assert _stop_epoch(PaperEarlyStopping(patience=3), losses) is None
    assert _stop_epoch(_keras_rule(patience=3), losses) == 3


def test_losses_within_tolerance_leave_the_paper_counter_unchanged():
    losses = [1.0, 1.0005, 1.0009, 1.0001, 1.0008, 1.0010, 1.0003]
    rule = PaperEarlyStopping(patience=3)
    assert _stop_epoch(rule, losses) is None
    assert rule.counter == 0 and rule.best == 1.0
    assert _stop_epoch(_keras_rule(patience=3), losses) == 3


def test_worse_epochs_count_and_stop_at_patience():
    losses = [1.0, 1.1, 1.0005, 1.2, 0.99, 1.5, 1.5, 1.5, 1.5]
    rule = PaperEarlyStopping(patience=3)
    # 1.1 -> 1; 1.0005 unchanged; 1.2 -> 2; 0.99 resets; then three worse epochs stop at index 7.
    assert _stop_epoch(rule, losses) == 7
    assert rule.best == 0.99 and rule.best_epoch == 4


def test_replaying_previous_losses_restores_the_state():
    losses = [1.0, 1.1, 1.2, 0.9, 1.0]
    resumed = PaperEarlyStopping(patience=10, previous=losses)
    fresh = PaperEarlyStopping(patience=10)
    for loss in losses:
        fresh.update(loss)
    assert (resumed.best, resumed.counter, resumed.best_epoch) == (fresh.best, fresh.counter, fresh.best_epoch)
    assert (resumed.best, resumed.counter) == (0.9, 1)


def test_nan_loss_counts_as_worse():
    rule = PaperEarlyStopping(patience=2, previous=[1.0])
    assert not rule.update(math.nan)
    assert rule.update(math.nan)


def test_binary_metrics_match_sklearn_and_threshold_is_strict():
    labels = np.array([[0], [1], [1], [0], [1]])
    probabilities = np.array([[0.1], [0.5], [0.9], [0.6], [0.7]])
    metrics = basic_metrics(labels, probabilities)
    # 0.5 is not a positive (MedMNIST's evaluator uses p > 0.5): correct are 0.1, 0.9, 0.7.
    assert metrics["acc"] == pytest.approx(3 / 5)
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels[:, 0], probabilities[:, 0]))
    expected_loss = keras.losses.binary_crossentropy(labels.astype("float32"), probabilities.astype("float32"))
    assert metrics["loss"] == pytest.approx(float(np.mean(keras.ops.convert_to_numpy(expected_loss))), rel=1e-5)


def test_auc_is_none_for_a_single_class():
    assert basic_metrics(np.zeros((3, 1)), np.array([[0.2], [0.4], [0.9]]))["auc"] is None


def test_multiclass_metrics_are_argmax_accuracy_and_macro_ovr_auc():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2, 2, 1, 0, 2, 1])
    probabilities = rng.dirichlet(np.ones(3), size=len(labels))
    metrics = basic_metrics(labels[:, None], probabilities)
    assert metrics["acc"] == pytest.approx(np.mean(probabilities.argmax(1) == labels))
    macro = np.mean([roc_auc_score(labels == c, probabilities[:, c]) for c in range(3)])
    assert metrics["auc"] == pytest.approx(macro)
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels, probabilities, multi_class="ovr", average="macro"))
    assert metrics["loss"] == pytest.approx(-np.mean(np.log(probabilities[np.arange(8), labels])), rel=1e-6)


def test_truncate_history_drops_rows_after_the_backup(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,1.0\n1,0.9,0.95\n2,0.8,0.9\n")
    resume.truncate_history(path, 2)
    assert [row["epoch"] for row in training.read_history(path)] == [0, 1]
    resume.truncate_history(path, 0)
    assert not path.exists()


def test_protocol_defaults_are_the_papers():
    assert Protocol().as_dict() == {
        "max_epochs": 500, "batch_size": 64, "learning_rate": 5e-4, "patience": 10, "min_delta": 0.001,
    }


def _tiny_model():
    """compile_model's loss and metrics, with SGD at learning rate 1 (a step moves each weight by its gradient)."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    training.compile_model(model, Protocol())
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss=model.loss,
                  weighted_metrics=["accuracy", keras.metrics.AUC(name="auc")])
    return model


def test_padded_last_batch_gives_the_unpadded_loss_gradients_and_metrics():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 2, size=(10, 1))
    batches = training.EpochBatches(x, y, batch_size=4, seed=3, pad=True)
    x_pad, y_pad, w_pad = batches[len(batches) - 1]
    assert x_pad.shape == (4, 4) and list(w_pad) == [1.0, 1.0, 0.0, 0.0]
    assert list(batches[0][2]) == [1.0] * 4  # full batches: plain means
    real = w_pad > 0
    padded, unpadded = _tiny_model(), _tiny_model()
    logs_padded = padded.train_on_batch(x_pad, y_pad, sample_weight=w_pad, return_dict=True)
    logs_unpadded = unpadded.train_on_batch(x_pad[real], y_pad[real], return_dict=True)
    assert logs_padded == pytest.approx(logs_unpadded, rel=1e-6)
    # One SGD step with learning rate 1 moves each weight by its gradient: equal weights, equal gradients.
    for a, b in zip(padded.get_weights(), unpadded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_the_copies_would_change_the_loss_without_their_zero_weight():
    """The check above can fail: the same padded batch unweighted gives another loss."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 2, size=(10, 1))
    x_pad, y_pad, w_pad = training.EpochBatches(x, y, batch_size=4, seed=3, pad=True)[2]
    real = w_pad > 0
    assert _tiny_model().test_on_batch(x_pad, y_pad) != pytest.approx(_tiny_model().test_on_batch(x_pad[real], y_pad[real]))


def _epochs_of(batches):
    """{epoch: the sample values it feeds, in order}, from a padded `EpochBatches` over x = 0..N-1."""
    epochs = {}
    for index in range(len(batches)):
        x, _, weights = batches[index]
        assert len(x) == batches.batch_size
        epochs.setdefault(batches.first_epoch + index // batches.batches_per_epoch, []).extend(x[weights > 0, 0])
    return epochs


def test_epoch_batches_use_every_sample_once_per_epoch_and_reshuffle():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.zeros((10, 1))
    epochs = _epochs_of(training.EpochBatches(x, y, batch_size=4, seed=0, epochs=3, pad=True))
    assert list(epochs) == [0, 1, 2]
    assert all(sorted(order) == list(range(10)) for order in epochs.values())
    assert epochs[0] != epochs[1] != epochs[2]


def test_a_resumed_epoch_gets_the_batches_of_an_uninterrupted_run():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.zeros((10, 1))
    uninterrupted = _epochs_of(training.EpochBatches(x, y, batch_size=4, seed=5, epochs=4, pad=True))
    resumed = _epochs_of(training.EpochBatches(x, y, batch_size=4, seed=5, epochs=4, first_epoch=2, pad=True))
    assert resumed == {2: uninterrupted[2], 3: uninterrupted[3]}


def _dropout_model():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([
        keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    return training.compile_model(model, Protocol(learning_rate=0.05))


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt  # after the backup of epoch 1: what a kill at that moment leaves


def test_resumed_training_repeats_an_uninterrupted_run(tmp_path):
    """Shuffling and dropout masks depend on (seed, epoch) alone, and the backup holds weights and optimizer."""
    import types

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)).astype("float32"), rng.integers(0, 2, size=(40, 1))
    data = types.SimpleNamespace(train=(x, y), val=(x[:8], y[:8]))
    protocol = Protocol(max_epochs=4, batch_size=16, patience=100)
    (tmp_path / "whole").mkdir()
    whole = _dropout_model()
    training.fit(whole, data, protocol, tmp_path / "whole", verbose=0, seed=4)
    (tmp_path / "resumed").mkdir()
    with pytest.raises(KeyboardInterrupt):
        training.fit(_dropout_model(), data, protocol, tmp_path / "resumed", verbose=0, seed=4,
                     extra_callbacks=[_Interrupt()])
    assert training.resume_epoch(tmp_path / "resumed") == 2
    resumed = _dropout_model()
    result = training.fit(resumed, data, protocol, tmp_path / "resumed", verbose=0, seed=4)
    assert [row["epoch"] for row in result.history] == [0, 1, 2, 3]
    expected = training.read_history(tmp_path / "whole" / "history.csv")
    # To TensorFlow's last-bit CPU noise; another batch order or dropout mask moves the loss by far more.
    assert [row["loss"] for row in result.history] == pytest.approx([row["loss"] for row in expected], rel=1e-5)
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_padding_is_only_used_where_it_is_exact_and_useful():
    compiles_steps = keras.backend.backend() in ("jax", "tensorflow")
    assert training.wants_padding(create_model("CNNExp1N4")) == compiles_steps
    assert not training.wants_padding(create_model("LiqExp3N3"))  # BatchNorm


def test_tensorflow_traces_the_padded_training_step_with_a_static_batch_size():
    x, y = np.zeros((10, 28, 28, 28, 1), "uint8"), np.zeros((10, 1))
    protocol = Protocol(max_epochs=2, batch_size=4)
    inputs = training.training_inputs(create_model("CNNExp1N4"), (x, y), protocol)
    assert inputs["steps_per_epoch"] == 3
    if keras.backend.backend() != "tensorflow":
        assert isinstance(inputs["x"], training.EpochBatches)
        return
    volumes, labels, weights = inputs["x"].element_spec
    assert volumes.shape == (4, 28, 28, 28, 1) and weights.shape == (4,)
    assert [list(w) for _, _, w in inputs["x"].as_numpy_iterator()] == [[1.0] * 4] * 2 + [[1.0, 1.0, 0.0, 0.0]] + \
        [[1.0] * 4] * 2 + [[1.0, 1.0, 0.0, 0.0]]
    # With BatchNorm nothing is padded, and Keras's own PyDataset path keeps a dynamic batch size.
    bn_inputs = training.training_inputs(create_model("LiqExp3N3"), (x, y), protocol)
    assert isinstance(bn_inputs["x"], training.EpochBatches) and not bn_inputs["x"].pad


def test_compiled_models_trace_their_training_step_once_and_train_as_keras_own_compile():
    """compile_model creates the optimizer's and metrics' variables before `fit` (what Keras's fit
    does first on JAX and PyTorch): a step whose trace creates variables is traced twice on TensorFlow."""
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, size=(8, 28, 28, 28, 1)).astype("float32"), np.array([[0], [1]] * 4, "float32")
    protocol = Protocol(batch_size=4)
    trained = {}
    for way in ("package", "keras"):
        keras.utils.set_random_seed(0)
        model = create_model("CNNExp1N1")
        if way == "package":
            training.compile_model(model, protocol, 2, train_size=8)
            assert model.optimizer.built
        else:  # the same settings, compiled by Keras alone
            model.compile(optimizer=keras.optimizers.Adam(protocol.learning_rate), steps_per_execution=2,
                          loss=keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight"),
                          weighted_metrics=["accuracy", keras.metrics.AUC(name="auc")])
        traces, step = [], model.train_step
        model.train_step = lambda data, step=step: (traces.append(1), step(data))[1]
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
        trained[way] = history, model.get_weights(), len(traces)
    (history, weights, traces), (keras_history, keras_weights, keras_traces) = trained["package"], trained["keras"]
    if keras.backend.backend() == "tensorflow":
        assert (traces, keras_traces) == (1, 2)
    assert history["loss"] == pytest.approx(keras_history["loss"], rel=1e-5)
    assert history["auc"] == pytest.approx(keras_history["auc"], rel=1e-5)
    for a, b in zip(weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)  # to TensorFlow's last-bit CPU noise


def test_uint8_volumes_train_exactly_like_float32():
    """Runs keep volumes as uint8 (no float copy in memory): the model's Rescaling casts each batch."""
    x = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 28, 1)).astype("uint8")
    y = (np.arange(8) % 2)[:, None]
    outcomes = []
    for volumes in (x, x.astype("float32")):
        keras.utils.set_random_seed(0)
        model = create_model("CNNExp1N4")
        model.compile(optimizer=keras.optimizers.Adam(5e-4), loss="binary_crossentropy")
        history = model.fit(volumes, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        outcomes.append((history.history["loss"], model.predict(volumes, verbose=0)))
    assert outcomes[0][0] == outcomes[1][0]
    np.testing.assert_array_equal(outcomes[0][1], outcomes[1][1])


def test_jax_determinism_flag_is_added_once_beside_other_flags(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    monkeypatch.setattr(backend, "_jax_started", lambda: False)
    backend._enable_determinism("jax")
    backend._enable_determinism("jax")
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_gpu_deterministic_ops=true"


def test_jax_determinism_too_late_warns_and_is_not_claimed(monkeypatch):
    # XLA reads its flags once, when JAX starts: a flag set later would be recorded but not obeyed.
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.setattr(backend, "_jax_started", lambda: True)
    with pytest.warns(UserWarning, match="before the first JAX computation"):
        backend._enable_determinism("jax")
    assert "XLA_FLAGS" not in os.environ


def test_predictions_run_one_batch_per_call_and_leave_keras_own_predict_whole():
    """A model compiled for whole-epoch executions (compile_model with train_size): predict_probabilities
    gives the per-batch probabilities of every volume, and afterwards Keras's own predict (still
    `steps_per_execution` batches per call) also returns every row."""
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    training.compile_model(model, Protocol(batch_size=4), train_size=20)
    assert model.steps_per_execution == 5
    x = np.random.default_rng(0).normal(size=(11, 3)).astype("float32")  # 3 batches, the last one short
    expected = np.concatenate([keras.ops.convert_to_numpy(model(x[i:i + 4])) for i in range(0, 11, 4)])
    first = training.predict_probabilities(model, x, 4)
    again = training.predict_probabilities(model, x[:6], 4)
    np.testing.assert_allclose(first, expected, atol=1e-6)
    np.testing.assert_allclose(again, expected[:6], atol=1e-6)
    assert model.steps_per_execution == 5
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), expected, atol=1e-6)
