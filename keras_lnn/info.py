"""Deprecated: MedMNIST's facts are `keras_lnn.data.info`."""
from keras_lnn._deprecated import moved
from keras_lnn.data.info import *  # noqa: F401,F403
from keras_lnn.data.info import _INFO  # noqa: F401

moved(__name__, "keras_lnn.data.info")
