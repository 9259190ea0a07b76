"""Beyond the paper: the exp6 extensions against their pairs, and kept out of the paper's claims.

A worked example on hand-made vessel runs, three seeds each, with predictions on 60 test volumes:
CfcExp6N2 (a CfC in place of LiqExp2N2's LTC) is far ahead of its pair and has the higher
validation AUC of the two, yet the paper's claims still take LiqExp2N2 as the LTC best.
"""
import numpy as np
import pytest
from scipy import stats as scipy_stats

from keras_lnn import report
from keras_lnn.report.claims import comparisons
from keras_lnn.report.collect import find_metrics_files, group_results, load_metrics
from keras_lnn.report.extensions import extension_pairs, extensions_section, compare_pairs
from tests.test_claims import write_predictions
from tests.test_report import write_run

RUNS = {  # model: (experiment, per-seed test AUCs, val AUC, how well its probabilities separate the classes)
    "LiqExp2N2": ("exp2", [0.80, 0.81, 0.82], 0.80, 1.0),
    "CfcExp6N2": ("exp6", [0.90, 0.91, 0.93], 0.95, 3.0),
    "LiqExp6N5": ("exp6", [0.85, 0.86, 0.87], 0.90, 2.0),  # pairs with LiqExp1N2, which did not run
    "CNNExp2N4": ("exp2", [0.70, 0.71, 0.72], 0.70, 0.5),
    "LSTMExp5N2": ("exp5", [0.60, 0.61, 0.62], 0.60, 0.3),
}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("extensions") / "OUT"
    for model, (experiment, aucs, val_auc, signal) in RUNS.items():
        for seed, auc in enumerate(aucs):
            model_dir = write_run(out, model, seed, auc, experiment=experiment, n_seeds=3,
                                  val={"acc": 0.8, "auc": val_auc})
            write_predictions(model_dir, signal, seed)
    return out, group_results([load_metrics(path) for path in find_metrics_files([out])])


def test_the_paper_claims_leave_the_extensions_out(study):
    _, results = study
    # CfcExp6N2 and LiqExp6N5 are liquid (LTC-family) models with higher validation AUCs, but not the paper's.
    assert {c.claim: c.first.model for c in comparisons(results)} == {"a": "LiqExp2N2", "b": "LiqExp2N2"}
    [claim_b] = [c for c in comparisons(results) if c.claim == "b"]
    assert claim_b.ahead() == (1, 1)  # of the paper's LTC models only


def test_each_extension_is_tested_against_its_pair(study):
    _, results = study
    assert [(a.model, b.model) for a, b in extension_pairs(results)] == [("CfcExp6N2", "LiqExp2N2")]
    [t] = compare_pairs(results)
    welch, welch_p, delong = t.welch, t.welch_p, [(r, q) for (_, r), q in zip(t.delong, t.delong_p)]
    # Welch's test, cross-checked against scipy on the per-seed test AUCs.
    expected = scipy_stats.ttest_ind(RUNS["CfcExp6N2"][1], RUNS["LiqExp2N2"][1], equal_var=False)
    assert welch.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert welch.difference == pytest.approx(np.mean(RUNS["CfcExp6N2"][1]) - np.mean(RUNS["LiqExp2N2"][1]))
    # Holm over the 1 Welch and 3 DeLong tests, by hand.
    raw = [welch.p_value] + [r.p_value for r, _ in delong]
    order, running, holm = np.argsort(raw), 0.0, [0.0] * len(raw)
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(raw) - rank) * raw[index]))
        holm[index] = running
    assert [welch_p] + [q for _, q in delong] == pytest.approx(holm)
    assert len(delong) == 3 and all(r.difference > 0 for r, _ in delong)
    assert t.verdict == "supported" and welch_p < 0.05 and all(q < 0.05 for _, q in delong)


def test_the_report_has_the_section_after_the_claims(study, tmp_path):
    out, results = study
    section = "\n".join(extensions_section(results))
    assert section.startswith("## Beyond the paper: the extensions against their pairs")
    assert ("Of 1 pair, the extension is better beyond both noises in 1, worse in 0, and not decidable in 0."
            in section)
    assert "| CfcExp6N2 (1,000) | LiqExp2N2 (37,265) | 0.913 ± 0.015 (n=3) | 0.810 ± 0.010 (n=3) | +0.103 |" in section
    assert "| 3 of 3 | 2 / 0.50 | 2 / 0.50 | supported |" in section
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert md.index("## The paper's conclusions, tested") < md.index("## Beyond the paper") < md.index("## Training cost")
    # Claim (c) counts the paper's LTC models only: LiqExp2N2. The family bests above the claims say where they differ.
    assert "| LTC | 1 |" in md
    assert "Models beyond the paper (exp6: CfC and mixed-memory LTC) count in the LTC family here" in md


def test_no_section_without_a_pair(study):
    _, results = study
    assert extensions_section([r for r in results if r.model != "LiqExp2N2"]) == []
