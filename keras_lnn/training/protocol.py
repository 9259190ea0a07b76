"""The paper's training protocol in Keras: its early-stopping rule, and the compiled loss and optimizer.

The protocol's settings (`Protocol`) are `keras_lnn.settings`'s, which import no Keras.
"""
import math

import keras


class PaperEarlyStopping(keras.callbacks.Callback):
    """The paper's early-stopping rule on the validation loss.

    Keep the best validation loss. An epoch with a lower loss becomes the best
    and resets the counter to 0; an epoch whose loss is more than `min_delta`
    above the best adds 1; an epoch within `[best, best + min_delta]` leaves
    the counter as it is. Training stops when the counter reaches `patience`.
    (Keras's `EarlyStopping` differs: there an improvement must exceed
    `min_delta` to reset its counter, and every other epoch counts.)

    The weights are not restored: the paper evaluates the stopping epoch's.

    Args:
        patience: counter value that stops training.
        min_delta: tolerance above the best loss.
        monitor: the logged quantity to watch.
        previous: losses of epochs already trained (a resumed run replays them).

    Example:

    >>> rule = PaperEarlyStopping(patience=2, min_delta=0.1)
    >>> [rule.update(loss) for loss in [1.0, 1.05, 1.2, 1.3]]
    [False, False, False, True]
    """

    def __init__(self, patience=10, min_delta=0.001, monitor="val_loss", previous=()):
        super().__init__()
        self.patience = patience
        self.min_delta = min_delta
        self.monitor = monitor
        self.best = math.inf
        self.counter = 0
        self.best_epoch = None
        self.epochs_seen = 0
        for loss in previous:
            self.update(loss)

    @property
    def should_stop(self):
        return self.counter >= self.patience

    def update(self, loss):
        """Applies one epoch's loss; returns True when training should stop."""
        if loss < self.best:
            self.best, self.counter, self.best_epoch = loss, 0, self.epochs_seen
        elif loss > self.best + self.min_delta or math.isnan(loss):
            self.counter += 1
        self.epochs_seen += 1
        return self.should_stop

    def on_epoch_end(self, epoch, logs=None):
        if self.update(float((logs or {})[self.monitor])):
            self.model.stop_training = True


def compile_model(model, protocol, n_classes=2, train_size=None):
    """Adam with the protocol's learning rate; BCE (binary) or sparse categorical CE.

    The loss is the sample-weighted mean (`mean_with_sample_weight`), and the metrics are
    weighted: a padded batch's zero-weight copies count for nothing (see `EpochBatches`).
    Without sample weights both are the plain means.

    Args:
        model: the model to compile.
        protocol: the `Protocol` (its learning rate).
        n_classes: 2 for a sigmoid output, more for a softmax one.
        train_size: samples in the training split. Given, on TensorFlow, a whole epoch's
            steps run as one execution (`steps_per_execution`): one call into the traced loop
            per epoch instead of one per batch. JAX would compile a different step for it.
    """
    if n_classes == 2:
        loss = keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight")
        metrics = ["accuracy", keras.metrics.AUC(name="auc")]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
        metrics = ["accuracy"]
    steps = 1
    if train_size and keras.backend.backend() == "tensorflow":
        steps = math.ceil(train_size / protocol.batch_size)
    model.compile(optimizer=keras.optimizers.Adam(protocol.learning_rate), loss=loss, weighted_metrics=metrics,
                  steps_per_execution=steps)
    if keras.backend.backend() == "tensorflow":
        _build_training_state(model, n_classes)
    return model


def _build_training_state(model, n_classes):
    """Creates the optimizer's and the compiled loss's and metrics' variables now, not in `fit`'s first trace.

    Keras's `fit` does this itself first on JAX and PyTorch (and on TensorFlow under a
    distribution strategy); otherwise TensorFlow creates them while tracing the training step,
    and a `tf.function` that creates variables is traced a second time. Building them here
    spares that second trace: about 7 s of every LTC model's first epoch on a 2-core CPU.
    The variables start at the same values (zeros) either way, so training computes the same.
    """
    import numpy as np

    build = getattr(model, "_symbolic_build", None)  # Keras's own step (3.x); without it, Keras's two traces
    if build is None:
        return
    volume = np.zeros((1, *model.input_shape[1:]), "float32")
    labels = np.zeros((1, 1), "float32" if n_classes == 2 else "int32")
    build(data_batch=(volume, labels, np.ones((1,), "float32")))
