"""Training with the paper's protocol: `model.fit`, the paper's early-stopping rule, exact metrics.

Example:

>>> from keras_lnn.training import Protocol, train_model
>>> result = train_model("CNNExp1N4", dataset, Protocol(max_epochs=2), model_dir="out/CNNExp1N4")
>>> result.metrics["test"]["auc"]
"""
import csv
import dataclasses
import math
import os
import shutil
import time
import warnings
from pathlib import Path

import keras
import numpy as np


@dataclasses.dataclass(frozen=True)
class Protocol:
    """The training protocol; the defaults are the paper's.

    Args:
        max_epochs: upper bound on epochs (paper: 500).
        batch_size: mini-batch size (paper: 64).
        learning_rate: Adam's constant learning rate (paper: 5e-4).
        patience: early-stopping counter limit (paper: 10).
        min_delta: tolerance above the best validation loss that does not count (paper: 0.001).
    """

    max_epochs: int = 500
    batch_size: int = 64
    learning_rate: float = 5e-4
    patience: int = 10
    min_delta: float = 0.001

    def as_dict(self):
        return dataclasses.asdict(self)


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


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` to each epoch's logs, so history.csv records time and resumed runs add up.

    It must come before `CSVLogger` in the callback list: Keras passes one logs
    dict to every callback in turn.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class EpochSeeds(keras.callbacks.Callback):
    """Sets every random layer's seed state (dropout) at each epoch's start from (seed, epoch) alone.

    A backup holds weights and optimizer state but not the layers' seed generators, so without
    this a resumed run would draw other dropout masks than an uninterrupted one.
    """

    def __init__(self, seed=0):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        generators = [g for layer in self.model._flatten_layers() for g in getattr(layer, "_seed_generators", ())]
        for index, generator in enumerate(generators):
            start = np.random.default_rng((self.seed, epoch, index)).integers(2**31)
            generator.state.assign(np.array([start, 0], dtype=generator.state.dtype))


# ---------------------------------------------------------------- metrics
def compute_metrics(labels, probabilities):
    """Accuracy, ROC AUC and cross-entropy of predicted probabilities.

    Binary (probabilities `(N, 1)`): accuracy at threshold 0.5 (a positive is
    `p > 0.5`, as MedMNIST's evaluator counts it), scikit-learn's ROC AUC and
    binary cross-entropy. Multi-class (`(N, C)`): argmax accuracy, the macro
    one-vs-rest AUC of MedMNIST's evaluator, and categorical cross-entropy.
    AUC is None when the labels hold a single class.

    Returns:
        {"acc": float, "auc": float or None, "loss": float}
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels).reshape(-1).astype(int)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    eps = keras.config.epsilon()  # Keras's own clipping, so the loss matches model.evaluate
    clipped = np.clip(probabilities, eps, 1 - eps)
    if probabilities.shape[-1] == 1:
        p = probabilities[:, 0]
        acc = float(np.mean((p > 0.5) == labels))
        loss = float(-np.mean(labels * np.log(clipped[:, 0]) + (1 - labels) * np.log(1 - clipped[:, 0])))
        auc = float(roc_auc_score(labels, p)) if len(np.unique(labels)) == 2 else None
    else:
        acc = float(np.mean(np.argmax(probabilities, axis=1) == labels))
        loss = float(-np.mean(np.log(clipped[np.arange(len(labels)), labels])))
        per_class = [
            roc_auc_score(labels == c, probabilities[:, c])
            for c in range(probabilities.shape[1])
            if 0 < np.sum(labels == c) < len(labels)
        ]
        auc = float(np.mean(per_class)) if per_class else None
    return {"acc": acc, "auc": auc, "loss": loss}


def compile_model(model, protocol, n_classes=2):
    """Adam with the protocol's learning rate; BCE (binary) or sparse categorical CE."""
    if n_classes == 2:
        loss, metrics = "binary_crossentropy", ["accuracy", keras.metrics.AUC(name="auc")]
    else:
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    model.compile(optimizer=keras.optimizers.Adam(protocol.learning_rate), loss=loss, metrics=metrics)
    return model


# ---------------------------------------------------------------- batching
class EpochBatches(keras.utils.PyDataset):
    """Mini-batches of the epochs `first_epoch..epochs-1`, shuffled as a function of (seed, epoch) alone.

    Batch `i` belongs to epoch `first_epoch + i // batches_per_epoch`, and that epoch's order
    is `default_rng((seed, epoch)).permutation(N)`: no random state carries from one epoch to
    the next, so a run resumed at any epoch sees the very batches an uninterrupted run would
    (Keras's own shuffling draws from a process's random state, which a restart loses). Fit
    with `steps_per_epoch=batches_per_epoch`, so one pass over this dataset spans all epochs.

    With `pad=True` the last partial batch of `k` samples is filled up to `batch_size` with
    copies of one of its samples at sample weight 0, and its `k` real samples get weight
    `batch_size / k`. With Keras's "sum over batch size" loss reduction the batch's loss and
    gradients are then exactly those of the unpadded batch, and XLA compiles one training step
    instead of two (JAX and XLA compile per shape). Not for models with BatchNormalization:
    the copies would enter its batch statistics (`wants_padding` says when to pad).

    Args:
        x, y: training arrays.
        batch_size: the batch size.
        seed: seed of the per-epoch shuffle.
        epochs: the epoch to stop before.
        first_epoch: the epoch the first batch belongs to (a resumed run's).
        pad: pad the last batch to `batch_size` (see above).

    Example:

    >>> batches = EpochBatches(x, y, batch_size=64, seed=0, epochs=2)
    >>> model.fit(batches, steps_per_epoch=batches.batches_per_epoch, epochs=2)
    """

    def __init__(self, x, y, batch_size, seed=0, epochs=1, first_epoch=0, pad=False):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.seed, self.epochs, self.first_epoch, self.pad = seed, epochs, first_epoch, pad
        self.batches_per_epoch = math.ceil(len(y) / batch_size)
        self._orders = {}

    def __len__(self):
        # At least one batch: a resumed run with nothing left to train still calls fit to restore weights.
        return self.batches_per_epoch * max(1, self.epochs - self.first_epoch)

    def epoch_order(self, epoch):
        """The sample order of `epoch`."""
        if epoch not in self._orders:
            self._orders = {epoch: np.random.default_rng((self.seed, epoch)).permutation(len(self.y))}
        return self._orders[epoch]

    def __getitem__(self, index):
        epoch, batch = divmod(index, self.batches_per_epoch)
        indices = self.epoch_order(self.first_epoch + epoch)[batch * self.batch_size : (batch + 1) * self.batch_size]
        if not self.pad:
            return self.x[indices], self.y[indices]
        real = len(indices)
        weights = np.full(self.batch_size, self.batch_size / real, dtype="float32")
        weights[real:] = 0.0
        indices = np.concatenate([indices, np.repeat(indices[:1], self.batch_size - real)])
        return self.x[indices], self.y[indices], weights


def wants_padding(model):
    """Pad the last batch where batch shapes trigger compilations (JAX) and padding is exact (no BatchNorm)."""
    has_batch_norm = any(isinstance(layer, keras.layers.BatchNormalization) for layer in model._flatten_layers())
    return keras.backend.backend() == "jax" and not has_batch_norm


def training_inputs(model, train, protocol, seed=0, first_epoch=0):
    """The `model.fit` keyword arguments that feed the training split from `first_epoch` on (see `EpochBatches`)."""
    x, y = train
    pad = wants_padding(model) and len(y) % protocol.batch_size != 0
    batches = EpochBatches(x, y, protocol.batch_size, seed, protocol.max_epochs, first_epoch, pad)
    # shuffle=False: Keras would otherwise shuffle the batches' order from the process's random state.
    return {"x": batches, "steps_per_epoch": batches.batches_per_epoch, "shuffle": False}


def configure_backend(cache_dir=None, deterministic=True):
    """Backend settings for fast, reproducible repeated training; call before the first model is built.

    On JAX: the persistent compilation cache (`~/.cache/keras_lnn/jax` unless
    `JAX_COMPILATION_CACHE_DIR` is set), so an architecture compiled once is not
    compiled again for the next seed, dataset or process; and no GPU memory
    preallocation, so several training processes can share one GPU.

    Args:
        cache_dir: JAX's persistent compilation cache folder.
        deterministic: deterministic kernels, so a seed gives the same weights on a GPU
            run after run. Without it, XLA's autotuning picks cuDNN kernels by timing, which
            varies with the load on the GPU, and some kernels sum in varying order, so the
            same seed can stop at another epoch (measured in docs/performance.md). On a CPU,
            JAX and PyTorch are deterministic either way; TensorFlow's multithreaded CPU kernels
            are not even with it (its last bits vary unless it runs on one thread).
    """
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    backend = keras.backend.backend()
    if deterministic:
        _enable_determinism(backend)
    if backend != "jax":
        return
    import jax

    cache_dir = cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.expanduser("~/.cache/keras_lnn/jax")
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


_XLA_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"


def _enable_determinism(backend):
    if backend == "jax":
        # XLA reads its flags when JAX starts its backend; the flag also turns autotuning off (its
        # timings vary run to run, and with them the kernels it picks).
        flags = os.environ.get("XLA_FLAGS", "")
        if _XLA_DETERMINISTIC in flags.split():
            return
        if _jax_started():
            warnings.warn(
                "JAX already computed, so its kernels stay as they are: set "
                f"XLA_FLAGS={_XLA_DETERMINISTIC} before the first JAX computation for deterministic GPU runs",
                stacklevel=3,
            )
            return
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_DETERMINISTIC}".strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's condition for deterministic GEMMs
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def _jax_started():
    try:
        from jax._src import xla_bridge  # no public name for this question
    except ImportError:
        return False
    return bool(getattr(xla_bridge, "backends_are_initialized", lambda: False)())


def deterministic_ops():
    """Whether the backend runs deterministic kernels (see `configure_backend`), for provenance."""
    backend = keras.backend.backend()
    if backend == "jax":
        return _XLA_DETERMINISTIC in os.environ.get("XLA_FLAGS", "").split()
    if backend == "tensorflow":
        from tensorflow.python.framework import config  # the query has no public name yet

        return bool(config.is_op_determinism_enabled())
    if backend == "torch":
        import torch

        return torch.are_deterministic_algorithms_enabled()
    return False


# ---------------------------------------------------------------- history (resumable)
def read_history(path):
    """history.csv as a list of dicts with float values (and int `epoch`)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in rows]


def _truncate_history(path, epochs):
    """Keeps the first `epochs` rows: a run killed between logging and backing up an epoch repeats it."""
    path = Path(path)
    if not path.exists():
        return
    with open(path, newline="") as handle:
        lines = handle.read().splitlines(keepends=True)
    if epochs == 0:
        path.unlink()
    elif len(lines) > epochs + 1:
        from keras_lnn.io import atomic_write_text

        atomic_write_text(path, "".join(lines[: epochs + 1]))


def resume_epoch(work_dir):
    """The epoch `fit` on `work_dir` would start from: the finished epochs its backup holds (0 if none)."""
    from keras_lnn.artifacts import backup_epoch

    return backup_epoch(work_dir)


class EpochBackup(keras.callbacks.Callback):
    """Keeps the last finished epoch's weights and optimizer state in `backup_dir`; restores them on train begin.

    Like `keras.callbacks.BackupAndRestore`, but a kill at any moment leaves a consistent
    backup: each epoch's weights go to a file of their own, then `training_metadata.json`
    (written atomically) is switched to them. Keras's callback writes its weights and its
    epoch count in place one after the other, so a kill between the two resumes new weights
    at an old epoch. The folder is deleted when training ends.
    """

    METADATA = "training_metadata.json"

    def __init__(self, backup_dir):
        super().__init__()
        self.backup_dir = Path(backup_dir)

    def on_train_begin(self, logs=None):
        from keras_lnn.io import read_json

        metadata = self.backup_dir / self.METADATA
        if not metadata.exists():
            return
        saved = read_json(metadata)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # its variables must exist to be loaded
        self.model.load_weights(self.backup_dir / saved["weights"])
        self.model._initial_epoch = saved["epoch"]  # what BackupAndRestore sets: fit starts there

    def on_epoch_end(self, epoch, logs=None):
        from keras_lnn.io import atomic_write_json

        self.backup_dir.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{epoch + 1}.weights.h5"
        self.model.save_weights(self.backup_dir / weights, overwrite=True)
        with open(self.backup_dir / weights, "rb+") as handle:
            os.fsync(handle.fileno())  # on disk before the metadata points at it
        atomic_write_json(self.backup_dir / self.METADATA, {"epoch": epoch + 1, "weights": weights})
        for old in self.backup_dir.glob("epoch-*.weights.h5"):
            if old.name != weights:
                old.unlink()

    def on_train_end(self, logs=None):
        shutil.rmtree(self.backup_dir, ignore_errors=True)


@dataclasses.dataclass
class FitResult:
    """What `fit` leaves besides the trained model: the history rows (with `epoch_seconds`) and how it ended."""

    history: list
    stopped_early: bool
    nan_loss: bool


def fit(model, dataset, protocol, work_dir, verbose=2, extra_callbacks=(), seed=0):
    """Trains `model` on `dataset` under `protocol`, resumable from `work_dir`.

    `work_dir` receives `history.csv` (one row per epoch, `epoch` from 0) and a
    `backup/` folder (`EpochBackup`) that lets a killed run
    resume from its last finished epoch; it is deleted when training ends.

    Returns:
        A `FitResult`; the model holds the stopping epoch's weights.
    """
    work_dir = Path(work_dir)
    history_path, backup_dir = work_dir / "history.csv", work_dir / "backup"
    done = resume_epoch(work_dir)
    _truncate_history(history_path, done)
    previous = [row["val_loss"] for row in read_history(history_path)]
    stopping = PaperEarlyStopping(protocol.patience, protocol.min_delta, previous=previous)
    # Callback order matters on epoch end: the history row is written before the
    # backup, so a kill in between only leaves a row that resuming truncates.
    callbacks = [
        EpochTimer(),
        keras.callbacks.CSVLogger(str(history_path), append=True),
        stopping,
        EpochBackup(backup_dir),
        keras.callbacks.TerminateOnNaN(),
        EpochSeeds(seed),
        *extra_callbacks,
    ]
    model.fit(
        **training_inputs(model, dataset.train, protocol, seed, first_epoch=done),
        # A resumed run whose rule had already fired trains no further epoch.
        epochs=done if stopping.should_stop else protocol.max_epochs,
        validation_data=dataset.val,
        validation_batch_size=protocol.batch_size,
        callbacks=callbacks,
        verbose=verbose,
    )
    history = read_history(history_path)
    nan_loss = any(math.isnan(row.get("loss", 0.0)) or math.isnan(row.get("val_loss", 0.0)) for row in history)
    return FitResult(history, stopping.should_stop, nan_loss or _nan_weights(model))


def _nan_weights(model):
    return any(not np.all(np.isfinite(keras.ops.convert_to_numpy(w))) for w in model.weights)


def predict(model, x, batch_size):
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))


def best_epoch_summary(history):
    """The epoch with the lowest validation loss and its logged validation metrics."""
    if not history:
        return None, {}
    best = min(history, key=lambda row: row["val_loss"])
    metrics = {k[len("val_"):]: v for k, v in best.items() if k.startswith("val_")}
    return best["epoch"], metrics
