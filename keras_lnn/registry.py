"""Deprecated: the registry is `keras_lnn.models.registry` (its lookups are exported by `keras_lnn.models`)."""
from keras_lnn._deprecated import moved
from keras_lnn.models.registry import *  # noqa: F401,F403
from keras_lnn.models.registry import _EXPERIMENTS, _REGISTRY  # noqa: F401

moved(__name__, "keras_lnn.models.registry")
