"""What `lnn-keras env` prints: the facts a bug report needs, from the package to the MedMNIST files.

Example:

```python
from keras_lnn.system.env import system_report

report = system_report()  # imports Keras and the backend in use (to list its devices), no other backend
report["onednn"]["enabled"], report["backends"]["jax"]["importable"]
```
"""
import importlib.util
import os
import platform
import sys

from keras_lnn import __version__
from keras_lnn.system import allocator, machine, provenance
from keras_lnn.system.provenance import package_version

# The backends Keras 3 can run on: their import name and distribution.
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}

# Measured seconds per training epoch on CPUs without a GPU (AdrenalMNIST3D train split, batch 64, CNNExp1N1
# and LiqExp1N2): the ground for telling a JAX user on a CPU that TensorFlow trains faster.
CPU_SPEED_FACTS = (
    # docs/performance.md, "Every backend on the 2-core CPU", side by side: median of 3 repeats' median steady epochs (s).
    {"machine": "AMD EPYC Zen 4 (AVX-512, 2 cores)", "source": "docs/performance.md, 2026-12-07",
     "jax_s": {"CNNExp1N1": 0.94, "LiqExp1N2": 2.10}, "tensorflow_onednn_s": {"CNNExp1N1": 0.97, "LiqExp1N2": 1.42}},
)


def backends():
    """Each backend: importable (`find_spec`, nothing imported) and its installed version."""
    return {name: {"importable": importlib.util.find_spec(module) is not None, "version": package_version(module)}
            for name, module in BACKENDS.items()}


def devices(backend):
    """The devices the backend in use sees, as `platform:name` strings."""
    if backend == "tensorflow":
        import tensorflow as tf

        return [f"{d.device_type.lower()}:{d.name.split('physical_device:')[-1]}" for d in tf.config.list_physical_devices()]
    if backend == "jax":
        import jax

        return [f"{d.platform}:{d.device_kind}" for d in jax.devices()]
    if backend == "torch":
        import torch

        return ["cpu", *(f"cuda:{torch.cuda.get_device_name(i)}" for i in range(torch.cuda.device_count()))]
    return []


def speed_note(backend, device_list):
    """One line for JAX on a CPU alone: TensorFlow trains faster there, by the measured factor (None otherwise)."""
    if backend != "jax" or any(not d.startswith("cpu") for d in device_list):
        return None
    facts = CPU_SPEED_FACTS[0]
    jax, tensorflow = facts["jax_s"], facts["tensorflow_onednn_s"]
    most = max(jax[name] / tensorflow[name] for name in jax)
    per_model = ", ".join(f"{name} {jax[name]} s against {tensorflow[name]} s" for name in jax)
    return (f"On a CPU alone, KERAS_BACKEND=tensorflow trains some of keras-lnn's models faster than JAX: up to "
            f"{most:.1f}x on an {facts['machine']} ({facts['source']}, median epoch: {per_model}).")


def system_report(data_dir=None):
    """Package and backend versions, devices, CPU, oneDNN, threads, huge pages and the MedMNIST root's files.

    Args:
        data_dir: MedMNIST root (default: `$KERAS_LNN_DATA_DIR` or `~/.medmnist`).

    Returns:
        A JSON-ready dict.
    """
    import keras

    from keras_lnn.data import dataset_table, resolve_data_dir

    backend = keras.backend.backend()
    device_list = devices(backend)
    facts = machine.machine_facts()
    # This process's pages, and whether `lnn-keras run` would start again with them (JAX: keras_lnn.system.allocator).
    facts["huge_pages"]["lnn_keras_run"] = facts["huge_pages"]["enabled"] or (
        allocator.training_environment({**os.environ, "KERAS_BACKEND": backend}) is not None)
    return {
        "keras_lnn": __version__,
        "keras_lnn_source": provenance.source_commit(),
        "keras": keras.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "backend": backend,
        "backends": backends(),
        "devices": device_list,
        **facts,  # cpu, onednn, threads, huge_pages
        "medmnist": {"root": str(resolve_data_dir(data_dir)),
                     "files": [{k: row[k] for k in ("name", "size", "md5_ok", "path")}
                               for row in dataset_table(data_dir) if row["present"]]},
        "note": speed_note(backend, device_list),
    }


def report_rows(report, prefix=""):
    """The report as `(key, value)` rows, nested keys joined by dots, for a table."""
    rows = []
    for key, value in report.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += report_rows(value, f"{name}.")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows += [(f"{name}[{i}]", " ".join(f"{k}={v}" for k, v in item.items())) for i, item in enumerate(value)]
        elif isinstance(value, list):
            rows.append((name, ", ".join(map(str, value)) if value else "-"))
        else:
            rows.append((name, "-" if value is None else str(value)))
    return rows
