"""What the training options change: each option setting against the paper's options, test-time augmentation
against plain evaluation, and which family leads under each (the question `docs/beyond.md` answers).

Three tables per dataset, each with its tests corrected together by Holm's method:

- **options against the paper's**, per model: Welch's t-test on the per-seed test AUC of the runs
  with other training options against the runs with the paper's (same backend, protocol and data);
- **TTA against plain evaluation**, per run: DeLong's paired test of the TTA and the plain test
  probabilities of one model on the same volumes (`predictions.csv`'s two columns);
- **which family leads**, per setting and evaluation: the family bests chosen on validation (under
  that evaluation), their mean test AUC and Welch's test of the difference.

Settings are compared, never pooled: each side of a test is the seeds of one setting.

Example:

```python
from keras_lnn.report.options import options_section

lines = options_section(results)   # [] unless a model ran under several option settings or with TTA
```
"""
import dataclasses
import itertools

from keras_lnn.evaluation import delong, stats
from keras_lnn.report.collect import read_test_predictions
from keras_lnn.report.families import family, setting_blocks
from keras_lnn.report.markdown import table
from keras_lnn.report.settings import differing_fields, options_text, settings_text
from keras_lnn.report.statistics import correction_text, verdict

EVALUATIONS = ("plain", "TTA")


def _split(metrics, evaluation, split):
    """The `split` record of one run under `evaluation`: plain (`metrics[split]`) or TTA (`metrics["tta"][split]`)."""
    source = metrics if evaluation == "plain" else (metrics.get("tta") or {})
    return source.get(split) or {}


def scores(result, evaluation="plain", split="test", key="auc"):
    """Per-seed `key` of `split` under `evaluation` over the group's finished runs (runs without it left out)."""
    values = [_split(m, evaluation, split).get(key) for m in result.finished]
    return [v for v in values if v is not None]


def _without_tta(result):
    """The group's setting with test-time augmentation left out: what training itself did."""
    options = tuple((k, v) for k, v in result.settings.training_options if k != "tta")
    return dataclasses.replace(result.settings, training_options=options)


def _is_paper_training(result):
    return result.settings.paper_training


def _training_text(result):
    """The group's training options in words, TTA left out ("paper's training options" for the paper's)."""
    return options_text({k: v for k, v in result.settings.options.items() if k != "tta"})


def _evaluations(*results):
    """The evaluations every run of the `results` recorded: plain, and TTA where each has it."""
    has_tta = all(scores(r, "TTA") and len(scores(r, "TTA")) == len(scores(r)) for r in results)
    return EVALUATIONS if has_tta else EVALUATIONS[:1]


def _welch_row(first, second):
    """(mean ± std cells, test) of Welch's test of two seed samples; the test is None with fewer than 2 seeds each."""
    cells = [stats.format_mean_std(first), stats.format_mean_std(second)]
    test = stats.welch_t_test(first, second) if len(first) >= 2 and len(second) >= 2 else None
    return cells, test


def _test_cells(test, adjusted):
    if test is None:
        return ["-", "-", "-", "-", "not enough seeds (fewer than 2 on a side)"]
    return [stats.format_number(test.t, 2), stats.format_number(test.df, 1), stats.format_p_value(test.p_value),
            stats.format_p_value(adjusted), verdict(test, adjusted)]


def _rows(entries):
    """Table rows of `[(cells, test)]`: tests Holm-corrected together; rows without a test keep their place."""
    made = [(i, test) for i, (_, test) in enumerate(entries) if test is not None]
    adjusted = dict(zip((i for i, _ in made), stats.holm_adjust([t.p_value for _, t in made])))
    return [cells + _test_cells(test, adjusted.get(i)) for i, (cells, test) in enumerate(entries)], [t for _, t in made]


def options_table(results):
    """Per model: each other training setting against the paper's training options (Welch on test AUC)."""
    by_training = {}
    for r in results:
        by_training.setdefault((r.experiment, r.model), []).append(r)
    entries = []
    for groups in by_training.values():
        for base in (g for g in groups if _is_paper_training(g)):
            for other in groups:
                if other is base or _is_paper_training(other):
                    continue
                if dataclasses.replace(other.settings, training_options=()) != \
                        dataclasses.replace(base.settings, training_options=()):
                    continue  # another backend, protocol or data file: not the options' effect alone
                for evaluation in _evaluations(base, other):
                    a, b = scores(other, evaluation), scores(base, evaluation)
                    cells, test = _welch_row(a, b)
                    difference = stats.format_number(stats.mean(a) - stats.mean(b), signed=True) if a and b else "-"
                    entries.append(([base.model, _training_text(other), evaluation] + cells[::-1] + [difference], test))
    if not entries:
        return []
    rows, tests = _rows(entries)
    headers = ["model", "training options", "evaluation", "paper's options: test AUC", "these options: test AUC",
               "difference", "t", "df", "p", "Holm p", "verdict"]
    return ["Training options against the paper's, per model: the per-seed test AUC of each side (mean ± std), "
            f"{stats.TEST_NAME}. {correction_text(len(tests))}", "", table(headers, rows, "lll" + "r" * 7 + "l"), ""]


def tta_table(results):
    """Per run: DeLong's paired test of the TTA against the plain test probabilities of the same model and volumes."""
    entries = []
    for r in results:
        label = f"{r.model} [{_training_text(r)}]"
        for m in r.finished:
            plain, tta = read_test_predictions(m), read_test_predictions(m, column="probability_tta")
            if not plain or not tta:
                continue
            try:
                entries.append(([label, m["seed"]], delong.delong_test(tta[0], tta[1], plain[1])))
            except ValueError:
                continue
    if not entries:
        return []
    adjusted = stats.holm_adjust([test.p_value for _, test in entries])
    rows = [cells + [stats.format_number(t.auc_b), stats.format_number(t.auc_a), stats.format_number(t.difference, signed=True),
                     stats.format_number(t.z, 2), stats.format_p_value(t.p_value), stats.format_p_value(p), verdict(t, p)]
            for (cells, t), p in zip(entries, adjusted)]
    headers = ["model [training options]", "seed", "plain test AUC", "TTA test AUC", "TTA - plain", "z", "p", "Holm p",
               "verdict"]
    return ["Test-time augmentation against plain evaluation, per run: the same model on the same test volumes, "
            f"{delong.DELONG_NAME}. {correction_text(len(entries))}", "", table(headers, rows, "lrrrrrrrl"), ""]


def _best_on_validation(block, evaluation):
    """`{family: group}`: per family, the highest mean validation AUC under `evaluation` (first on a tie)."""
    bests = {}
    for r in block:
        name, score = family(r.model), stats.mean(scores(r, evaluation, "val"))
        if name and score is not None and (name not in bests or score > stats.mean(scores(bests[name], evaluation, "val"))):
            bests[name] = r
    return bests


def leader_table(results):
    """Per setting and evaluation: the family bests (chosen on validation), their test AUC and the leader."""
    entries = []
    others = [f for f in differing_fields(results) if f != "training options"]  # backend, protocol, data
    for _, block in setting_blocks(results):
        setting = "; ".join(filter(None, [settings_text(block[0].settings, others) if others else None,
                                          _training_text(block[0])]))
        for evaluation in _evaluations(*block):
            bests = _best_on_validation(block, evaluation)
            for (name_a, a), (name_b, b) in itertools.combinations(bests.items(), 2):
                x, y = scores(a, evaluation), scores(b, evaluation)
                cells, test = _welch_row(x, y)
                difference = stats.mean(x) - stats.mean(y) if x and y else None
                leader = "-" if difference is None else (name_a if difference > 0 else name_b if difference < 0 else "tie")
                entries.append(([setting, evaluation, f"{name_a}: {a.model}", cells[0], f"{name_b}: {b.model}",
                                 cells[1], leader, stats.format_number(difference, signed=True)], test))
    if not entries:
        return []
    rows, tests = _rows(entries)
    headers = ["setting", "evaluation", "first", "test AUC", "second", "test AUC", "higher mean",
               "difference", "t", "df", "p", "Holm p", "verdict"]
    return ["Which family leads under each setting and evaluation: each family's best chosen on the mean validation "
            "AUC of that evaluation, then its per-seed test AUC; \"higher mean\" names the family ahead, which wins "
            f"beyond seed noise only where the verdict says so. {stats.TEST_NAME}. {correction_text(len(tests))}", "",
            table(headers, rows, "lllrlrlrrrrrl"), ""]


def options_section(results):
    """The three tables for one dataset's groups, or [] where no model ran under another setting or with TTA."""
    several = len({_without_tta(r) for r in results}) > 1
    with_tta = any(_evaluations(r) == EVALUATIONS for r in results)
    if not (several or with_tta):
        return []
    body = options_table(results) + tta_table(results) + leader_table(results)
    return ["### What the training options change", "", *body] if body else []
