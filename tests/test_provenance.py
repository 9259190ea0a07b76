"""What every metrics file records about the software and machine that produced it."""
import keras

import keras_lnn
from keras_lnn.system import provenance


def test_environment_names_package_backend_and_device():
    env = provenance.environment()
    assert env["keras_lnn"] == keras_lnn.__version__  # also from a source tree on PYTHONPATH, never installed
    assert env["keras"] == keras.__version__
    assert env["backend"] == keras.backend.backend() == "tensorflow"
    assert env["backend_version"] and env["ncps"] and env["numpy"] and env["scikit_learn"]
    assert env["device"] == "cpu" or env["device"].startswith("gpu:")


def test_source_commit_names_the_checkout_and_is_none_outside_one(tmp_path):
    import pathlib
    import shutil
    import subprocess

    root = pathlib.Path(keras_lnn.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        import pytest

        pytest.skip("keras_lnn does not run from a git checkout here")
    expected = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
                              capture_output=True, text=True, check=True).stdout.strip()
    assert provenance.source_commit() == expected
    assert provenance.environment()["keras_lnn_source"] == expected
    # The same package copied out of any checkout names no commit: its version names the code.
    copy = tmp_path / "keras_lnn"
    shutil.copytree(root / "keras_lnn", copy, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run(
        [__import__("sys").executable, "-c",
         "import keras_lnn.system.provenance as p; print(p.source_commit())"],
        cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "None", out.stderr
