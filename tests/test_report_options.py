"""keras_lnn.report.options: training options against the paper's, TTA against plain evaluation, and which
family leads under each setting; and the Reproduce commands that carry the options."""
import pytest
from scipy import stats as scipy_stats

from keras_lnn import report
from tests.test_report import _row, write_run

PAPER = {"augment": [], "class_weight": None, "tta": True}
LEVERS = {"augment": ["flip", "rot90"], "class_weight": "balanced", "tta": True}
LEVERS_SUFFIX = "_aug-flip-rot90_cw-balanced"
# Test AUC per seed: with the paper's options the CNN leads, with the levers the LTC model does.
TEST_AUC = {("CNNExp2N4", "paper"): [0.85, 0.86, 0.87], ("LiqExp4N2", "paper"): [0.70, 0.72, 0.71],
            ("CNNExp2N4", "levers"): [0.80, 0.81, 0.82], ("LiqExp4N2", "levers"): [0.83, 0.84, 0.85]}
LABELS = [0, 0, 1, 1, 0, 1]
PLAIN = [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]  # AUC 8/9; against a constant 0.5 DeLong gives z = 2.47, p = 0.0133


def _split(auc):
    return {"acc": 0.8, "auc": auc, "loss": 0.4}


def write_study(out, *, tta_probabilities=None):
    """Both models, seeds 0-2, under the paper's options and the levers, every run evaluated with TTA
    (TTA scores: the plain ones + 0.01); predictions.csv with both columns when `tta_probabilities`."""
    for (model, setting), aucs in TEST_AUC.items():
        experiment = "exp2" if model.startswith("CNN") else "exp4"
        for seed, auc in enumerate(aucs):
            model_dir = write_run(
                out, model, seed, auc, experiment=experiment, n_seeds=3, dataset="adrenal",
                folder_suffix="" if setting == "paper" else LEVERS_SUFFIX,
                training_options=PAPER if setting == "paper" else LEVERS,
                val=_split(auc), tta={"views": 8, "val": _split(auc + 0.01), "test": _split(auc + 0.01)})
            if tta_probabilities is not None:
                rows = ["split,index,label,probability,probability_tta"]
                rows += [f"test,{i},{y},{p},{t}" for i, (y, p, t) in enumerate(zip(LABELS, PLAIN, tta_probabilities))]
                (model_dir / "predictions.csv").write_text("\n".join(rows) + "\n")


def _markdown(out, tmp_path):
    return report.write_report(out, tmp_path / "r")["markdown"].read_text()


def _holm(p_values):
    """Holm's adjusted p-values by the textbook's sequential maxima (an independent check)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def test_options_against_the_papers_per_model_with_holm_over_the_table(tmp_path):
    write_study(tmp_path / "OUT")
    md = _markdown(tmp_path / "OUT", tmp_path)
    section = "### What the training options change"
    # Worked example: CNNExp2N4, levers - paper = 0.81 - 0.86 = -0.050 (plain), the same with TTA (+0.01 each).
    row = _row(md, "CNNExp2N4 | augment flip+rot90, class_weight balanced | plain", section)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:6] == ["0.860 ± 0.010 (n=3)", "0.810 ± 0.010 (n=3)", "-0.050"]
    # Cross-check with scipy: four tests (2 models x plain/TTA), Holm-adjusted together.
    raw = {model: scipy_stats.ttest_ind(TEST_AUC[(model, "levers")], TEST_AUC[(model, "paper")], equal_var=False)
           for model in ("CNNExp2N4", "LiqExp4N2")}
    assert float(cells[6]) == pytest.approx(raw["CNNExp2N4"].statistic, abs=0.01)
    holm = _holm([raw["CNNExp2N4"].pvalue] * 2 + [raw["LiqExp4N2"].pvalue] * 2)
    assert float(cells[8]) == pytest.approx(raw["CNNExp2N4"].pvalue, abs=0.001)
    assert float(cells[9]) == pytest.approx(holm[0], abs=0.001)
    assert cells[10] == ("exceeds seed noise" if holm[0] < 0.05 else "within seed noise")
    assert "over the 4 tests of this table" in md[md.index(section):]


def test_which_family_leads_changes_with_the_options(tmp_path):
    write_study(tmp_path / "OUT")
    md = _markdown(tmp_path / "OUT", tmp_path)
    section = "### What the training options change"
    paper = _row(md, "paper's training options | plain", section)
    levers = _row(md, "augment flip+rot90, class_weight balanced | plain", section)
    assert "| CNN: CNNExp2N4 | 0.860 ± 0.010 (n=3) | LTC: LiqExp4N2 | 0.710 ± 0.010 (n=3) | CNN | +0.150 |" in paper
    assert "| LTC | -0.030 |" in levers
    p = scipy_stats.ttest_ind(TEST_AUC[("CNNExp2N4", "levers")], TEST_AUC[("LiqExp4N2", "levers")],
                              equal_var=False).pvalue
    assert f"| {p:.3f} |" in levers
    assert _row(md, "augment flip+rot90, class_weight balanced | TTA", section)  # TTA rows when every run has TTA


def test_tta_against_plain_is_delongs_paired_test_per_run(tmp_path):
    write_study(tmp_path / "OUT", tta_probabilities=[0.5] * 6)
    md = _markdown(tmp_path / "OUT", tmp_path)
    tail = md[md.index("Test-time augmentation against plain evaluation"):]
    assert "over the 12 tests of this table" in tail
    row = _row(md, "CNNExp2N4 [augment flip+rot90, class_weight balanced]", "Test-time augmentation against plain")
    # 0.5 - 8/9 = -0.389; z and p of tests/test_stats.py's worked example, sign turned; Holm: 12 * 0.0133 > 0.05.
    assert row.endswith("| 0.889 | 0.500 | -0.389 | -2.47 | 0.013 | 0.160 | within test-set noise |")


def test_no_section_without_options_or_tta(tmp_path):
    for seed in (0, 1):
        write_run(tmp_path / "OUT", "CNNExp2N4", seed, 0.8)
        write_run(tmp_path / "OUT", "LiqExp2N2", seed, 0.7)
    assert "What the training options change" not in _markdown(tmp_path / "OUT", tmp_path)


def test_options_are_not_compared_across_backends(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_run(out, "CNNExp2N4", seed, 0.8, training_options={**PAPER, "tta": False})
        write_run(out, "CNNExp2N4", seed, 0.7, folder_suffix=LEVERS_SUFFIX, backend="jax",
                  training_options={**LEVERS, "tta": False})
    md = _markdown(out, tmp_path)
    assert "Training options against the paper's" not in md  # the backend differs too: no options effect alone


def test_reproduce_commands_carry_the_training_options(tmp_path):
    write_study(tmp_path / "OUT")
    md = _markdown(tmp_path / "OUT", tmp_path)
    block = md[md.index("## Reproduce"):md.index("## Completeness")]
    commands = [line for line in block.splitlines() if "lnn-keras run" in line]
    assert len(commands) == 4  # two experiments x two settings
    levers = [c for c in commands if "--augment" in c]
    assert len(levers) == 2 and all("--augment flip,rot90 --class-weight balanced --tta" in c for c in levers)
    assert all("--seeds 0,1,2" in c and " --tta" in c for c in commands)


def test_settings_say_tta_is_an_evaluation_and_their_long_labels_draw_without_warnings(tmp_path, recwarn):
    """A paper-protocol run evaluated with TTA is labelled as the paper's training, and the score
    figure's tick labels (model + setting) wrap instead of squeezing the axes to nothing."""
    write_study(tmp_path / "OUT")
    md = _markdown(tmp_path / "OUT", tmp_path)
    assert "CNNExp2N4 [paper's training options, TTA evaluated too]" in md
    assert "CNNExp2N4 [augment flip+rot90, class_weight balanced, TTA evaluated too]" in md
    assert not [w for w in recwarn if "constrained_layout" in str(w.message)]
