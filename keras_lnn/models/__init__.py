"""The model zoo (in the spirit of timm): models created by name from a registry of declarative architectures.

The modules, in the one direction their imports run:

    blocks     the building blocks, written once: head step specs, slice encoders,
               the shorthands (`cnn`, `liquid(auto(21))`, ...), `Architecture`
    zoo        the architectures, one declarative line each (the paper's 30, exp6)
    registry   names -> architectures; experiments; the groups `paper` and `all`
    build      `create_model`: an architecture as a Keras functional model

Example:

>>> from keras_lnn import models
>>> models.list_models("LiqExp1*")
['LiqExp1N2', 'LiqExp1N5', 'LiqExp1N6']
>>> model = models.create_model("LiqExp1N2")
>>> model.output_shape
(None, 1)

A model of one's own:

>>> from keras_lnn.models import Architecture, auto, liquid, register
>>> register(Architecture("MyLiq", "mine", "E2", liquid(auto(12))))  # doctest: +SKIP
"""
from keras_lnn.models.blocks import (
    ENCODERS, MEAN, OUT, RELU, Activation, Architecture, BatchNorm, Conv, Dense, Dropout, LiquidLayer, Mean, Pool,
    Rnn, auto, cfc, cnn, full, liquid, recurrent,
)
from keras_lnn.models.build import count_params, create_model, slice_encoder, validate_model
from keras_lnn.models.registry import (
    MODEL_GROUPS, UnknownModelError, experiment_models, experiment_scope, get_architecture, group_experiments,
    group_models, list_experiments, list_models, register, resolve_models,
)

__all__ = [
    "ENCODERS", "MEAN", "MODEL_GROUPS", "OUT", "RELU", "Activation", "Architecture", "BatchNorm", "Conv", "Dense",
    "Dropout", "LiquidLayer", "Mean", "Pool", "Rnn", "UnknownModelError", "auto", "cfc", "cnn", "count_params",
    "create_model", "experiment_models", "experiment_scope", "full", "get_architecture", "group_experiments",
    "group_models", "liquid", "list_experiments", "list_models", "recurrent", "register", "resolve_models",
    "slice_encoder", "validate_model",
]
