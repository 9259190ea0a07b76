"""Deprecated: the building blocks are `keras_lnn.models.blocks` (`Ltc` is `LiquidLayer`)."""
from keras_lnn._deprecated import moved
from keras_lnn.models.blocks import *  # noqa: F401,F403
from keras_lnn.models.blocks import LiquidLayer, resolve_units  # noqa: F401

Ltc = LiquidLayer  # the old name: the spec builds CfC layers too
moved(__name__, "keras_lnn.models.blocks")
