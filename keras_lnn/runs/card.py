"""MODEL_CARD.md: what a finished model is, what it was trained and tested on, how well, and what it is not for.

Written from metrics.json (version 2) alone, by `lnn-keras run` and `lnn-keras evaluate`.

Example:

```python
from keras_lnn.runs.artifacts import read_metrics

text = model_card(read_metrics("saved_models/exp1_adrenal/CNNExp1N4"))
text.splitlines()[0]   # '# CNNExp1N4 on AdrenalMNIST3D (28³, seed 0): model card'
```
"""
from pathlib import Path

from keras_lnn.errors import KerasLnnError
from keras_lnn.io import atomic_write_text
from keras_lnn.models.registry import get_architecture
from keras_lnn.settings import Protocol, TrainingOptions

FILE = "MODEL_CARD.md"
INTENDED_USE = (
    "Research only: reproducing and extending the paper's comparison of Liquid Time-Constant networks "
    "with CNN, LSTM and RNN heads on MedMNIST 3D volumes. **Not for clinical use**: the model is not a "
    "medical device, was not validated clinically, and must not inform the diagnosis or care of anyone."
)
LIMITATIONS = [
    "Trained and tested on one public benchmark (MedMNIST), at low resolution ({size}³ volumes); "
    "no external validation on other sites, scanners or populations.",
    "The test split is small: the intervals (stratified bootstrap, 2,000 resamples; DeLong for a "
    "binary AUC) show how much the numbers could move with another test set of the same size.",
    "One seed is one run: results vary over seeds (`lnn-keras report` pools several).",
    "Probabilities are not recalibrated: read them with the calibration above.",
    "The validation-chosen threshold was picked on {n_val} validation volumes; at 0.5 the model is judged as "
    "MedMNIST's evaluator judges it.",
]


def _number(value, digits=3):
    return "-" if value is None else f"{value:.{digits}f}"


def _interval(pair):
    return "-" if not pair else f"[{pair[0]:.3f}, {pair[1]:.3f}]"


def _dataset_lines(metrics):
    from keras_lnn.data.info import resolve_dataset

    data = metrics.get("data") or {}
    if data.get("custom"):
        name, license_ = metrics["dataset"], "unknown (a user's own file: see its source)"
    else:
        info = resolve_dataset(metrics["dataset"])
        name, license_ = info.python_class, f"{info.license} (MedMNIST v2, Yang et al., Scientific Data 2023)"
    splits = ", ".join(f"{k} {v}" for k, v in (data.get("n_samples") or {}).items())
    return name, [f"- Dataset: {name}, {metrics.get('size', 28)}³ volumes, {len(metrics['test']['class_counts'])} classes",
                  f"- File: {data.get('file', '-')}, MD5 `{metrics.get('data_md5')}`",
                  f"- Volumes per split: {splits or '-'}", f"- License: {license_}"]


def _architecture_lines(metrics):
    params = metrics["params"]
    lines = [f"- Parameters: {params['trainable']:,} trainable, {params['non_trainable']:,} non-trainable"
             + (f" (paper's Table 1: {params['paper']:,})" if params.get("paper") else "")]
    try:
        architecture = get_architecture(metrics["model"])
    except (KerasLnnError, KeyError):
        return [f"- Architecture: {metrics['model']} (not registered in this version)", *lines]
    head = " -> ".join(repr(step) for step in architecture.head)
    return [f"- Architecture: {architecture.name} of {architecture.experiment}: slice encoder {architecture.encoder}, "
            f"head {head}; sigmoid (binary) or softmax output" + (f". {architecture.note}" if architecture.note else ""),
            *lines]


def _training_lines(metrics):
    paper_options = TrainingOptions().as_dict()
    protocol, options = metrics.get("protocol") or {}, metrics.get("training_options") or paper_options
    paper = protocol == Protocol().as_dict() and options == paper_options
    return [
        f"- Protocol: {', '.join(f'{k} {v}' for k, v in protocol.items())}" + (" (the paper's)" if paper else ""),
        f"- Training options: augment {options.get('augment') or 'none'}, class weights "
        f"{options.get('class_weight') or 'none'}, test-time augmentation {'yes' if options.get('tta') else 'no'}"
        + (" (the paper's protocol)" if options == paper_options else ""),
        f"- Epochs: {metrics['epochs']} ({'stopped early' if metrics.get('stopped_early') else 'no early stop'}), "
        f"lowest validation loss at epoch {metrics.get('best_val_epoch')}; weights evaluated: "
        f"{metrics.get('evaluated_weights', '-')}",
        f"- Seed {metrics.get('seed')}, backend {metrics.get('backend')}, keras-lnn "
        f"{(metrics.get('versions') or {}).get('keras_lnn', '-')}",
    ]


def _metric_table(test, val, majority):
    rows = ["| metric | test | test 95% CI | val |", "|---|---|---|---|",
            f"| ACC (MedMNIST: p > 0.5 / argmax) | {_number(test['acc'])} | {_interval(test['acc_ci95'])} "
            f"| {_number(val['acc'])} |",
            f"| AUC (MedMNIST) | {_number(test['auc'])} | {_interval(test['auc_ci95'])} | {_number(val['auc'])} |"]
    if "auc_ci95_delong" in test:
        rows.append(f"| AUC, DeLong's interval | | {_interval(test['auc_ci95_delong'])} | |")
    rows.append(f"| cross-entropy | {_number(test['loss'])} | | {_number(val['loss'])} |")
    if majority:
        rows.append(f"| ACC of always predicting class {majority['class']} | {_number(majority['acc'])} | | |")
    if test.get("auc_undefined"):
        rows.append(f"\nAUC undefined on test: {test['auc_undefined']}.")
    return rows


def _threshold_lines(test):
    if "per_class" in test:
        rows = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        rows += [f"| {r['class']} | {_number(r['precision'])} | {_number(r['recall'])} | {_number(r['f1'])} "
                 f"| {r['support']} |" for r in test["per_class"]]
        return ["Per class on test (argmax):", "", *rows, "", f"Confusion matrix (rows true, columns predicted): "
                f"`{test['confusion_matrix']}`"]
    chosen = test.get("at_val_threshold")
    lines = ["Threshold chosen on validation (Youden's J): "
             + (_number(chosen["threshold"], 4) if chosen else "none (the validation split holds one class)"), "",
             "| on test | at 0.5 | at the validation threshold |", "|---|---|---|"]
    for key in ("sensitivity", "specificity", "ppv", "npv", "f1", "balanced_accuracy"):
        lines.append(f"| {key} | {_number(test['at_0.5'][key])} | {_number(chosen[key]) if chosen else '-'} |")
    lines.append(f"| confusion matrix [[tn, fp], [fn, tp]] | `{test['at_0.5']['confusion_matrix']}` | "
                 f"{'`' + str(chosen['confusion_matrix']) + '`' if chosen else '-'} |")
    return lines


def model_card(metrics):
    """The markdown of a finished model's card, from its metrics.json (version 2) dict."""
    name, data_lines = _dataset_lines(metrics)
    test, val = metrics["test"], metrics["val"]
    calibration = test["calibration"]
    lines = [
        f"# {metrics['model']} on {name} ({metrics.get('size', 28)}³, seed {metrics.get('seed')}): model card", "",
        f"> {INTENDED_USE}", "",
        "## Model", "", *_architecture_lines(metrics), "",
        "## Data", "", *data_lines, "",
        "## Training", "", *_training_lines(metrics), "",
        f"## Test metrics ({test['n']} volumes, class counts {test['class_counts']})", "",
        *_metric_table(test, val, metrics.get("test_majority")), "",
        "## Threshold", "", *_threshold_lines(test), "",
        "## Calibration (test)", "",
        f"Brier score {_number(calibration['brier'])}, expected calibration error {_number(calibration['ece'])} "
        f"({calibration['bins']} equal-width bins of the {calibration['of']}; the reliability points are in "
        "metrics.json).", "",
    ]
    if metrics.get("tta"):
        tta_test = metrics["tta"]["test"]
        lines += ["## With test-time augmentation", "",
                  f"Test ACC {_number(tta_test['acc'])} {_interval(tta_test['acc_ci95'])}, AUC {_number(tta_test['auc'])} "
                  f"{_interval(tta_test['auc_ci95'])}.", ""]
    lines += ["## Intended use", "", INTENDED_USE, "", "## Limitations", ""]
    lines += [f"- {text.format(size=metrics.get('size', 28), n_val=val['n'])}" for text in LIMITATIONS]
    lines += ["", f"MedMNIST's own result files are in `medmnist/`; every number here is defined in "
                  f"`keras_lnn.evaluation` (metrics_version {metrics.get('metrics_version')}, docs/records.md)."]
    return "\n".join(lines) + "\n"


def write_model_card(model_dir, metrics):
    """Writes `<model_dir>/MODEL_CARD.md` atomically; returns its path."""
    path = Path(model_dir) / FILE
    atomic_write_text(path, model_card(metrics))
    return path
