"""The layers keras_lnn adds to Keras and ncps, all serializable once `keras_lnn` is imported.

- `SliceWise`: one layer applied to every slice of a volume (`ConvPoolPath`: its
  convolutions and poolings in the form each backend runs fastest).
- `LTC`, `CfC`: ncps's liquid layers with the same weights and function, computed
  sparsely and for the whole sequence at once (faster; export to ONNX and LiteRT).
- `AcrossBatch`: a recurrent layer run along the batch axis, reproducing the paper's
  exp5 baselines as they ran (a diagnostic of a defect, not a baseline).
"""
from keras_lnn.layers.across_batch import AcrossBatch
from keras_lnn.layers.cfc import CfC
from keras_lnn.layers.conv_path import ConvPoolPath
from keras_lnn.layers.common import PACKAGE, FlatMixedMemory
from keras_lnn.layers.ltc import LTC
from keras_lnn.layers.reference import StaleTraceError, reference_computation
from keras_lnn.layers.slicewise import SliceWise

# `.keras` files written before the layers became a package name the mixed-memory cell
# `keras_lnn.layers._FlatMixedMemory`.
_FlatMixedMemory = FlatMixedMemory

__all__ = ["AcrossBatch", "CfC", "ConvPoolPath", "LTC", "PACKAGE", "SliceWise", "StaleTraceError", "reference_computation"]
