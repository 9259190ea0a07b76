"""One group, one setting: what makes the seeds of one model comparable, and how two groups differ.

A run's setting is its backend, its protocol, its data file (MD5) and its training
options; the volume size is a section of its own. Runs of one model that differ in any
of these are separate groups (rows) of the report, never pooled.

Example:

```python
from keras_lnn.report.settings import run_settings, settings_text

setting = run_settings(metrics)     # Setting(backend="jax", protocol=(), data="ab12...", training_options=(...))
settings_text(setting, ["backend"])  # 'backend jax'
```
"""
import dataclasses
import json

from keras_lnn.evaluation import stats
from keras_lnn.settings import Protocol, TrainingOptions

# The paper's training options: what a run made before training options were recorded used.
PAPER_TRAINING_OPTIONS = TrainingOptions().as_dict()
SETTING_FIELDS = ("backend", "protocol", "data", "training options")


def _frozen(value):
    """`value` with its lists as tuples, so that a setting holding it is hashable."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


@dataclasses.dataclass(frozen=True)
class Setting:
    """The setting of one run: the fields of `SETTING_FIELDS`, in that order.

    Attributes:
        backend: the Keras backend ("None" where the run did not record it).
        protocol: `((option, value), ...)` where the protocol differs from the paper's, by option name.
        data: the data file's MD5 ("None" where the run did not record it).
        training_options: `((option, value), ...)` of every training option, by name (lists as tuples).
    """
    backend: str
    protocol: tuple
    data: str
    training_options: tuple

    def value(self, field):
        """The value of one of `SETTING_FIELDS` ("training options" is `training_options`)."""
        return getattr(self, field.replace(" ", "_"))

    @property
    def options(self):
        """The training options as a dict."""
        return dict(self.training_options)

    @property
    def paper_training(self):
        """Whether the training options are the paper's (test-time augmentation aside: it trains nothing)."""
        paper = dict(PAPER_SETTING.training_options)
        return all(value == paper[name] for name, value in self.training_options if name != "tta")

    def sort_key(self):
        """The order groups of one model are listed in: by the JSON text of the setting's fields."""
        fields = {"backend": self.backend, "protocol": json.dumps(dict(self.protocol)), "data": self.data,
                  "training options": json.dumps(_thawed(self.options), sort_keys=True)}
        return json.dumps(fields, sort_keys=True)


def _thawed(options):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def protocol_changes(protocol):
    """`[(option, value, paper value)]` where a run's protocol differs from the paper's."""
    protocol = protocol or {}
    return [(k, protocol[k], v) for k, v in Protocol().as_dict().items() if k in protocol and protocol[k] != v]


def run_settings(metrics):
    """The `Setting` of one run. A run without `training_options` (made before they were recorded) used the paper's.

    Example:

    >>> run_settings({"backend": "jax", "protocol": {"max_epochs": 2}, "data_md5": "ab" * 16}).protocol
    (('max_epochs', 2),)
    """
    options = {**PAPER_TRAINING_OPTIONS, **(metrics.get("training_options") or {})}
    return Setting(
        backend=str(metrics.get("backend")),
        protocol=tuple(sorted((k, v) for k, v, _ in protocol_changes(metrics.get("protocol")))),
        data=str(metrics.get("data_md5")),
        training_options=tuple(sorted((k, _frozen(v)) for k, v in options.items())),
    )


PAPER_SETTING = run_settings({})  # a run that recorded no setting: the paper's protocol and training options


def options_text(options):
    """Training options (a dict) in words: "augment flip+rot90, class_weight balanced" or "paper's training options"."""
    parts = []
    if options.get("augment"):
        parts.append(f"augment {'+'.join(map(str, options['augment']))}")
    if options.get("class_weight") is not None:
        class_weight = options["class_weight"]
        parts.append(f"class_weight {list(class_weight) if isinstance(class_weight, tuple) else class_weight}")
    text = ", ".join(parts) or "paper's training options"
    # TTA changes the evaluation, not the training: said apart so a paper-protocol run is not read as another.
    return f"{text}, TTA evaluated too" if options.get("tta") else text


def _field_text(setting, field):
    if field == "backend":
        return f"backend {setting.backend}"
    if field == "data":
        return f"data MD5 {setting.data[:8]}" if setting.data != "None" else "data MD5 not recorded"
    if field == "protocol":
        return "paper's protocol" if not setting.protocol else ", ".join(f"{k} {v}" for k, v in setting.protocol)
    return options_text(setting.options)


def settings_text(setting, fields=SETTING_FIELDS):
    """The named `fields` of a `Setting` in words, "; "-joined: "backend jax; max_epochs 2" ("-" when none)."""
    return "; ".join(_field_text(setting, field) for field in fields) or "-"


def differing_fields(results):
    """The fields of `SETTING_FIELDS` whose value is not the same over all `results` (ModelResults)."""
    return [field for field in SETTING_FIELDS if len({r.settings.value(field) for r in results}) > 1]


def by_setting(results):
    """`{Setting: [results]}`: the groups of one dataset that share one setting, in order of appearance."""
    blocks = {}
    for r in results:
        blocks.setdefault(r.settings, []).append(r)
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
