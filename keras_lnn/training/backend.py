"""Backend settings for repeated training: JAX's compilation cache, deterministic kernels, and whether they are on."""
import os
import warnings

import keras


def configure_backend(cache_dir=None, deterministic=True):
    """Backend settings for fast, reproducible repeated training; call before the first model is built.

    On JAX: the persistent compilation cache (`~/.cache/keras_lnn/jax` unless
    `JAX_COMPILATION_CACHE_DIR` is set), so an architecture compiled once is not
    compiled again for the next seed, dataset or process; and no GPU memory
    preallocation, so several training processes can share one GPU.

    Args:
        cache_dir: JAX's persistent compilation cache folder.
        deterministic: deterministic kernels, so a seed gives the same weights on a GPU
            run after run. Without it, XLA's autotuning picks cuDNN kernels by timing, which
            varies with the load on the GPU, and some kernels sum in varying order, so the
            same seed can stop at another epoch (measured in docs/performance.md). On a CPU,
            JAX and PyTorch are deterministic either way; TensorFlow's multithreaded CPU kernels
            are not even with it (its last bits vary unless it runs on one thread).
    """
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    backend = keras.backend.backend()
    if deterministic:
        _enable_determinism(backend)
    if backend != "jax":
        return
    import jax

    cache_dir = cache_dir or os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.expanduser("~/.cache/keras_lnn/jax")
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


_XLA_DETERMINISTIC = "--xla_gpu_deterministic_ops=true"


def _enable_determinism(backend):
    if backend == "jax":
        # XLA reads its flags when JAX starts its backend; the flag also turns autotuning off (its
        # timings vary run to run, and with them the kernels it picks).
        flags = os.environ.get("XLA_FLAGS", "")
        if _XLA_DETERMINISTIC in flags.split():
            return
        if _jax_started():
            warnings.warn(
                "JAX already computed, so its kernels stay as they are: set "
                f"XLA_FLAGS={_XLA_DETERMINISTIC} before the first JAX computation for deterministic GPU runs",
                stacklevel=3,
            )
            return
        os.environ["XLA_FLAGS"] = f"{flags} {_XLA_DETERMINISTIC}".strip()
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif backend == "torch":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's condition for deterministic GEMMs
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode also fills every new tensor (NaN), a guard against kernels that read memory
        # they never wrote; none here does (the same weights to the last bit with or without it), and
        # the fill took a quarter of a CNN's training time on a CPU.
        torch.utils.deterministic.fill_uninitialized_memory = False


def _jax_started():
    try:
        from jax._src import xla_bridge  # no public name for this question
    except ImportError:
        return False
    return bool(getattr(xla_bridge, "backends_are_initialized", lambda: False)())


def deterministic_ops():
    """Whether the backend runs deterministic kernels (see `configure_backend`), for provenance."""
    backend = keras.backend.backend()
    if backend == "jax":
        return _XLA_DETERMINISTIC in os.environ.get("XLA_FLAGS", "").split()
    if backend == "tensorflow":
        from tensorflow.python.framework import config  # the query has no public name yet

        return bool(config.is_op_determinism_enabled())
    if backend == "torch":
        import torch

        return torch.are_deterministic_algorithms_enabled()
    return False
