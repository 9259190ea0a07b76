"""What every metrics file records about the software and machine that produced it."""
import keras

import keras_lnn
from keras_lnn import provenance


def test_environment_names_package_backend_and_device():
    env = provenance.environment()
    assert env["keras_lnn"] == keras_lnn.__version__  # also from a source tree on PYTHONPATH, never installed
    assert env["keras"] == keras.__version__
    assert env["backend"] == keras.backend.backend() == "tensorflow"
    assert env["backend_version"] and env["ncps"] and env["numpy"] and env["scikit_learn"]
    assert env["device"] == "cpu" or env["device"].startswith("gpu:")
