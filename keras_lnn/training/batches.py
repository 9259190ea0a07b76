"""What each epoch feeds the model, from (seed, epoch) alone: shuffled, optionally padded batches and dropout seeds."""
import math

import keras
import numpy as np


class EpochBatches(keras.utils.PyDataset):
    """Mini-batches of the epochs `first_epoch..epochs-1`, shuffled as a function of (seed, epoch) alone.

    Batch `i` belongs to epoch `first_epoch + i // batches_per_epoch`, and that epoch's order
    is `default_rng((seed, epoch)).permutation(N)`: no random state carries from one epoch to
    the next, so a run resumed at any epoch sees the very batches an uninterrupted run would
    (Keras's own shuffling draws from a process's random state, which a restart loses). Fit
    with `steps_per_epoch=batches_per_epoch`, so one pass over this dataset spans all epochs.

    With `pad=True` every batch comes with sample weights: 1 for its samples, and the last
    partial batch of `k` samples is filled up to `batch_size` with copies of one of them at
    weight 0. `compile_model`'s loss (the weighted sum over the sum of the weights) and its
    weighted metrics then give the padded batch the loss, gradients and metrics of the unpadded
    one, and every batch has one shape: XLA compiles one training step instead of two (JAX and
    XLA compile per shape), and TensorFlow traces its step with static shapes (see
    `training_inputs`). Only Keras's running mean of the epoch's loss counts the copies (it
    weights each batch's loss by its rows). Not for models with BatchNormalization: the copies
    would enter its batch statistics (`wants_padding` says when to pad).

    With `augment`, each batch is augmented as (seed, epoch, batch) alone draws it
    (`training.augment.augment_batch`). With `class_weights`, every batch comes with sample
    weights: each sample's class weight, times the padding's 1 or 0, so the batch's loss is
    `sum(w_i * loss_i) / sum(w_i)`, the class-weighted mean of its real samples. Without either
    (the paper's protocol) the batches are exactly those of the code before them.

    Args:
        x, y: training arrays.
        batch_size: the batch size.
        seed: seed of the per-epoch shuffle.
        epochs: the epoch to stop before.
        first_epoch: the epoch the first batch belongs to (a resumed run's).
        pad: pad the last batch to `batch_size` (see above).
        augment: augmentation names (`training_options.AUGMENTATIONS`), or () for none.
        class_weights: float32 `(n_classes,)` loss weight per class, or None.

    Example:

    >>> x, y = np.zeros((100, 28, 28, 28, 1), "float32"), np.zeros((100, 1), "float32")
    >>> batches = EpochBatches(x, y, batch_size=64, seed=0, epochs=2)
    >>> batches.batches_per_epoch, len(batches), [len(batch[1]) for batch in (batches[0], batches[1])]
    (2, 4, [64, 36])

    Then `model.fit(batches, steps_per_epoch=batches.batches_per_epoch, epochs=2)`.
    """

    def __init__(self, x, y, batch_size, seed=0, epochs=1, first_epoch=0, pad=False, augment=(), class_weights=None):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.seed, self.epochs, self.first_epoch, self.pad = seed, epochs, first_epoch, pad
        self.augment = tuple(augment)
        self.class_weights = None if class_weights is None else np.asarray(class_weights, dtype="float32")
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
        epoch += self.first_epoch
        indices = self.epoch_order(epoch)[batch * self.batch_size : (batch + 1) * self.batch_size]
        weights = None
        if self.pad:
            real = len(indices)
            weights = np.ones(self.batch_size, dtype="float32")
            weights[real:] = 0.0
            indices = np.concatenate([indices, np.repeat(indices[:1], self.batch_size - real)])
        x, y = self.x[indices], self.y[indices]
        if self.augment:
            from keras_lnn.training.augment import augment_batch

            x = augment_batch(x, self.augment, self.seed, epoch, batch)
        if self.class_weights is not None:
            class_weights = self.class_weights[np.asarray(y).reshape(len(y), -1)[:, 0].astype(int)]
            weights = class_weights if weights is None else weights * class_weights
        return (x, y) if weights is None else (x, y, weights)


def wants_padding(model):
    """Pad the last batch where one batch shape pays and padding is exact (no BatchNorm).

    On JAX one shape means one compilation; on TensorFlow a step traced with a static batch
    size, whose gradients skip the broadcasting bookkeeping of a dynamic one (a third fewer
    operations in the liquid layer's training graph; PyTorch runs eagerly and gains nothing).
    """
    has_batch_norm = any(isinstance(layer, keras.layers.BatchNormalization) for layer in model._flatten_layers())
    return keras.backend.backend() in ("jax", "tensorflow") and not has_batch_norm


def training_inputs(model, train, protocol, seed=0, first_epoch=0, options=None, class_weights=None):
    """The `model.fit` keyword arguments that feed the training split from `first_epoch` on (see `EpochBatches`).

    Args:
        options: the `TrainingOptions` (augmentation, class weights); None: the paper's.
        class_weights: the options' class weights where the caller computed them for this training split
            (`TrainingOptions.class_weights`); None: computed here.
    """
    from keras_lnn.settings import TrainingOptions

    options = options or TrainingOptions()
    x, y = train
    pad = wants_padding(model)
    if class_weights is None:
        class_weights = options.class_weights(y, _n_classes(model))
    batches = EpochBatches(x, y, protocol.batch_size, seed, protocol.max_epochs, first_epoch, pad,
                           augment=options.augment, class_weights=class_weights)
    feed = _fixed_shape_dataset(batches) if pad and keras.backend.backend() == "tensorflow" else batches
    # shuffle=False: Keras would otherwise shuffle the batches' order from the process's random state.
    return {"x": feed, "steps_per_epoch": batches.batches_per_epoch, "shuffle": False}


def _n_classes(model):
    """2 for a sigmoid output of one unit, else its units."""
    units = model.output_shape[-1]
    return 2 if units == 1 else units


def _fixed_shape_dataset(batches):
    """`batches` as a `tf.data.Dataset` whose batch size is static.

    Keras turns a `PyDataset` into one whose batch axis is `None`, so TensorFlow traces the
    training step for any batch size; every padded batch has one, and saying so pays.
    """
    import tensorflow as tf

    signature = tuple(tf.TensorSpec(array.shape, array.dtype) for array in batches[0])
    dataset = tf.data.Dataset.from_generator(lambda: (batches[i] for i in range(len(batches))),
                                             output_signature=signature)
    return dataset.prefetch(tf.data.AUTOTUNE)


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
