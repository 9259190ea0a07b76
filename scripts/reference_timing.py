"""The paper's own PyTorch training timed by its bench_reference.py, as a scripts/benchmark.py record.

    python scripts/benchmark.py --models CNNExp1N1,LiqExp1N2 --dataset adrenal --data-dir ../shared/medmnist \\
        --reference ../shared/paper/reference_code

The paper's code needs loguru and torcheval (`pip install --target /tmp/refdeps loguru torcheval`, then
`PYTHONPATH=/tmp/refdeps:$PWD`). Each call runs one model in a fresh process on the same
MedMNIST file keras-lnn trains on; the record has the keys of a keras-lnn one, with
`implementation: "paper-pytorch"` and `steady_epochs_s: null` (the script prints only the median of
its steady epochs).
"""
import json
import os
import subprocess
import sys


def time_reference(folder, name, dataset, data_dir, epochs):
    """Times keras-lnn model `name`'s counterpart in the paper's code (`MNIST3d<name>`) for `epochs` epochs.

    Args:
        folder: the paper's code, holding bench_reference.py and src/.
        name: a keras-lnn model name, e.g. CNNExp1N1.
        dataset, data_dir: the MedMNIST file, as for keras-lnn (28-pixel volumes).
        epochs: epochs to train (the first is reported apart).

    Returns:
        A record like `benchmark.time_model`'s, with the machine's facts and PyTorch's threads.
    """
    from keras_lnn.data import dataset_path
    from keras_lnn.system.machine import machine_facts

    script = os.path.join(folder, "bench_reference.py")
    if not os.path.isfile(script):
        raise SystemExit(f"--reference: no bench_reference.py in {folder}")
    npz = dataset_path(dataset, 28, data_dir)
    command = [sys.executable, script, str(npz), "--models", f"MNIST3d{name}", "--epochs", str(epochs)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"the paper's code failed on {name} (exit status {done.returncode}): {' '.join(command)}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    facts = machine_facts()
    return {
        "model": name,
        "implementation": "paper-pytorch",
        "layer_only": False,
        "backend": f"torch {out['torch']} (the paper's code)",
        "device": "cpu",
        "first_epoch_s": out["first_epoch_s"],
        "steady_epoch_s": out["steady_epoch_s"],
        "steady_epochs_s": None,
        "epochs": epochs,
        "samples": None,
        "deterministic_ops": None,
        "final_loss": None,
        "weights_md5": None,
        **facts,
        "onednn": None,  # TensorFlow's setting; PyTorch runs its own oneDNN kernels regardless
        "threads": {"tensorflow": None, "xla": None, "torch": {"intra_op": out["threads"], "inter_op": None}},
        "threads_setting": None,
        "xla_flags_setting": None,
        "onednn_setting": None,
        "huge_pages_setting": None,
    }
