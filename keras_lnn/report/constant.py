"""The constant predictor: the test ACC a model reaches by always answering the same class.

On these imbalanced splits an ACC near it is no evidence of learning, so every
Table 2 of the report shows it as a last row.
"""
from keras_lnn.errors import KerasLnnError

# The paper's own statement, used only when neither metrics.json nor the data file gives the value.
PAPER_CONSTANT_ACC = {"adrenal": 0.77, "vessel": 0.89}


def _load_test_labels(dataset, size, data_dir, data_md5s):
    """The test labels of the file the runs used, or `(None, why not)`.

    The file must be the one the runs were trained on (same MD5): a default data
    folder may hold the official file while the runs used a custom one.
    """
    from keras_lnn.data import dataset_path, load_dataset

    path = dataset_path(dataset, size, data_dir)
    if not path.is_file():
        return None, f"data file not found at {path}"
    data = load_dataset(dataset, size=size, data_dir=data_dir, verify=False, dtype="uint8")  # uint8: no copy
    if data_md5s and data.md5 not in data_md5s:
        return None, f"{path} is not the file the runs used (MD5 {data.md5})"
    return data.test[1].ravel(), f"computed from the test labels of {path}"


def constant_predictor_acc(results, data_dir=None):
    """Test ACC of the constant predictor of one dataset, and where the number comes from.

    Binary datasets: "always negative" (always class 0); multi-class ones: always
    the majority class. Sources, in order: `test_majority_acc` recorded in a
    metrics file; the test labels of the data file (see `_load_test_labels`); the
    approximate values stated in ARCHITECTURES.md (Adrenal, Vessel).

    Args:
        results: the `ModelResults` of one dataset and size.
        data_dir: MedMNIST root (None: the default one).

    Returns:
        `(acc or None, source text)`.
    """
    import numpy as np

    runs = [m for r in results for m in r.runs]
    recorded = [m["test_majority_acc"] for m in runs if m.get("test_majority_acc") is not None]
    if recorded:
        return float(recorded[0]), "recorded in metrics.json"
    dataset, size, n_classes = results[0].dataset, results[0].size, results[0].n_classes
    md5s = {m.get("data_md5") for m in runs} - {None}
    try:
        labels, source = _load_test_labels(dataset, size, data_dir, md5s)
    except KerasLnnError as error:  # a corrupt file should not stop the report
        labels, source = None, str(error)
    if labels is not None and len(labels):
        counts = np.bincount(labels.astype(np.int64))
        return float((counts[0] if n_classes == 2 else counts.max()) / len(labels)), source
    if n_classes == 2 and dataset in PAPER_CONSTANT_ACC and size == 28:
        return PAPER_CONSTANT_ACC[dataset], f"approx., from ARCHITECTURES.md ({source})"
    return None, f"unknown ({source}; pass --data-dir)"
