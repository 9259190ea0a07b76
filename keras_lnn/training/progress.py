"""What training shows while it runs: Keras's epoch lines with the early-stopping state, and TensorBoard logs."""
import importlib.util
import math
import uuid
from pathlib import Path

import keras
from keras.src.utils.io_utils import print_msg  # what Keras prints its epoch lines with (no public name)

from keras_lnn.errors import KerasLnnError


class StoppingProgbar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, each epoch's line followed by the early-stopping rule's state.

    The line gives the best validation loss so far, its epoch (counted from 1, as Keras's
    `Epoch 3/500` lines count) and the patience counter, e.g.
    `    best val_loss 0.4123 at epoch 3, patience 2/10`. Keras uses a progress bar given in the
    callbacks instead of its own; pass one only where `fit`'s `verbose` is not 0.

    Args:
        stopping: the run's `PaperEarlyStopping` (it must come earlier in the callbacks).

    Example:

    ```python
    model.fit(x, y, epochs=5, verbose=2, callbacks=[stopping, StoppingProgbar(stopping)])
    ```
    """

    def __init__(self, stopping):
        super().__init__()
        self.stopping = stopping

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        print_msg(stopping_line(self.stopping))


def stopping_line(stopping):
    """`    best val_loss 0.4123 at epoch 3, patience 2/10` for a `PaperEarlyStopping`'s state."""
    if stopping.best_epoch is None or math.isinf(stopping.best):
        return f"    no finite val_loss yet, patience {stopping.counter}/{stopping.patience}"
    return (f"    best val_loss {stopping.best:.4f} at epoch {stopping.best_epoch + 1}, "
            f"patience {stopping.counter}/{stopping.patience}")


def check_tensorboard_dir(path):
    """Refuses, with one line, a TensorBoard folder where TensorFlow is missing or the folder is not writable.

    Keras's TensorBoard callback writes through TensorFlow's summary writer, which needs the
    `tensorboard` package as well (the JAX-only GPU image has neither).

    Raises:
        KerasLnnError: what is wrong.
    """
    missing = [package for package in ("tensorflow", "tensorboard") if importlib.util.find_spec(package) is None]
    if missing:
        raise KerasLnnError(f"TensorBoard logs ({path}) need {' and '.join(missing)}, not installed here (Keras's "
                            f"TensorBoard callback writes through them); pip install {' '.join(missing)} or leave "
                            "--tensorboard out")
    path = Path(path)
    probe = path / f".write-test-{uuid.uuid4().hex}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise KerasLnnError(f"TensorBoard folder {path} is not writable ({error.strerror or error})") from None


def tensorboard_callback(log_dir):
    """Keras's TensorBoard callback writing per-epoch scalars (the logged losses and metrics) to `log_dir`."""
    return keras.callbacks.TensorBoard(str(log_dir), update_freq="epoch", write_graph=False, profile_batch=0)
