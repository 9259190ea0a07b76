"""What produced a result: package versions, backend, device and machine, recorded in every metrics file.

The machine part (`keras_lnn.system.machine.machine_facts`): the CPU model and its vector
features, whether TensorFlow's oneDNN kernels were on and why, and the threads of
the backends loaded in the process.
"""
import functools
import importlib.metadata
import pathlib
import platform
import subprocess
import sys

from keras_lnn.system import machine

_BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def package_version(distribution):
    """The installed version of `distribution`, or None where it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


_version = package_version


@functools.lru_cache(maxsize=None)
def source_commit():
    """The git commit of the source tree keras_lnn runs from (`git describe --always --dirty`), else None.

    None where the package is not inside a git checkout (an installed wheel) or git is missing: the
    version then names the code. A `-dirty` suffix says the checkout had uncommitted changes.

    >>> source_commit() is None or len(source_commit()) >= 7
    True
    """
    package_dir = pathlib.Path(__file__).resolve().parents[1]  # keras_lnn/, above keras_lnn/system/
    try:
        described = subprocess.run(
            ["git", "-C", str(package_dir), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=10, check=True)
        top = subprocess.run(["git", "-C", str(package_dir), "rev-parse", "--show-toplevel"],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    if not (package_dir.parent / ".git").exists() or pathlib.Path(top.stdout.strip()) != package_dir.parent:
        return None  # a checkout of something else that happens to hold an installed keras_lnn
    return described.stdout.strip() or None


def device_name():
    """A short description of the accelerator Keras's backend computes on ("cpu" when none)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else f"{device.platform}:{device.device_kind}"
    if backend == "torch":
        import torch

        return f"cuda:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu:{gpus[0].name}" if gpus else "cpu"
    return "unknown"


def environment():
    """Versions and machine facts, as a JSON-ready dict."""
    import keras

    from keras_lnn import __version__, training

    backend = keras.backend.backend()
    return {
        # The package's own version, also when it runs from a source tree that was never installed.
        "keras_lnn": __version__,
        "keras_lnn_source": source_commit(),  # the git commit, where it runs from a checkout
        "keras": keras.__version__,
        "backend": backend,
        "backend_version": _version(_BACKEND_PACKAGES.get(backend, backend)),
        "ncps": _version("ncps"),
        "numpy": _version("numpy"),
        "scikit_learn": _version("scikit-learn"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "device": device_name(),
        "deterministic_ops": training.deterministic_ops(),
        **machine.machine_facts(),  # cpu, onednn, threads
    }
