"""The section "The paper's conclusions, tested": per dataset and setting, claims (a), (b) and (a')
(`keras_lnn.report.claims`), the baselines as the paper ran them (`keras_lnn.report.layout`), the
parameters (c) and training cost (d) per family (`keras_lnn.report.family_cost`), and, given earlier
studies' summaries (`keras_lnn.report.earlier`), which verdicts hold in both.
"""
from pathlib import Path

from keras_lnn.evaluation import stats
from keras_lnn.models import group_models
from keras_lnn.report.claims import CLAIMS, claims_lines, comparisons
from keras_lnn.report.collect import by_dataset
from keras_lnn.report.earlier import earlier_verdicts, read_summaries
from keras_lnn.report.families import block_heading, in_paper, setting_blocks
from keras_lnn.report.family_cost import cost_lines, parameters_lines
from keras_lnn.report.layout import layout_section
from keras_lnn.report.markdown import dataset_title, table

INTRO = (
    "Each claim compares the best model of each family, chosen on mean validation AUC over seeds, on the test "
    "split: Welch's t-test over seeds (seed noise) and DeLong's test per seed on the same test volumes (test-set "
    "noise), Holm-corrected over the dataset's tests at alpha = {alpha}. A claim is **supported** when the LTC best "
    "is ahead beyond both noises, **not supported** when the other best is ahead beyond both, and **not decidable** "
    "otherwise, with the reason. Only the paper's own models (exp1-5) take part; a diagnostic reproducing the "
    "paper's code takes part only in claim (a'). \"LTC models ahead\": how many LTC models have a higher mean test "
    "AUC than the other family's best, a count without a test."
)


def _verdicts(results):
    """`{(dataset, size): {claim: verdict}}` of this study, for datasets of one setting."""
    diagnostic, verdicts = set(group_models("diagnostic")), {}
    for key, group in by_dataset(results).items():
        blocks = setting_blocks(group)
        if len(blocks) == 1:
            block = blocks[0][1]
            found = comparisons([r for r in block if r.model not in diagnostic],
                                [r for r in block if r.model in diagnostic])
            verdicts[key] = {c.claim: c.verdict for c in found}
    return verdicts


def _kind(verdict):
    """"supported", "not supported" or "not decidable": a verdict without its reason."""
    return verdict.split(" with ")[0]


def side_by_side_lines(results, earlier):
    """Claims (a) and (b) in this study beside each earlier study (`{label: summaries}`), never pooled."""
    ours, rows = _verdicts(results), []
    for (dataset, size), verdicts in ours.items():
        for label, summaries in earlier.items():
            theirs = earlier_verdicts(summaries, dataset) if size == 28 else {}
            for claim, _, _ in CLAIMS:
                mine, other = verdicts.get(claim, "-"), theirs.get(claim, "-")
                same = "-" if "-" in (mine, other) else "yes" if _kind(mine) == _kind(other) else "no"
                rows.append([dataset_title(dataset, size), f"({claim})", mine, label, other, same])
    if not rows:
        return []
    return ["### Beside earlier studies", "",
            "The same claims decided from each earlier study's per-model summaries (its family bests chosen on its "
            "mean validation AUC; Welch's test from its means, standard deviations and seed counts, Holm over its "
            "claims). It kept no predictions, so its verdicts weigh seed noise only. The studies are never pooled: "
            "other code, backend and machine make each another experiment. A conclusion holds in both where both "
            "verdicts are \"supported\" (or both \"not supported\").", "",
            table(["dataset", "claim", "this study", "earlier study", "its verdict", "same verdict"], rows,
                  "llllll"), ""]


def conclusions_section(results, earlier=()):
    """The whole section: per dataset, the tested claims; then the earlier studies beside them.

    Args:
        results: every group of the report (`group_results`).
        earlier: paths of earlier studies' summary CSVs (`keras_lnn.report.earlier`), each labelled by its folder.
    """
    lines = []
    for (dataset, size), group in by_dataset(results).items():
        name, body = dataset_title(dataset, size), []
        for label, block in setting_blocks(group):
            paper = [r for r in block if in_paper(r.model)]
            parts = (claims_lines(name, block) + layout_section(dataset, block) + parameters_lines(paper)
                     + cost_lines(paper))
            body += block_heading(label) + parts if parts else []
        lines += [f"### {name}", "", *body] if body else []
    if not lines:
        return []
    summaries = {Path(path).parent.name or str(path): read_summaries(path) for path in earlier}
    return (["## The paper's conclusions, tested", "", INTRO.format(alpha=stats.ALPHA), ""] + lines
            + side_by_side_lines(results, summaries))
