"""Classifying new volumes with a trained model, from any of its deployable files.

Volumes come as a `.npy` or a MedMNIST-layout `.npz`, or as scans (a NIfTI, NRRD or MetaImage file, a
DICOM folder, or a CSV of them) prepared by the recipe of the data the model was trained on
(`keras_lnn.data.scans`).

Example:

```python
from keras_lnn.deploy.predict import predict

result = predict("saved_models/exp1_adrenal/LiqExp1N2", "scans.npy", fmt="onnx")
result.rows[0]   # {'index': 0, 'probability': 0.83, 'predicted': 1}
predict("saved_models/exp1_adrenal/LiqExp1N2", "scans.npy", fmt="litert", tta=True).rows[0]
# {'index': 0, 'probability': 0.83, 'predicted': 1, 'probability_tta': 0.81, 'predicted_tta': 1}
```
"""
import dataclasses
import json
from pathlib import Path

import numpy as np

from keras_lnn import load_model
from keras_lnn.deploy.export import ARTIFACTS, INPUT_NAME, OUTPUT_NAME
from keras_lnn.deploy.tta import tta_probabilities
from keras_lnn.errors import DataError, KerasLnnError
from keras_lnn.evaluation import basic_metrics

FORMATS = ("keras", *ARTIFACTS)
BATCH_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Prediction:
    """What `predict` returns.

    Args:
        rows: one dict per volume: index, probability (binary) or probability_k
            (one per class), predicted label, with test-time augmentation the same again with
            the suffix `_tta` (probabilities averaged over the volume's 8 flips), and label
            where the input has labels.
        columns: the rows' keys, in order.
        metrics: ACC, AUC and loss where the input has labels (`keras_lnn.evaluation.basic_metrics`), else None.
        metrics_tta: the same of the test-time augmented probabilities (None without them).
    """

    rows: list
    columns: list
    metrics: dict = None
    metrics_tta: dict = None


def read_volumes(path, split="test"):
    """Volumes `(N, S, S, S, 1)` float32 (raw 0-255) and labels (or None) from a `.npy` or `.npz`.

    Args:
        path: a `.npy` of volumes `(N, S, S, S)` or `(N, S, S, S, 1)`, or a
            MedMNIST-layout `.npz` (`<split>_images`, `<split>_labels`).
        split: the `.npz` split to read.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    labels = None
    try:
        if path.suffix == ".npz":
            with np.load(path) as archive:
                key = f"{split}_images"
                if key not in archive.files:
                    raise DataError(f"{path}: no {key!r} array (it has {', '.join(archive.files)}); "
                                    "a MedMNIST-layout file holds <split>_images and <split>_labels")
                volumes = archive[key]
                if f"{split}_labels" in archive.files:
                    labels = archive[f"{split}_labels"].reshape(len(volumes), -1)[:, 0]
        else:
            volumes = np.load(path, allow_pickle=False)
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"{path}: not a readable .npy or .npz file ({type(error).__name__}: {error})") from None
    if not np.issubdtype(volumes.dtype, np.number):
        raise DataError(f"{path}: volumes of dtype {volumes.dtype}; expected numbers (raw 0-255 values)")
    if volumes.ndim == 4:
        volumes = volumes[..., None]
    if volumes.size and (volumes.min() < 0 or volumes.max() > 255):
        raise DataError(f"{path}: values from {volumes.min()} to {volumes.max()}; the models take raw 0-255 values")
    return volumes.astype("float32"), labels


def read_input(model_dir, input_path, split="test"):
    """`(volumes, labels, sources)` of `input_path`: `read_volumes`' for a `.npy`/`.npz` (sources None);
    for scans, the cubes that the recipe of the model's data file (its metrics.json `data`) makes of them.
    """
    from keras_lnn.data.scans import is_scan_input, scans_for_data

    if not is_scan_input(input_path):
        return (*read_volumes(input_path, split), None)
    metrics = Path(model_dir) / "metrics.json"
    data = (json.loads(metrics.read_text()).get("data") or {}) if metrics.is_file() else {}
    if not data.get("path"):
        raise DataError(f"{input_path}: scans are prepared as the model's training data was, and {metrics} names "
                        "no data file (a model trained on a file of `lnn-keras prepare`)")
    scans = scans_for_data(input_path, data["path"], data.get("md5"))
    return scans.volumes[..., None].astype("float32"), scans.labels, scans.sources


def check_shape(volumes, size, path, model_dir):
    """Refuses volumes that do not fit a model of `size`^3 inputs, naming the expected shape."""
    expected = (size, size, size, 1)
    if volumes.ndim != 5 or volumes.shape[1:] != expected:
        shown = volumes.shape if volumes.ndim != 5 or volumes.shape[-1] != 1 else volumes.shape[:-1]
        raise DataError(f"{path}: volumes of shape {tuple(shown)} do not fit {model_dir} "
                        f"(expected (N, {size}, {size}, {size}) or (N, {size}, {size}, {size}, 1))")


def load_predictor(model_dir, fmt="keras"):
    """A function `volumes (N, S, S, S, 1) -> probabilities (N, k)` running one of the model's files.

    Args:
        model_dir: a model folder of a run (`model.keras`, `1/`, `model.onnx`, `model.tflite`).
        fmt: `keras` (the current Keras backend), `saved_model` (TensorFlow),
            `onnx` (onnxruntime) or `litert` (ai-edge-litert's interpreter).

    Returns:
        `(predict, size)`: the function and the model's volume edge length S.
    """
    model_dir = Path(model_dir)
    if fmt not in FORMATS:
        raise KerasLnnError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    artifact = model_dir / ("model.keras" if fmt == "keras" else ARTIFACTS[fmt])
    if not artifact.exists():
        hint = "train it with `lnn-keras run`" if fmt == "keras" else f"write it with `lnn-keras export RUN_DIR --format {fmt}`"
        raise KerasLnnError(f"{artifact}: not found; {hint}")
    return _LOADERS[fmt](artifact)


def _keras(artifact):
    model = load_model(artifact, compile=False)
    return (lambda volumes: np.asarray(model.predict(volumes, batch_size=BATCH_SIZE, verbose=0))), model.input_shape[1]


def _saved_model(artifact):
    import tensorflow as tf

    serve = tf.saved_model.load(str(artifact)).signatures["serving_default"]
    size = serve.structured_input_signature[1][INPUT_NAME].shape[1]
    return (lambda volumes: serve(**{INPUT_NAME: tf.constant(volumes)})[OUTPUT_NAME].numpy()), size


def _onnx(artifact):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(artifact), providers=["CPUExecutionProvider"])
    [volume_input] = session.get_inputs()
    return (lambda volumes: session.run(None, {volume_input.name: volumes})[0]), volume_input.shape[1]


def _litert(artifact):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(artifact))
    [volume_input] = interpreter.get_input_details()
    output_index = interpreter.get_output_details()[0]["index"]

    def run(volumes):
        interpreter.resize_tensor_input(volume_input["index"], volumes.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(volume_input["index"], volumes)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    return run, int(volume_input["shape"][1])


_LOADERS = {"keras": _keras, "saved_model": _saved_model, "onnx": _onnx, "litert": _litert}


def predict(model_dir, input_path, split="test", fmt="keras", tta=False):
    """Classifies the volumes of `input_path` with the model of `model_dir`.

    Args:
        model_dir: a model folder of a run.
        input_path: a `.npy` of volumes or a MedMNIST-layout `.npz` (see `read_volumes`), or scans: a
            NIfTI/NRRD/MetaImage file, a DICOM folder or a CSV with an `image` column (see `read_input`).
        split: the `.npz` split to classify (its labels give ACC and AUC).
        fmt: which of the model's files runs it (see `load_predictor`).
        tta: also the probabilities averaged over the 8 flips of each volume
            (`keras_lnn.deploy.tta.tta_probabilities`, the same function `lnn-keras run --tta` evaluates with).

    Returns:
        A `Prediction`.
    """
    volumes, labels, sources = read_input(model_dir, input_path, split)
    run, size = load_predictor(model_dir, fmt)
    check_shape(volumes, size, input_path, model_dir)
    outputs = {"": _batched(run, volumes)}
    if tta:
        outputs["_tta"] = tta_probabilities(run, volumes, BATCH_SIZE) if len(volumes) else outputs[""]
    n_classes = outputs[""].shape[1]
    names = ["probability"] if n_classes == 1 else [f"probability_{k}" for k in range(n_classes)]
    columns = ["index"] + ["source"] * (sources is not None)
    columns += [f"{name}{suffix}" for suffix in outputs for name in [*names, "predicted"]]
    columns += ["label"] if labels is not None else []
    rows = []
    for index in range(len(volumes)):
        row = {"index": index, **({"source": sources[index]} if sources is not None else {})}
        for suffix, probabilities in outputs.items():
            row.update({f"{name}{suffix}": float(p) for name, p in zip(names, probabilities[index])})
            row[f"predicted{suffix}"] = _predicted(probabilities[index])
        if labels is not None:
            row["label"] = int(labels[index])
        rows.append(row)
    metrics = {}
    if labels is not None and len(labels):
        metrics = {suffix: basic_metrics(labels, probabilities.astype("float32"))
                   for suffix, probabilities in outputs.items()}
    return Prediction(rows, columns, metrics.get(""), metrics.get("_tta"))


def _batched(run, volumes):
    """`run`'s probabilities of `volumes`, BATCH_SIZE at a time, as float64."""
    if not len(volumes):
        return np.zeros((0, 1))
    return np.concatenate([np.asarray(run(volumes[i: i + BATCH_SIZE]), "float64")
                           for i in range(0, len(volumes), BATCH_SIZE)])


def _predicted(probabilities):
    """The predicted label of one volume's probabilities (binary: p > 0.5; else the argmax)."""
    return int(probabilities[0] > 0.5) if len(probabilities) == 1 else int(np.argmax(probabilities))
