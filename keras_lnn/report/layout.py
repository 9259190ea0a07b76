"""The paper's recurrent baselines as its code ran them, beside the same models recurring across slices.

The paper's code builds its LSTM and RNN layers sequence-first and feeds them batch-first tensors, so
they recur across the volumes of a mini-batch (the diagnostic `exp5-across-batch`, `AcrossBatch`).
This section answers two questions per dataset:

- does that layout change a baseline's test AUC beyond seed noise (Welch, Holm over the baselines)?
- does the paper's Table 2 value of a baseline fall inside the 95% prediction interval of one run
  of the model as intended, and of the model as run? A value outside the first and inside the
  second is what the layout predicts.
"""
import collections

from keras_lnn.evaluation import stats
from keras_lnn.models import get_architecture, group_models
from keras_lnn.paper import table2_results
from keras_lnn.report.markdown import table
from keras_lnn.report.tables import score_interval


def _interval(scores):
    """The clipped 95% prediction interval for one run, or None with fewer than 2 seeds or no spread."""
    if len(scores) < 2 or not stats.std(scores):
        return None
    return score_interval(scores)


def _inside(value, interval):
    """True or False, or None where there is no interval."""
    return None if interval is None else bool(interval[0] <= value <= interval[1])


def _where(value, interval):
    inside = _inside(value, interval)
    if inside is None:
        return "-"
    return f"{interval[0]:.3f} to {interval[1]:.3f}: {'inside' if inside else 'outside'}"


FITS = {(False, True): "fit the layout as run only (what the layout predicts)",
        (True, True): "fit both forms (the data cannot tell them apart there)",
        (True, False): "fit the form across slices only",
        (False, False): "fit neither form"}


def layout_verdict(fits):
    """One quotable sentence from `[(inside the across-slices interval, inside the as-run interval)]`, one per
    paper value (None: no interval for that form).

    Example:

    >>> layout_verdict([(False, True), (False, True), (True, True), (None, True)])
    "Of the paper's 4 recurrent values, 2 fit the layout as run only (...); 1 fit both forms (...); 1 without..."
    """
    counts = collections.Counter(fit if None not in fit else None for fit in fits)
    parts = [f"{counts[key]} {text}" for key, text in FITS.items() if key in counts]
    if None in counts:
        parts.append(f"{counts[None]} without both intervals (fewer than 2 seeds or no spread)")
    return f"Of the paper's {len(fits)} recurrent value{'s' * (len(fits) != 1)}, {'; '.join(parts)}."


def layout_pairs(results):
    """`[(as intended, as run)]`: each diagnostic group beside the group of the paper model it reproduces."""
    by_model = {r.model: r for r in results}
    pairs = []
    for r in results:
        if r.model in group_models("diagnostic"):
            intended = by_model.get(get_architecture(r.model).reproduces)
            if intended is not None and intended.settings == r.settings:
                pairs.append((intended, r))
    return pairs


def layout_section(dataset, results):
    """The layout's effect on each baseline, and where the paper's values lie (no lines without diagnostic runs)."""
    pairs = layout_pairs(results)
    if not pairs:
        return []
    tested = [(a, b, stats.welch_t_test(a.scores("test", "auc"), b.scores("test", "auc")))
              for a, b in pairs if len(a.finished) >= 2 and len(b.finished) >= 2]
    adjusted = stats.holm_adjust([w.p_value for _, _, w in tested])
    rows = [[a.model, stats.format_mean_std(a.scores("test", "auc")), stats.format_mean_std(b.scores("test", "auc")),
             stats.format_number(-w.difference, signed=True), stats.format_p_value(w.p_value), stats.format_p_value(p),
             "exceeds seed noise" if p < stats.ALPHA else "within seed noise" if p == p else "no verdict"]
            for (a, b, w), p in zip(tested, adjusted)]
    lines = ["#### The recurrent baselines as the paper's code ran them", "",
             "Each exp5 baseline recurring across the 28 slices of a volume (as the paper intended) beside the same "
             "model recurring across the volumes of a batch (as its code ran). \"As run - as intended\": the difference "
             f"of mean test AUC. {stats.TEST_NAME} on the per-seed test AUC; Holm over the {len(tested)} baselines.", "",
             table(["baseline", "across slices", "as run", "as run - as intended", "p", "Holm p", "verdict"], rows,
                   "lrrrrrl"), ""]
    paper = table2_results()
    checks, fits = [], []
    for a, b in pairs:
        value = (paper.get(a.model) or {}).get(dataset, {}).get("auc")
        if value is not None:
            intervals = _interval(a.scores("test", "auc")), _interval(b.scores("test", "auc"))
            checks.append([a.model, stats.format_number(value)] + [_where(value, i) for i in intervals])
            fits.append(tuple(_inside(value, i) for i in intervals))
    if checks:
        lines += ["The paper's Table 2 test AUC against the 95% prediction interval for one run of each form (mean "
                  "± t(n-1) · sd · sqrt(1 + 1/n) over seeds): a value outside the first and inside the second is "
                  "what training with the paper's layout predicts.", "",
                  table(["baseline", "paper AUC", "across slices: interval", "as run: interval"], checks, "lrll"), "",
                  layout_verdict(fits), ""]
    return lines
