"""`python -m keras_lnn.cli`: the `lnn-keras` command."""
from keras_lnn.cli import launch

launch()
