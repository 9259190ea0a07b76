"""CPU facts and oneDNN: what the processor offers, and TensorFlow's oneDNN kernels on before TensorFlow loads.

TensorFlow's Linux wheels turn their oneDNN kernels on by default only on CPUs
with neural-network instructions (AVX-512 VNNI or BF16, AVX-VNNI, AMX; on ARM a
Neoverse V1). On other CPUs (an AVX2-only AMD Zen 2, an Intel Skylake) they stay
off and keras-lnn's 3D convolutions train 4-5x slower (docs/performance.md: CNNExp1N1 7.2-7.8 s
per epoch against 1.55-1.76 s). TensorFlow reads `TF_ENABLE_ONEDNN_OPTS` once, when
it loads, so `import keras_lnn` sets it to `1` (`enable_onednn`) unless:

- the user set it (any value, `0` included, wins), or
- TensorFlow is imported already: then this process keeps TensorFlow's default, and a
  warning says so where that default is off (or unknown).

Child processes (`--jobs` workers, an export's TensorFlow process) inherit the
variable; `KERAS_LNN_ONEDNN_SET` tells them keras-lnn set it, not the user.

Example:

```python
import keras_lnn  # first: TF_ENABLE_ONEDNN_OPTS=1 unless you set it
from keras_lnn.system import machine

machine.onednn_status()  # {"enabled": True, "source": "keras_lnn", ...}
```
"""
import functools
import os
import platform
import subprocess
import sys
import warnings

from keras_lnn.system import allocator

ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"
MARK_ENV = "KERAS_LNN_ONEDNN_SET"  # the value keras_lnn set, inherited by child processes

# The vector features that decide how fast the backends' CPU kernels are, in /proc/cpuinfo's spelling.
FEATURES = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni",
            "amx_tile", "amx_int8", "amx_bf16", "neon", "asimd", "sve", "sve2", "bf16", "i8mm")

# TensorFlow's DefaultOneDnnPolicy (tensorflow/core/util/port.cc, 2.13 and later): on Linux, oneDNN is on
# by default on x86 CPUs with one of these features, and on ARM on a Neoverse V1 (implementer 0x41, part 0xd40).
TENSORFLOW_ONEDNN_FEATURES = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")
NEOVERSE_V1 = ("0x41", "0xd40")

# Why oneDNN is on or off, as records write it.
SOURCES = {
    "user": f"{ONEDNN_ENV} set by the user",
    "keras_lnn": f"{ONEDNN_ENV}=1 set by keras_lnn",
    "tensorflow_default": "TensorFlow's default for this CPU",
}

_CHOICE = {}  # this process's choice, made once: {"source": ...}


def _linux_cpu():
    try:
        with open("/proc/cpuinfo") as info:
            text = info.read()
    except OSError:
        return None
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    arm = (fields.get("CPU implementer"), fields.get("CPU part"))
    model = fields.get("model name") or fields.get("Hardware") or fields.get("Model")
    if model is None and arm[0]:
        model = f"ARM implementer {arm[0]} part {arm[1]}"
    return {"model": model, "flags": flags, "arm_part": arm if arm[0] else None}


def _sysctl(name):
    try:
        done = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _macos_cpu():
    flags = " ".join(filter(None, (_sysctl("machdep.cpu.features"), _sysctl("machdep.cpu.leaf7_features"))))
    # macOS spells them AVX2, AVX512F, AVX512VNNI, ...; Apple silicon has NEON (ASIMD) always.
    flags = {f.lower().replace("avx512vnni", "avx512_vnni").replace("sse4.2", "sse4_2") for f in flags.split()}
    if platform.machine() == "arm64":
        flags |= {"neon", "asimd"}
    return {"model": _sysctl("machdep.cpu.brand_string"), "flags": flags, "arm_part": None}


def _usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count()


@functools.lru_cache(maxsize=None)
def cpu_facts():
    """The CPU: model, architecture, cores and the vector features that matter (`FEATURES`).

    Read from /proc/cpuinfo on Linux, `sysctl` on macOS; elsewhere `platform`'s
    model and `features=None` (not known).

    Returns:
        `{"model", "architecture", "cores", "usable_cores", "features", "arm_part"}`.
    """
    system = platform.system()
    found = _linux_cpu() if system == "Linux" else _macos_cpu() if system == "Darwin" else None
    return {
        "model": (found or {}).get("model") or platform.processor() or None,
        "architecture": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": _usable_cores(),
        "features": None if found is None else [f for f in FEATURES if f in found["flags"]],
        "arm_part": None if found is None or found["arm_part"] is None else "/".join(found["arm_part"]),
    }


def tensorflow_default_onednn(cpu=None, system=None):
    """Whether TensorFlow turns oneDNN on by itself on this CPU (None where not known).

    Args:
        cpu: `cpu_facts()` (default: this machine's).
        system: `platform.system()` (default: this machine's).
    """
    cpu = cpu_facts() if cpu is None else cpu
    system = platform.system() if system is None else system
    if system == "Windows":
        return cpu["architecture"].lower() in ("amd64", "x86_64")
    if system != "Linux":
        return False  # macOS wheels are built without oneDNN
    if cpu["features"] is None:
        return None
    if cpu["architecture"] == "aarch64":
        return cpu["arm_part"] == "/".join(NEOVERSE_V1)
    return any(f in cpu["features"] for f in TENSORFLOW_ONEDNN_FEATURES)


def onednn_choice(environ, tensorflow_imported):
    """What `import keras_lnn` does about oneDNN: `(value to set or None, source)`.

    Args:
        environ: the environment (a mapping).
        tensorflow_imported: whether TensorFlow is loaded in this process already.

    Returns:
        `("1", "keras_lnn")` when it sets the variable; `(None, source)` otherwise, source one of `SOURCES`.
    """
    value = environ.get(ONEDNN_ENV)
    if value is not None:
        return None, "keras_lnn" if environ.get(MARK_ENV) == value else "user"
    if tensorflow_imported:
        return None, "tensorflow_default"
    return "1", "keras_lnn"


def enable_onednn():
    """Sets `TF_ENABLE_ONEDNN_OPTS=1` for this process and its children (see the module's rules); idempotent."""
    if _CHOICE:
        return _CHOICE["source"]
    value, source = onednn_choice(os.environ, "tensorflow" in sys.modules)
    if value is not None:
        os.environ[ONEDNN_ENV] = os.environ[MARK_ENV] = value
    _CHOICE["source"] = source
    if source == "tensorflow_default" and tensorflow_default_onednn() is not True:
        warnings.warn(
            "TensorFlow was imported before keras_lnn, so it runs with its own oneDNN default for this CPU "
            "(off or unknown): its convolutions can train 4-5x slower. Import keras_lnn first, or set "
            f"{ONEDNN_ENV}=1 before TensorFlow loads (0 to keep oneDNN off and silence this).",
            RuntimeWarning, stacklevel=3,
        )
    return source


def _parse_setting(value):
    """TensorFlow's ReadBoolFromEnvVar: 0/false and 1/true (any case); anything else leaves the default."""
    return {"0": False, "false": False, "1": True, "true": True}.get((value or "").strip().lower())


def onednn_status():
    """Whether TensorFlow's oneDNN kernels are on in this process, and why.

    Asked of TensorFlow itself when it is loaded (`checked: "tensorflow"`), else
    predicted from the variable and the CPU (`checked: "predicted"`); TensorFlow
    is never imported just to ask.

    Returns:
        `{"enabled", "source", "reason", "setting", "tensorflow_default", "checked"}`.
    """
    # From the variable as it is now (a program may set it after `import keras_lnn`, before TensorFlow loads).
    source = onednn_choice(os.environ, tensorflow_imported=True)[1]
    setting = os.environ.get(ONEDNN_ENV)
    default = tensorflow_default_onednn()
    enabled, checked = _parse_setting(setting), "predicted"
    if enabled is None:
        enabled = default
    if "tensorflow" in sys.modules:
        try:
            from tensorflow.python.util import _pywrap_util_port

            enabled, checked = bool(_pywrap_util_port.IsMklEnabled()), "tensorflow"
        except (ImportError, AttributeError):
            pass
    if setting is not None and _parse_setting(setting) is None:
        source = "tensorflow_default"  # a value TensorFlow ignores, keeping its default
    return {"enabled": enabled, "source": source, "reason": SOURCES[source], "setting": setting,
            "tensorflow_default": default, "checked": checked}


def _env_int(name):
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return None


def thread_counts():
    """The CPU threads of each backend loaded in this process; None for those not loaded (none is imported to ask).

    TensorFlow: `tf.config.threading`'s setting, else `TF_NUM_INTRAOP_THREADS` /
    `TF_NUM_INTEROP_THREADS`, else its default (the usable cores). XLA (JAX): its
    flags; XLA's CPU client sizes its pool itself, so no count unless multithreading
    is off. PyTorch: `torch.get_num_threads()` and `get_num_interop_threads()`.

    Returns:
        `{"tensorflow": {"intra_op", "inter_op"} | None, "xla": {"threads", "xla_flags"} | None,
        "torch": {"intra_op", "inter_op"} | None}`.
    """
    counts = {"tensorflow": None, "xla": None, "torch": None}
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        threading = tf.config.threading
        counts["tensorflow"] = {
            "intra_op": threading.get_intra_op_parallelism_threads() or _env_int("TF_NUM_INTRAOP_THREADS")
            or _usable_cores(),
            "inter_op": threading.get_inter_op_parallelism_threads() or _env_int("TF_NUM_INTEROP_THREADS")
            or _usable_cores(),
        }
    keras = sys.modules.get("keras")
    backend = keras.backend.backend() if hasattr(keras, "backend") else None
    if "jax" in sys.modules and backend in (None, "jax"):  # Keras loads JAX for its utilities on other backends too
        flags = os.environ.get("XLA_FLAGS", "")
        single = "--xla_cpu_multi_thread_eigen=false" in flags.split()
        counts["xla"] = {"threads": 1 if single else None, "xla_flags": flags or None}
    if "torch" in sys.modules:
        import torch

        counts["torch"] = {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}
    return counts


# The variables by which a user sets a backend's CPU threads: where one is set, `worker_threads` leaves them be.
THREAD_VARIABLES = {"tensorflow": ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"),
                    "torch": ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def worker_threads(jobs, backend, environ=None, cores=None):
    """The `(intra_op, inter_op)` CPU threads for each of `jobs` worker processes training on a CPU.

    The usable cores divided among the workers, and one inter-op thread each. Left alone, every
    worker would take every core and the workers would crowd each other out; divided, two
    single-threaded workers on a 2-core CPU train 25-35% more epochs per minute than one
    TensorFlow process with both cores, because a small model's kernels do not keep two threads
    busy (docs/performance.md, "A grid on a CPU"). With one thread, TensorFlow's CPU kernels are
    also deterministic to the last bit. For TensorFlow (`tf.config.threading`) and PyTorch
    (`torch.set_num_threads`); XLA's CPU client (JAX) sizes its pool itself.

    Args:
        jobs: worker processes training at once.
        backend: the Keras backend.
        environ: the environment (default `os.environ`): where a variable of `THREAD_VARIABLES` for
            the backend is set, the user's setting stands and this returns None.
        cores: the usable cores (default: this process's CPU affinity).

    Returns:
        `(intra_op, inter_op)`, or None (one worker, JAX, or the user's own setting).

    Example:

    >>> worker_threads(2, "tensorflow", environ={}, cores=2), worker_threads(3, "torch", environ={}, cores=16)
    ((1, 1), (5, 1))
    >>> worker_threads(2, "torch", environ={"OMP_NUM_THREADS": "2"}, cores=2) is None
    True
    """
    environ = os.environ if environ is None else environ
    variables = THREAD_VARIABLES.get(backend)
    if jobs < 2 or variables is None or any(name in environ for name in variables):
        return None
    return max(1, (cores or _usable_cores()) // jobs), 1


def machine_facts():
    """CPU, oneDNN, threads and huge pages, as records hold them (`provenance.environment()`, benchmark records)."""
    cpu = cpu_facts()
    return {
        "cpu": {k: cpu[k] for k in ("model", "architecture", "cores", "usable_cores", "features")},
        "onednn": onednn_status(),
        "threads": thread_counts(),
        "huge_pages": allocator.huge_pages_status(),
    }
