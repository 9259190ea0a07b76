"""MedMNIST's own result files, as `medmnist.Evaluator.evaluate(y_score, save_folder, run)` writes them.

`{flag}{size_flag}_{split}_[AUC]{auc:.3f}_[ACC]{acc:.3f}@{run}.csv` (`size_flag` "" for 28,
"_64" for 64), a row `index,score...` per volume without a header, as `pandas.DataFrame(y_score)
.to_csv(header=None)` lays it out. `python -m medmnist evaluate FILE` (medmnist's
`Evaluator.parse_and_evaluate`) reads one back against the official labels and reproduces the
numbers in its name. A binary model's score is its one probability of class 1 (MedMNIST's
evaluator takes the last column). `run` is `{model}_seed{seed}`: it has no "." (medmnist cuts the
run at the first one).

Example:

>>> result_filename("adrenalmnist3d", 64, "test", auc=0.8512, acc=0.9003, run="CNNExp1N4_seed0")
'adrenalmnist3d_64_test_[AUC]0.851_[ACC]0.900@CNNExp1N4_seed0.csv'
"""
import numpy as np

from keras_lnn.io import atomic_replace_dir

FOLDER = "medmnist"


def size_flag(size):
    """MedMNIST's file-name suffix of a volume size: "" for 28, "_64" for 64."""
    return "" if size in (None, 28) else f"_{size}"


def run_label(model, seed):
    """The `@{run}` part: `{model}_seed{seed}`."""
    return f"{model}_seed{seed}"


def result_filename(flag, size, split, auc, acc, run):
    """MedMNIST's standard evaluation file name (`Evaluator.get_standard_evaluation_filename`)."""
    return f"{flag}{size_flag(size)}_{split}_[AUC]{auc:.3f}_[ACC]{acc:.3f}@{run}.csv"


def result_csv(probabilities):
    """The file's text: `index,score...` per row, no header, floats in their shortest round-trip form."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities[:, None] if probabilities.ndim == 1 else probabilities
    return "".join(f"{i}," + ",".join(repr(float(v)) for v in row) + "\n" for i, row in enumerate(probabilities))


def write_result_files(model_dir, flag, size, run, splits, records):
    """Replaces `<model_dir>/medmnist/` with one result file per split whose AUC is defined.

    Args:
        flag: the dataset's medmnist flag (`adrenalmnist3d`).
        size: 28 or 64.
        run: the `@{run}` part (`run_label`).
        splits: `{split: (labels, probabilities)}`.
        records: `{split: split record}` (their `acc` and `auc` name the files).

    Returns:
        The file names written (a split without an AUC has none: MedMNIST's evaluator cannot score it).
    """
    names = {split: result_filename(flag, size, split, records[split]["auc"], records[split]["acc"], run)
             for split in splits if records[split]["auc"] is not None}

    def build(folder):
        folder.mkdir(parents=True)
        for split, name in names.items():
            (folder / name).write_text(result_csv(splits[split][1]))

    atomic_replace_dir(build, model_dir / FOLDER)
    return sorted(names.values())
