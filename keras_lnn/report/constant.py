"""The constant predictor: the test ACC a model reaches by always answering the test split's majority class.

On these imbalanced splits an ACC near it is no evidence of learning, so every
Table 2 of the report shows it as a last row. The majority is the test split's own
(ties to the lower class): on a user's dataset it may be class 1.
"""
import numpy as np

from keras_lnn.data import dataset_path, load_dataset
from keras_lnn.errors import KerasLnnError
from keras_lnn.report.collect import read_test_labels

# The paper's own statement ("always negative": class 0 is the majority there), used only when neither
# metrics.json, predictions.csv nor the data file gives the value.
PAPER_CONSTANT_ACC = {"adrenal": 0.77, "vessel": 0.89}


def _load_test_labels(dataset, size, data_dir, data_md5s):
    """The test labels of the file the runs used, or `(None, why not)`.

    The file must be the one the runs were trained on (same MD5): a default data
    folder may hold the official file while the runs used a custom one.
    """
    path = dataset_path(dataset, size, data_dir)
    if not path.is_file():
        return None, f"data file not found at {path}"
    data = load_dataset(dataset, size=size, data_dir=data_dir, verify=False, dtype="uint8")  # uint8: no copy
    if data_md5s and data.md5 not in data_md5s:
        return None, f"{path} is not the file the runs used (MD5 {data.md5})"
    return data.test[1].ravel(), f"computed from the test labels of {path}"


def _majority(labels):
    """`(class, share)` of the most frequent label, ties to the lower class."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64).ravel())
    return int(counts.argmax()), float(counts.max() / counts.sum())


def constant_predictor(results, data_dir=None):
    """The test split's majority class, its share (the constant predictor's test ACC), and where they come from.

    Sources, in order: `test_majority` recorded in a metrics file; the test labels of the
    data file the runs used (see `_load_test_labels`); the test labels in a run's
    predictions.csv; v1's `test_majority_acc` (the share only, the class unknown); the
    approximate values the paper states (docs/architectures.md, "Dataset facts"; Adrenal, Vessel: class 0).

    Args:
        results: the `ModelResults` of one dataset and size.
        data_dir: MedMNIST root (None: the default one).

    Returns:
        `(class or None, acc or None, source text)`.

    Example:

    ```python
    constant_predictor(results_of_one_dataset, "../shared/medmnist")
    # (0, 0.8639, 'recorded in metrics.json')
    ```
    """
    runs = [m for r in results for m in r.runs]
    recorded = next((m["test_majority"] for m in runs if isinstance(m.get("test_majority"), dict)), None)
    if recorded and recorded.get("acc") is not None:
        return recorded.get("class"), float(recorded["acc"]), "recorded in metrics.json"
    dataset, size, n_classes = results[0].dataset, results[0].size, results[0].n_classes
    md5s = {m.get("data_md5") for m in runs} - {None}
    try:
        labels, source = _load_test_labels(dataset, size, data_dir, md5s)
    except KerasLnnError as error:  # a corrupt file should not stop the report
        labels, source = None, str(error)
    if labels is not None and len(labels):
        return (*_majority(labels), source)

    for m in runs:
        predicted = read_test_labels(m)
        if predicted:
            where = m["_path"].parent / "predictions.csv"
            return (*_majority(predicted), f"computed from the test labels in `{where}`")
    shares = [m["test_majority_acc"] for m in runs if m.get("test_majority_acc") is not None]
    if shares:
        return None, float(shares[0]), "recorded in metrics.json"
    if n_classes == 2 and dataset in PAPER_CONSTANT_ACC and size == 28:
        return 0, PAPER_CONSTANT_ACC[dataset], f"approx., as the paper states (docs/architectures.md) ({source})"
    return None, None, f"unknown ({source}; pass --data-dir)"


def constant_predictor_acc(results, data_dir=None):
    """`(acc or None, source text)` of `constant_predictor`: the test ACC of always answering the majority class."""
    _, acc, source = constant_predictor(results, data_dir)
    return acc, source


def constant_name(majority_class):
    """The constant predictor's row name: "always class 1, the test majority (constant)"."""
    if majority_class is None:
        return "always the test majority class (constant)"
    return f"always class {majority_class}, the test majority (constant)"
