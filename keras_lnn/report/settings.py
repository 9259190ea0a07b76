"""One group, one setting: what makes the seeds of one model comparable, and how two groups differ.

A run's setting is its backend, its protocol, its data file (MD5) and its training
options; the volume size is a section of its own. Runs of one model that differ in any
of these are separate groups (rows) of the report, never pooled.

Example:

```python
from keras_lnn.report.settings import run_settings, settings_text

settings = run_settings(metrics)   # {"backend": "jax", "protocol": ..., "data": ..., "training options": ...}
settings_text(settings, ["backend"])  # 'backend jax'
```
"""
import json

from keras_lnn.settings import Protocol, TrainingOptions

# The paper's training options: what a run made before training options were recorded used.
PAPER_TRAINING_OPTIONS = TrainingOptions().as_dict()
SETTING_FIELDS = ("backend", "protocol", "data", "training options")


def protocol_changes(protocol):
    """`[(option, value, paper value)]` where a run's protocol differs from the paper's."""
    protocol = protocol or {}
    return [(k, protocol[k], v) for k, v in Protocol().as_dict().items() if k in protocol and protocol[k] != v]


def run_settings(metrics):
    """The setting of one run: `{field: comparable value}` for each of `SETTING_FIELDS`.

    Values are strings (JSON for the dicts), so that settings compare and sort. A run
    without `training_options` (made before they were recorded) used the paper's.

    Example:

    >>> run_settings({"backend": "jax", "protocol": {"max_epochs": 2}, "data_md5": "ab" * 16})["backend"]
    'jax'
    """
    options = {**PAPER_TRAINING_OPTIONS, **(metrics.get("training_options") or {})}
    return {
        "backend": str(metrics.get("backend")),
        "protocol": json.dumps(dict(sorted((k, v) for k, v, _ in protocol_changes(metrics.get("protocol"))))),
        "data": str(metrics.get("data_md5")),
        "training options": json.dumps(options, sort_keys=True),
    }


def _field_text(field, value):
    if field == "backend":
        return f"backend {value}"
    if field == "data":
        return f"data MD5 {value[:8]}" if value != "None" else "data MD5 not recorded"
    if field == "protocol":
        changes = json.loads(value)
        return "paper's protocol" if not changes else ", ".join(f"{k} {v}" for k, v in changes.items())
    options = json.loads(value)
    parts = []
    if options.get("augment"):
        parts.append(f"augment {'+'.join(map(str, options['augment']))}")
    if options.get("class_weight") is not None:
        parts.append(f"class_weight {options['class_weight']}")
    text = ", ".join(parts) or "paper's training options"
    # TTA changes the evaluation, not the training: said apart so a paper-protocol run is not read as another.
    return f"{text}, TTA evaluated too" if options.get("tta") else text


def settings_text(settings, fields=SETTING_FIELDS):
    """The named `fields` of a setting in words, "; "-joined: "backend jax; max_epochs 2" ("-" when none)."""
    return "; ".join(_field_text(field, settings[field]) for field in fields if field in settings) or "-"


def differing_fields(results):
    """The fields of `SETTING_FIELDS` whose value is not the same over all `results` (ModelResults)."""
    return [field for field in SETTING_FIELDS if len({r.settings.get(field) for r in results}) > 1]


def by_setting(results):
    """`{settings JSON: [results]}`: the groups of one dataset that share one setting, in order of appearance."""
    blocks = {}
    for r in results:
        blocks.setdefault(json.dumps(r.settings, sort_keys=True), []).append(r)
    return blocks


def model_label(result, fields):
    """The model's name, with its setting's `fields` in brackets where they differ: "CNNExp2N4 [backend jax]"."""
    return f"{result.model} [{settings_text(result.settings, fields)}]" if fields else result.model


def differs_note(results):
    """One line saying which settings the groups of one dataset differ in (empty when they share one)."""
    fields = differing_fields(results)
    if not fields:
        return []
    return [f"These runs differ in {', '.join(fields)}: each row holds the seeds of one setting (in brackets), "
            "never pooled across settings.", ""]


def duplicates_lines(results):
    """Seeds run more than once under one setting: every run, and the one the report uses (listed first)."""
    from keras_lnn.evaluation import stats

    lines = []
    for r in results:
        for seed, runs in r.duplicates.items():
            listed = "; ".join(f"`{m['_path']}` ({m['status']}, test AUC "
                               f"{stats.format_number((m.get('test') or {}).get('auc'))})" for m in runs)
            lines.append(f"- {r.model} on {r.dataset}, seed {seed}: {len(runs)} runs: {listed}")
    if not lines:
        return []
    return ["", "Seeds run more than once under one setting (the report uses the first listed, a finished run "
            "before a failed one, then the latest; the others are left out of every mean):", ""] + lines
