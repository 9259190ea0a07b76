"""Beyond the paper: each extension (exp6) against the paper's LTC model it changes one part of.

The paper's "future work": closed-form continuous-time cells (CfC) and LTC with mixed memory. Each
exp6 model keeps the encoder and wiring of one LTC model of exp1-4 (`Architecture.pairs_with`) and
changes its recurrent cell, so the pair isolates that change. Per dataset and setting, each pair is
tested as the paper's claims are (`keras_lnn.report.claims`): Welch's t-test over seeds on the test
AUC, DeLong's test per seed on the same test volumes, Holm over the section's tests, and the verdict
on "the extension classifies better than its pair" (`claims.claim_verdict`). Beside them, what each side
costs to train: epochs to the early stop and seconds per epoch.
"""
import statistics

from keras_lnn.evaluation import stats
from keras_lnn.models import UnknownModelError, get_architecture
from keras_lnn.report.claims import Comparison, run_tests
from keras_lnn.report.collect import by_dataset
from keras_lnn.report.cost import epoch_seconds
from keras_lnn.report.families import block_heading, setting_blocks
from keras_lnn.report.markdown import dataset_title, table, thousands


def _pairs_with(model):
    try:
        return get_architecture(model).pairs_with
    except UnknownModelError:
        return None


def extension_pairs(block):
    """`[(extension, its pair)]`: the groups of one setting whose model pairs with a paper model that also ran."""
    by_model = {r.model: r for r in block if r.finished}
    return [(r, by_model[_pairs_with(r.model)]) for r in block
            if r.finished and _pairs_with(r.model) in by_model]


def compare_pairs(block):
    """`[Comparison]` (`claims.Comparison`: first the extension, second its pair) of one setting's groups, tested
    and Holm-corrected together as the claims are (`claims.run_tests`)."""
    return run_tests([Comparison("exp6", "the extension classifies better than its pair", a, b, [])
                      for a, b in extension_pairs(block)])


def _cost(group):
    """"mean epochs / median s per epoch" of a group's finished runs."""
    per_epoch = [s for s in map(epoch_seconds, group.finished) if s]
    seconds = f"{statistics.median(per_epoch):.2f}" if per_epoch else "-"
    return f"{stats.mean([m['epochs'] for m in group.finished]):.0f} / {seconds}"


def _row(t):
    a, b, welch = t.first, t.second, t.welch
    return [f"{a.model} ({thousands(a.trainable_params)})", f"{b.model} ({thousands(b.trainable_params)})",
            stats.format_mean_std(a.scores("test", "auc")), stats.format_mean_std(b.scores("test", "auc")),
            stats.format_number(welch.difference, signed=True) if welch else "-",
            stats.format_p_value(welch.p_value) if welch else "-", stats.format_p_value(t.welch_p) if welch else "-",
            f"{sum(q < stats.ALPHA for q in t.delong_p)} of {len(t.delong)}" if t.delong else "no predictions",
            _cost(a), _cost(b), t.verdict]


def extensions_section(results):
    """The section, per dataset and setting; no lines where no extension ran beside its pair."""
    lines = []
    for (dataset, size), group in by_dataset(results).items():
        body = []
        for label, block in setting_blocks(group):
            tested = compare_pairs(block)
            if not tested:
                continue
            n_tests = sum(1 for t in tested if t.welch) + sum(len(t.delong) for t in tested)
            verdicts = [t.verdict for t in tested]
            counts = {kind: sum(v.startswith(kind) for v in verdicts) for kind in ("supported", "not supported")}
            body += block_heading(label) + [
                f"Holm's correction over the {n_tests} test{'s' * (n_tests != 1)} of this table (Welch per pair, "
                f"DeLong per pair and seed). Of {len(tested)} pair{'s' * (len(tested) != 1)}, the extension is "
                f"better beyond both noises in {counts['supported']}, worse in {counts['not supported']}, and not "
                f"decidable in {len(tested) - counts['supported'] - counts['not supported']}.", "",
                table(["extension (params)", "pairs with (params)", "extension test AUC", "pair test AUC", "difference",
                       "Welch p", "Holm p", "DeLong beyond noise", "extension: epochs / s per epoch",
                       "pair: epochs / s per epoch", "is the extension better?"],
                      [_row(t) for t in tested], "llrrrrrrrrl"), ""]
        lines += [f"### {dataset_title(dataset, size)}", "", *body] if body else []
    if not lines:
        return []
    return ["## Beyond the paper: the extensions against their pairs", "",
            "The paper's future work, tested as its claims are: each exp6 model (a CfC cell, or LTC with mixed "
            "memory) against the paper's LTC model with the same encoder and wiring, on the test AUC: Welch's "
            "t-test over seeds (seed noise) and DeLong's test per seed on the same test volumes (test-set noise), "
            f"Holm-corrected over the dataset's tests at alpha = {stats.ALPHA}. \"supported\": the extension is "
            "better beyond both noises; \"not supported\": its pair is; otherwise not decidable, with the reason. "
            "Epochs: the mean over seeds until the early stop; seconds per epoch: the median over the runs "
            "(each run's median epoch).", "", *lines]
