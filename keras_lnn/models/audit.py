"""The parameter audit: Keras's counts of every built model beside the paper's Table 1.

Example:

>>> from keras_lnn.models.audit import audit_models
>>> row = audit_models(["LSTMExp5N2"])[0]
>>> row["paper_params"], row["trainable_params"], row["delta"]
(71797, 71637, -160)
"""
from keras_lnn import models

TABLE1_SIZE = 28  # Table 1 counts are for 28^3 volumes; the dense layers grow with the input size.


def count_reason(architecture, delta, non_trainable, input_size):
    """Why a model's Keras count may differ from the paper's, or None when it is a plain match."""
    if architecture.paper_params is None:
        return "not in the paper (an extension of keras_lnn)"
    if input_size != TABLE1_SIZE:
        return f"Table 1 counts apply to {TABLE1_SIZE}^3 inputs, not {input_size}^3"
    reasons = []
    extra = architecture.pytorch_extra_params()
    if extra and delta == -extra:
        reasons.append(
            f"PyTorch's LSTM/RNN layers carry a second bias vector per gate; Keras has one, so {extra} fewer"
        )
    if non_trainable:
        reasons.append(f"BatchNorm's {non_trainable} moving statistics are non-trainable, as in PyTorch")
    return "; ".join(reasons) or None


def expected_delta(architecture):
    """The documented difference (Keras trainable - paper) for a 28^3 binary model."""
    return -architecture.pytorch_extra_params()


def _clear_session(keras):
    """Resets Keras's global state without a full garbage collection (0.3 s per model on TensorFlow)."""
    try:
        keras.backend.clear_session(free_memory=False)
    except TypeError:  # Keras versions without `free_memory`
        keras.backend.clear_session()


def audit_models(names=None, input_size=TABLE1_SIZE):
    """Builds each model and compares its parameter counts with Table 1.

    Args:
        names: model or experiment names (default: the paper's 30 models, exp1-exp5).
        input_size: volume edge length; Table 1 is compared at 28 only.

    Returns:
        A list of dicts with keys `model`, `experiment`, `paper_params`,
        `trainable_params`, `non_trainable_params`, `delta` (trainable - paper,
        None where there is no paper count), `reason` (None, or why a count
        differs) and `matches` (True when the delta is zero or documented).
    """
    import keras

    rows = []
    for name in models.resolve_models(names or ["paper"]):
        architecture = models.get_architecture(name)
        model = models.create_model(name, input_size=input_size)
        trainable, non_trainable = models.count_params(model)
        _clear_session(keras)  # keep memory flat over 30+ models
        paper_params = architecture.paper_params if input_size == TABLE1_SIZE else None
        delta = None if paper_params is None else trainable - paper_params
        rows.append(
            {
                "model": name,
                "experiment": architecture.experiment,
                "paper_params": paper_params,
                "trainable_params": trainable,
                "non_trainable_params": non_trainable,
                "delta": delta,
                "reason": count_reason(architecture, delta, non_trainable, input_size),
                "matches": delta is None or delta == expected_delta(architecture),
            }
        )
    return rows


def _number(value, signed=False):
    if value is None:
        return "-"
    return f"{value:+,}" if signed and value else f"{value:,}"


def format_audit_table(rows):
    """The audit as aligned text columns, ending with an "N/M match" line."""
    headers = ["model", "exp", "paper", "keras trainable", "non-trainable", "delta"]
    body = [
        [row["model"], row["experiment"], _number(row["paper_params"]), _number(row["trainable_params"]),
         _number(row["non_trainable_params"]), _number(row["delta"], signed=True)]
        for row in rows
    ]
    widths = [max(len(h), *(len(cells[i]) for cells in body)) for i, h in enumerate(headers)]

    def line(cells):  # names left-aligned, numbers right-aligned
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    lines = [line(headers)]
    for row, cells in zip(rows, body):
        note = row["reason"] or ""
        if not row["matches"]:
            note = "UNEXPLAINED " + note
        lines.append((line(cells) + "  " + note).rstrip())
    lines.append(f"{sum(row['matches'] for row in rows)}/{len(rows)} match")
    return "\n".join(lines)
