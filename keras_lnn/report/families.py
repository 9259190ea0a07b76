"""Model families and their best models: chosen on the validation split, then shown on the test split.

Each family's best model is the one with the highest mean *validation* AUC over its
seeds, among the groups of one setting (`keras_lnn.report.settings.by_setting`). The
test split is not looked at to choose it, so the tests of `keras_lnn.report.statistics`
on the test scores are not biased by the choice.
"""
from keras_lnn.evaluation import stats
from keras_lnn.models import UnknownModelError, get_architecture
from keras_lnn.report.evaluation import has_tta
from keras_lnn.report.figures import reliability_figure
from keras_lnn.report.markdown import table
from keras_lnn.report.settings import by_setting, differing_fields, settings_text

FAMILIES = ("LTC", "CNN", "LSTM/RNN")  # `keras_lnn.models.Architecture.family`


def family(model):
    """The registered model's family (`Architecture.family`): "LTC", "CNN", "LSTM/RNN", or None for a name
    not registered (a row of the paper's benchmark table) and for a diagnostic model.

    A diagnostic (`keras_lnn.models.group_models("diagnostic")`) reproduces a defect of the paper's
    code: it is no baseline, so it belongs to no family and is never a family's best.

    Example:

    >>> family("CfcExp6N1"), family("ResNet-18 + 3D"), family("LSTMExp5N2AcrossBatch")
    ('LTC', None, None)
    """
    try:
        return get_architecture(model).family
    except UnknownModelError:
        return None


def in_paper(model):
    """Whether `model` is one of the paper's 30 models (exp1-5): the only ones its claims are about.

    Example:

    >>> in_paper("LiqExp1N2"), in_paper("CfcExp6N1"), in_paper("LSTMExp5N2AcrossBatch"), in_paper("ResNet-18 + 3D")
    (True, False, False, False)
    """
    try:
        return get_architecture(model).in_paper
    except UnknownModelError:
        return False


def best_on_validation(results):
    """The group with the highest mean validation AUC (the first on a tie), or None where none has one.

    The test split plays no part in the choice, so a test of the chosen group's test scores is not biased by it.
    """
    scored = [r for r in results if r.mean("val", "auc") is not None]
    return max(scored, key=lambda r: r.mean("val", "auc"), default=None)


def family_bests(results):
    """`{family: ModelResults}`: per family, its `best_on_validation` group, families in order of appearance.

    Groups without a validation AUC (no finished run) are passed over. `results` should share one
    setting: see `setting_blocks`.
    """
    names = dict.fromkeys(name for name in map(family, (r.model for r in results)) if name)
    bests = {name: best_on_validation([r for r in results if family(r.model) == name]) for name in names}
    return {name: best for name, best in bests.items() if best is not None}


def setting_blocks(results):
    """`[(label, results of one setting)]`: one block per setting; the label says what differs (None for one block)."""
    blocks = list(by_setting(results).values())
    fields = differing_fields(results)
    return [(settings_text(block[0].settings, fields) if len(blocks) > 1 else None, block) for block in blocks]


def block_heading(label):
    """The lines that open one setting's block: none where the dataset has one setting."""
    return [f"Setting: {label}.", ""] if label else []


def _interval(ci):
    return f"{ci[0]:.3f} to {ci[1]:.3f}" if isinstance(ci, (list, tuple)) and len(ci) == 2 else "-"


def per_seed_rows(name, r):
    """Rows of the family best `r`: per seed, test AUC with its bootstrap and DeLong 95% intervals, TTA, ECE."""
    rows = []
    for m in r.finished:
        test, tta = m.get("test") or {}, (m.get("tta") or {}).get("test") or {}
        rows.append([name, r.model, m["seed"], stats.format_number((m.get("val") or {}).get("auc")),
                     stats.format_number(test.get("auc")), _interval(test.get("auc_ci95")),
                     _interval(test.get("auc_ci95_delong")), stats.format_number(tta.get("auc")),
                     _interval(tta.get("auc_ci95")), stats.format_number((test.get("calibration") or {}).get("ece"))])
    return rows


def family_bests_section(dataset, size, results, figures, title):
    """The family bests of one dataset: how they were chosen, their per-seed test AUC with 95% intervals, and
    their reliability diagram (`figures` gains `figures/<dataset>[_<size>]_reliability.png`)."""
    lines, panels = ["### Family bests (chosen on validation)", ""], []
    for label, block in setting_blocks(results):
        bests = family_bests(block)
        if not bests:
            continue
        chosen = "; ".join(f"{k}: {v.model} (val AUC {stats.format_mean_std(v.scores('val', 'auc'))}, test AUC "
                           f"{stats.format_mean_std(v.scores('test', 'auc'))})" for k, v in bests.items())
        rows = [row for name, r in bests.items() for row in per_seed_rows(name, r)]
        headers = ["family", "model", "seed", "val AUC", "test AUC", "95% CI (bootstrap)", "95% CI (DeLong)",
                   "TTA test AUC", "TTA 95% CI", "ECE"]
        if not has_tta(bests.values()):  # no run of these recorded TTA: no TTA columns
            headers, rows = headers[:7] + headers[9:], [row[:7] + row[9:] for row in rows]
        lines += block_heading(label) + [f"Best model of each family by mean validation AUC over seeds: {chosen}.", "",
                                         table(headers, rows, "ll" + "r" * (len(headers) - 2)), ""]
        panels += [(f"{name}: {r.model}" + (f" [{label}]" if label else ""), r) for name, r in bests.items()]
    if not panels:
        return []
    if any(family(r.model) and not in_paper(r.model) for r in results):
        lines += ["Models beyond the paper (exp6: CfC and mixed-memory LTC) count in the LTC family here; the paper's "
                  "claims below take the paper's 30 models only.", ""]
    lines += ["The test split plays no part in the choice. 95% CI (bootstrap): the stratified percentile bootstrap "
              "interval of the run's test AUC (metrics.json `evaluation.bootstrap`); DeLong: the normal interval from "
              "DeLong's variance; \"-\": not recorded.", ""]
    stem = dataset if size == 28 else f"{dataset}_{size}"
    figure = reliability_figure(panels, title)
    if figure is not None:
        figures[f"figures/{stem}_reliability.png"] = figure
        lines += [f"![Reliability of the family bests' test probabilities, {title}](figures/{stem}_reliability.png)",
                  "", "Reliability: per bin of predicted probability, the observed frequency (one line per seed); "
                  "on the diagonal, the probabilities mean what they say.", ""]
    return lines
