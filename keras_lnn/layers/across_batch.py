"""AcrossBatch: a recurrent layer run along the batch axis, as the paper's exp5 baselines ran (a defect, reproduced).

The paper's code builds its baselines as `torch.nn.LSTM(400, 40, 1)` and `torch.nn.RNN(...)`
with PyTorch's default sequence-first layout (`batch_first=False`) and feeds them
`(batch, slices, features)` tensors. PyTorch reads the first axis as time: it runs one
sequence per slice position (28 of them), each stepping over the volumes of the mini-batch
in order. So a volume's output depends on the volumes before it in its batch, and the
recurrence never sees the slices of one volume in a row. `AcrossBatch` computes exactly that
with a Keras LSTM or SimpleRNN: transpose `(batch, slices, features)` to
`(slices, batch, features)`, run the layer (zero initial state on every call, as PyTorch's),
transpose back. The weights are the layer's own, so a PyTorch LSTM's weights map onto it one
to one (`tests/test_across_batch.py` checks the outputs against `torch.nn.LSTM`/`RNN` fed the
way the paper fed them).

It exists to measure what the defect did to the paper's Table 2, never as a baseline: the
models that use it are registered apart (`keras_lnn.models.zoo.DIAGNOSTIC_EXPERIMENTS`).
Their predictions depend on the batch (its size and order), so they hold only for the
protocol's batches: validation and test in their split order, 64 at a time.
"""
import keras
from keras import ops

from keras_lnn.layers.common import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class AcrossBatch(keras.layers.Wrapper):
    """Runs a recurrent layer with the batch axis as its time axis and the slices as its batch.

    Args:
        layer: a Keras recurrent layer with `return_sequences=True` (LSTM, SimpleRNN, GRU).
        **kwargs: base layer keyword arguments, such as `name`.

    Example:

    >>> layer = AcrossBatch(keras.layers.SimpleRNN(4, return_sequences=True))
    >>> x = keras.ops.ones((3, 28, 5))  # (batch, slices, features)
    >>> y = layer(x)
    >>> tuple(y.shape)
    (3, 28, 4)
    >>> bool(keras.ops.all(y[0] == y[0, :1]))  # the first volume of a batch: no history, all slices alike
    True
    """

    def build(self, input_shape):
        batch, slices, features = input_shape
        self.layer.build((slices, batch, features))
        self.built = True

    def compute_output_shape(self, input_shape):
        batch, slices, features = input_shape
        time_major = self.layer.compute_output_shape((slices, batch, features))
        return (time_major[1], time_major[0], time_major[2])

    def call(self, inputs, training=None):
        outputs = self.layer(ops.transpose(inputs, (1, 0, 2)), training=training)
        return ops.transpose(outputs, (1, 0, 2))
