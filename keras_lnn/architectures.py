"""Deprecated: the architectures are `keras_lnn.models.zoo`."""
from keras_lnn._deprecated import moved
from keras_lnn.models.zoo import ARCHITECTURES, EXTENSION_EXPERIMENTS, PAPER_EXPERIMENTS  # noqa: F401

moved(__name__, "keras_lnn.models.zoo")
