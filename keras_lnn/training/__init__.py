"""Training with the paper's protocol: `model.fit`, the paper's early-stopping rule, exact metrics.

The modules follow the parts of training:

    protocol   the paper's settings (`Protocol`), its early-stopping rule, `compile_model`
    batches    what each epoch feeds the model, from (seed, epoch) alone: batches, dropout seeds
    backend    JAX's compilation cache and deterministic kernels (`configure_backend`)
    resume     history.csv and the per-epoch backup a killed run resumes from
    fitting    `fit`: `model.fit` with the callbacks in order; `FitResult`, the best epoch
    metrics    predicted probabilities; `compute_metrics`, kept by name, is `keras_lnn.evaluation`'s

Example:

>>> from keras_lnn.training import Protocol, compile_model, compute_metrics, fit, predict
>>> protocol = Protocol(max_epochs=2)
>>> result = fit(compile_model(model, protocol), dataset, protocol, work_dir="out/CNNExp1N4")
>>> compute_metrics(dataset.test[1], predict(model, dataset.test[0], protocol.batch_size))["auc"]
"""
from keras_lnn.training.backend import configure_backend, deterministic_ops
from keras_lnn.training.batches import EpochBatches, EpochSeeds, training_inputs, wants_padding
from keras_lnn.training.fitting import EpochTimer, FitResult, best_epoch_summary, fit
from keras_lnn.training.metrics import compute_metrics, predict
from keras_lnn.training.protocol import PaperEarlyStopping, Protocol, compile_model
from keras_lnn.training.resume import EpochBackup, read_history, resume_epoch

__all__ = [
    "EpochBackup", "EpochBatches", "EpochSeeds", "EpochTimer", "FitResult", "PaperEarlyStopping", "Protocol",
    "best_epoch_summary", "compile_model", "compute_metrics", "configure_backend", "deterministic_ops", "fit",
    "predict", "read_history", "resume_epoch", "training_inputs", "wants_padding",
]
