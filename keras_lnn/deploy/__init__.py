"""Deployment: a trained model's files written for serving, and run on new volumes from any of them.

The modules:

    export    SavedModel (TF Serving), ONNX and LiteRT files of a run's models, and Serving's config
    predict   volumes of a file classified by one of a model's files (`lnn-keras predict`)
    tta       test-time augmentation: a predictor's probabilities averaged over 8 flips, on numpy

Nothing here trains; `predict` loads Keras only for the `keras` format.

Example:

```python
from keras_lnn.deploy import export_run, load_predictor
export_run("saved_models/exp1_adrenal", formats=("onnx",))
run, size = load_predictor("saved_models/exp1_adrenal/LiqExp1N2", "onnx")
```
"""
from keras_lnn.deploy.export import ARTIFACTS, export_model, export_run, write_models_config
from keras_lnn.deploy.predict import Prediction, load_predictor, read_volumes
from keras_lnn.deploy.tta import TTA_VIEWS, tta_probabilities, tta_views

__all__ = [
    "ARTIFACTS", "TTA_VIEWS", "Prediction", "export_model", "export_run", "load_predictor", "read_volumes",
    "tta_probabilities", "tta_views", "write_models_config",
]
