"""The paper's conclusions as tested claims: a worked example of each verdict, cross-checked against scipy.

Hand-made runs on vessel, three seeds each, with predictions.csv on 60 test volumes so that DeLong's
test runs. The LTC best is ahead of the LSTM best by far (claim a: supported), level with the CNN
best (claim b: within seed noise), and the LSTM as the paper's code ran it is worse still.
"""
import csv
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats

from keras_lnn import report
from keras_lnn.cli import main
from keras_lnn.report import cost
from keras_lnn.report.claims import claim_verdict, comparisons, survival
from keras_lnn.report.collect import find_metrics_files, group_results, load_metrics
from keras_lnn.report.earlier import Summary, earlier_verdicts, read_summaries
from keras_lnn.report.layout import layout_verdict
from tests.test_report import write_run

LTC = {"LiqExp2N2": ([0.90, 0.91, 0.92], 0.80), "LiqExp2N5": ([0.95, 0.96, 0.97], 0.70)}  # test AUCs, val AUC
OTHERS = {"CNNExp2N4": ([0.89, 0.91, 0.90], 0.79), "LSTMExp5N2": ([0.70, 0.71, 0.72], 0.75),
          "LSTMExp5N2AcrossBatch": ([0.60, 0.62, 0.61], 0.70)}
SIGNAL = {"LiqExp2N2": 2.0, "LiqExp2N5": 2.0, "CNNExp2N4": 2.0, "LSTMExp5N2": 0.3, "LSTMExp5N2AcrossBatch": 0.1}
EXPERIMENT = {"LSTMExp5N2": "exp5", "LSTMExp5N2AcrossBatch": "exp5-across-batch"}


def write_predictions(model_dir, signal, seed):
    """60 test volumes, half positive; a model's probability separates them by `signal` (noise sd 1, its own draw)."""
    rng = np.random.default_rng([seed, zlib.crc32(model_dir.name.encode())])
    labels = np.repeat([0, 1], 30)
    scores = 1 / (1 + np.exp(-(labels * signal + rng.normal(size=60))))
    with open(model_dir / "predictions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "index", "label", "probability"])
        writer.writerows(["test", i, label, score] for i, (label, score) in enumerate(zip(labels, scores)))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("claims") / "OUT"
    for model, (aucs, val_auc) in {**LTC, **OTHERS}.items():
        for seed, auc in enumerate(aucs):
            model_dir = write_run(out, model, seed, auc, experiment=EXPERIMENT.get(model, "exp2"), n_seeds=3,
                                  val={"acc": 0.8, "auc": val_auc}, train_seconds=100.0 + 10 * seed)
            write_predictions(model_dir, SIGNAL[model], seed)
    results = group_results([load_metrics(path) for path in find_metrics_files([out])])
    return out, results


def test_family_bests_are_chosen_on_validation_not_test(study):
    _, results = study
    found = comparisons([r for r in results if not r.model.endswith("AcrossBatch")])
    # LiqExp2N5 has the higher test AUC but the lower validation AUC: LiqExp2N2 is the LTC best.
    assert {c.claim: (c.first.model, c.second.model) for c in found} == {
        "a": ("LiqExp2N2", "LSTMExp5N2"), "b": ("LiqExp2N2", "CNNExp2N4")}


def test_claims_worked_example_and_independent_cross_check(study):
    _, results = study
    found = {c.claim: c for c in comparisons([r for r in results if not r.model.endswith("AcrossBatch")],
                                             [r for r in results if r.model.endswith("AcrossBatch")])}
    a, b, as_run = found["a"], found["b"], found["a'"]
    # Welch's test, cross-checked against scipy on the raw per-seed AUCs.
    for c, other in ((a, "LSTMExp5N2"), (b, "CNNExp2N4"), (as_run, "LSTMExp5N2AcrossBatch")):
        expected = scipy_stats.ttest_ind(LTC["LiqExp2N2"][0], OTHERS[other][0], equal_var=False).pvalue
        assert c.welch.p_value == pytest.approx(expected, rel=1e-9)
    # Holm over all 3 Welch + 9 DeLong tests, by hand: sorted p times (m - rank), running maximum, capped at 1.
    raw = [c.welch.p_value for c in (a, b, as_run)] + [r.p_value for c in (a, b, as_run) for _, r in c.delong]
    order, running, holm = np.argsort(raw), 0.0, [0.0] * len(raw)
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(raw) - rank) * raw[index]))
        holm[index] = running
    assert [a.welch_p, b.welch_p, as_run.welch_p] == pytest.approx(holm[:3])
    assert len(a.delong) == len(b.delong) == 3
    assert a.verdict == "supported"  # 0.91 vs 0.71, and far apart on the test volumes of every seed
    assert b.verdict == "not decidable with 3 seeds: within seed noise"  # 0.91 vs 0.90
    assert as_run.verdict == "supported"
    assert a.ahead() == (2, 2) and b.ahead() == (2, 2)  # both LTC models' mean test AUC exceed the other bests'


@pytest.mark.parametrize("difference, welch_p, delong, verdict", [
    (0.05, 0.01, [(0.05, 0.01)] * 3, "supported"),
    (-0.05, 0.01, [(-0.05, 0.01)] * 3, "not supported"),
    (0.05, 0.20, [(0.05, 0.01)] * 3, "not decidable with 3 seeds: within seed noise"),
    (0.05, 0.01, [(0.05, 0.01), (0.05, 0.30), (0.05, 0.01)], "not decidable with 3 seeds: beyond seed noise, "
                                                             "within test-set noise"),
    (0.05, 0.01, [(0.05, 0.01), (-0.02, 0.01)], "not decidable with 3 seeds: beyond seed noise, within test-set noise"),
    (0.05, None, [], "not decidable with 3 seeds: no test over seeds"),
])
def test_claim_verdict_needs_both_noises(difference, welch_p, delong, verdict):
    assert claim_verdict(difference, welch_p, delong, 3) == verdict


UNDECIDED = "not decidable with 3 seeds: within seed noise"


@pytest.mark.parametrize("intended, as_run, outcome", [
    ("supported", "supported", "survives baselines that recur across slices"),
    ("supported", "not supported", "survives baselines that recur across slices"),
    ("not supported", "supported", "does not survive baselines that recur across slices (they are ahead); it holds "
                                   "only against the baselines as the paper's code ran them, so its support comes "
                                   "from their layout"),
    ("not supported", UNDECIDED, "does not survive baselines that recur across slices (they are ahead), nor against "
                                 "the baselines as the paper's code ran them"),
    (UNDECIDED, "supported", "is not established against baselines that recur across slices (not decidable); it "
                             "holds only against the baselines as the paper's code ran them, so its support comes "
                             "from their layout"),
    (UNDECIDED, UNDECIDED, "is established against neither form of the baselines"),
    (UNDECIDED, "not supported", "is established against neither form of the baselines"),
])
def test_survival_never_reads_not_decidable_as_a_verdict(intended, as_run, outcome):
    assert survival(intended, as_run) == outcome


def test_layout_verdict_counts_each_paper_value_once():
    fits = [(False, True)] * 3 + [(True, False), (False, False), (None, False), (True, True)]
    assert layout_verdict(fits) == (
        "Of the paper's 7 recurrent values, 3 fit the layout as run only (what the layout predicts); 1 fit both forms "
        "(the data cannot tell them apart there); 1 fit the form across slices only; 1 fit neither form; 1 without both "
        "intervals (fewer than 2 seeds or no spread).")


def test_report_states_the_claims_and_whether_a_survives(study, tmp_path):
    out, _ = study
    summary = tmp_path / "earlier" / "summary.csv"
    summary.parent.mkdir()
    summary.write_text("dataset,model,n,test_auc_mean,test_auc_sd,val_auc_mean\n"
                       "vessel,LiqExp2N2,3,0.809,0.002,0.816\nvessel,LSTMExp5N2,3,0.842,0.008,0.830\n"
                       "vessel,CNNExp2N4,3,0.850,0.005,0.839\n")
    md = report.write_report([out], tmp_path / "report", earlier=[summary])["markdown"].read_text()
    section = md[md.index("## The paper's conclusions, tested"):md.index("## Training cost")]
    assert "Holm's correction over the 12 tests of this table" in section
    assert "| (a) | LiqExp2N2 (37,265) | LSTMExp5N2 (71,637) | 0.910 ± 0.010 (n=3) | 0.710 ± 0.010 (n=3) |" in section
    assert "Verdict: **supported**." in section
    assert ("Against baselines recurring across slices: supported. Against the baselines as the paper ran them: "
            "supported. So claim (a) survives baselines that recur across slices.") in section
    # The layout's effect on LSTMExp5N2 (0.61 as run against 0.71), and the paper's vessel AUC (0.792).
    assert "| LSTMExp5N2 | 0.710 ± 0.010 (n=3) | 0.610 ± 0.010 (n=3) | -0.100 |" in section
    assert "| LSTMExp5N2 | 0.792 | 0.660 to 0.760: outside | 0.560 to 0.660: outside |" in section
    assert "Of the paper's 1 recurrent value, 1 fit neither form." in section
    # (c): LiqExp2N2 37,265 and LiqExp2N5 1,000 parameters (median 19,132), CNNExp2N4 13,739, LSTMExp5N2 71,637.
    assert ("the LTC median (19,132) is not below the CNN median (13,739); below the LSTM/RNN median (71,637). "
            "Verdict: **not supported**.") in section
    # The earlier study's summaries: LTC behind both bests beyond seed noise there.
    assert "| vessel (VesselMNIST3D, 28^3) | (a) | supported | earlier | not supported | no |" in section
    assert ("| vessel (VesselMNIST3D, 28^3) | (b) | not decidable with 3 seeds: within seed noise | earlier | "
            "not supported | no |") in section


def test_earlier_study_verdicts_and_errors(study, tmp_path):
    rows = [Summary("adrenal", "LiqExp1N2", 3, 0.85, 0.01, 0.80), Summary("adrenal", "CNNExp1N1", 3, 0.80, 0.01, 0.79)]
    assert earlier_verdicts(rows, "adrenal") == {"b": "supported"}  # no LSTM/RNN row: claim (a) is not made
    assert earlier_verdicts(rows, "vessel") == {}
    bad = tmp_path / "summary.csv"
    bad.write_text("dataset,model,n,test_auc_mean,test_auc_sd,val_auc_mean\nadrenal,LiqExp1N2,3,0.8,n/a,0.8\n")
    with pytest.raises(report.ReportError, match=r"summary.csv, row 2: test_auc_sd is 'n/a', expected a number"):
        read_summaries(bad)
    bad.write_text("dataset,model,n\n")
    with pytest.raises(report.ReportError, match="lacks test_auc_mean, test_auc_sd, val_auc_mean"):
        read_summaries(bad)
    result = CliRunner().invoke(main, ["report", str(study[0]), "--output", str(tmp_path / "report"),
                                       "--earlier-study", str(bad)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "summary.csv: an earlier study's summary needs the columns" in result.output
    assert not (tmp_path / "report").exists()  # no partial report


def test_training_time_leaves_out_a_pause_of_the_machine(tmp_path):
    # A run of 5 epochs of about 2 s, one of which lasted 600 s: the machine was paused (SIGSTOP) mid-epoch.
    model_dir = write_run(tmp_path / "OUT", "LiqExp2N2", 0, 0.9, n_seeds=1, epochs=5, train_seconds=608.0)
    rows = ["epoch,loss,val_loss,epoch_seconds"] + [f"{e},0.5,0.5,{s}" for e, s in enumerate([2.5, 1.9, 600.0, 2.0, 2.1])]
    (model_dir / "history.csv").write_text("\n".join(rows) + "\n")
    m = load_metrics(model_dir / "metrics.json")
    assert cost.epoch_seconds(m) == 2.1  # the median epoch, not 608 / 5
    assert cost.training_seconds(m) == pytest.approx(10.5)
    section = "\n".join(cost.training_cost_section(group_results([m])))
    assert "| vessel | LiqExp2N2 | 1 | 5 | 5-5 | 2.10 | 0.2 |" in section
    # Without history.csv the recorded seconds are all there is.
    (model_dir / "history.csv").unlink()
    m = load_metrics(model_dir / "metrics.json")
    assert cost.epoch_seconds(m) == pytest.approx(608.0 / 5) and cost.training_seconds(m) == pytest.approx(608.0)
