"""Training with the paper's protocol: `model.fit`, the paper's early-stopping rule, predicted probabilities.

The modules follow the parts of training:

    protocol   the paper's early-stopping rule, `compile_model`
    batches    what each epoch feeds the model, from (seed, epoch) alone: batches, dropout seeds
    backend    JAX's compilation cache and deterministic kernels (`configure_backend`)
    resume     history.csv and the per-epoch backup a killed run resumes from
    fitting    `fit`: `model.fit` with the callbacks in order; `FitResult`, the best epoch
    augment    the training augmentations (`augment_batch`)
    progress   the early-stopping state beside Keras's epoch lines; TensorBoard logs
    metrics    predicted probabilities (`predict_probabilities`)

The settings training reads (`Protocol`, `TrainingOptions`) are `keras_lnn.settings`'s, which import no Keras.

Example:

```python
from keras_lnn.settings import Protocol
from keras_lnn.evaluation import basic_metrics
from keras_lnn.training import compile_model, fit, predict_probabilities

protocol = Protocol(max_epochs=2)
result = fit(compile_model(model, protocol), dataset, protocol, work_dir="out/CNNExp1N4")
basic_metrics(dataset.test[1], predict_probabilities(model, dataset.test[0], protocol.batch_size))["auc"]
```
"""
from keras_lnn.training.augment import augment_batch
from keras_lnn.training.backend import configure_backend, deterministic_ops
from keras_lnn.training.batches import EpochBatches, EpochSeeds, training_inputs, wants_padding
from keras_lnn.training.fitting import EpochTimer, FitResult, best_epoch_summary, fit
from keras_lnn.training.metrics import predict_probabilities
from keras_lnn.training.progress import StoppingProgbar, check_tensorboard_dir, tensorboard_callback
from keras_lnn.training.protocol import PaperEarlyStopping, compile_model
from keras_lnn.training.resume import EpochBackup, read_history, resume_epoch

__all__ = [
    "EpochBackup", "EpochBatches", "EpochSeeds", "EpochTimer", "FitResult", "PaperEarlyStopping", "StoppingProgbar",
    "augment_batch", "best_epoch_summary", "check_tensorboard_dir", "compile_model", "configure_backend",
    "deterministic_ops", "fit", "predict_probabilities", "read_history", "resume_epoch", "tensorboard_callback",
    "training_inputs", "wants_padding",
]
