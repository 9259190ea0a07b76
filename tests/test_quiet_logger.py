"""Quiet backends also quiet TensorFlow's Python logger (its tf.function retracing warnings); errors and --verbose still show."""
import os
import subprocess
import sys

import pytest

# Retracing a tf.function with new shapes and Python values: TensorFlow warns through its Python logger
# ("WARNING:tensorflow:5 out of the last 5 calls to <function f ...> triggered tf.function retracing").
RETRACING = """
import keras_lnn, tensorflow as tf
@tf.function
def f(x):
    return x * 2
for i in range(7):
    f(tf.constant([float(i)] * (i + 1)))
    f(float(i))
tf.get_logger().error("an error still shows")
"""


@pytest.mark.parametrize("log, shown", [("0", False), ("1", True)])
def test_retracing_warnings_follow_the_quiet(log, shown):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(KERAS_BACKEND="tensorflow", KERAS_LNN_LOG=log)  # what `lnn-keras --quiet` / `--verbose` pass on
    done = subprocess.run([sys.executable, "-c", RETRACING], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert ("triggered tf.function retracing" in done.stderr) is shown, done.stderr[-3000:]
    assert "an error still shows" in done.stderr


def test_a_level_the_user_set_wins(monkeypatch):
    import logging

    from keras_lnn.system import logs

    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(logger, "level", logging.INFO)
    logs.quiet_backends()
    assert logger.level == logging.INFO
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    logs.quiet_backends()
    assert logger.level == logging.ERROR
