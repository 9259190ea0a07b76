"""`lnn-keras report` on hand-written run folders: contents, figures, self-contained HTML, errors."""
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from keras_lnn import report
from keras_lnn.cli import main
from keras_lnn.data import file_md5
from tests.conftest import write_medmnist_npz

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PARAMS = {"CNNExp2N4": 13739, "LiqExp2N2": 37265, "LSTMExp5N2": 71637, "CNNExp1N4": 27701}


def write_run(out, model, seed, test_auc, *, experiment="exp2", dataset="vessel", n_seeds=2, test_acc=0.88,
              status="finished", n_classes=2, data_md5="0" * 32, epochs=2, folder_suffix="", epoch_seconds=0.5,
              **extra):
    """Writes OUT/<run folder>/<model>/metrics.json and history.csv as `lnn-keras run` would
    (`folder_suffix`: the training options' part of the folder name, "_aug-flip" say)."""
    folder = f"{experiment}_{dataset}{folder_suffix}" + (f"_seed{seed}" if n_seeds > 1 else "")
    model_dir = out / folder / model
    model_dir.mkdir(parents=True, exist_ok=True)
    scores = None if status == "failed" else {"acc": test_acc, "auc": test_auc, "loss": 0.4}
    metrics = {
        "model": model, "experiment": experiment, "dataset": dataset, "size": 28, "n_classes": n_classes,
        "seed": seed, "backend": "tensorflow", "status": status,
        "error": "loss became NaN" if status == "failed" else None, "epochs": epochs, "stopped_early": False,
        "val": scores and {**scores, "acc": test_acc - 0.01}, "test": scores, "best_val_epoch": epochs - 1,
        "params": {"trainable": PARAMS.get(model, 1000), "non_trainable": 0, "paper": None},
        "train_seconds": epochs * epoch_seconds,
        "protocol": {"max_epochs": epochs, "batch_size": 64, "learning_rate": 0.0005, "patience": 10,
                     "min_delta": 0.001},
        "data": {"file": f"{dataset}mnist3d.npz", "md5": data_md5, "n_samples": {"train": 24, "val": 8, "test": 10}},
        "data_md5": data_md5,
        "versions": {"keras_lnn": "0.1.0", "keras": "3.9.9", "backend": "tensorflow", "backend_version": "2.99",
                     "device": "cpu"},
        **extra,
    }
    (model_dir / "metrics.json").write_text(json.dumps(metrics))
    rows = ["epoch,loss,val_loss,accuracy,val_accuracy,auc,val_auc,epoch_seconds"]
    rows += [f"{e},{0.7 - 0.1 * e},{0.72 - 0.05 * e - 0.01 * seed},0.8,0.8,0.6,0.6,{epoch_seconds}" for e in range(epochs)]
    (model_dir / "history.csv").write_text("\n".join(rows) + "\n")
    return model_dir


@pytest.fixture(scope="module")
def vessel_runs(tmp_path_factory):
    """Two models x two seeds on a synthetic vessel file whose test split is 9 negatives and 1 positive."""
    root = tmp_path_factory.mktemp("report")
    labels = np.array([[0]] * 9 + [[1]], dtype=np.uint8)
    data = write_medmnist_npz(root / "data" / "vesselmnist3d.npz", counts=(4, 2, 10),
                              overrides={"test_labels": labels})
    md5 = file_md5(data)
    out = root / "OUT"
    for seed, (cnn_auc, liq_auc) in enumerate([(0.70, 0.61), (0.72, 0.60)]):
        write_run(out, "CNNExp2N4", seed, cnn_auc, data_md5=md5)
        write_run(out, "LiqExp2N2", seed, liq_auc, test_acc=0.9, data_md5=md5)
    paths = report.write_report([out], root / "report", data_dir=root / "data")
    return out, root, paths, paths["markdown"].read_text()


def _row(markdown, first_cell, section="## Table 2"):
    """The first table row starting with `first_cell` after the heading `section`."""
    tail = markdown[markdown.index(section):]
    return next(line for line in tail.splitlines() if line.startswith(f"| {first_cell} |"))


def test_report_tables(vessel_runs):
    _, _, _, md = vessel_runs
    cnn = _row(md, "CNNExp2N4")
    assert "0.710 ± 0.014 (n=2)" in cnn  # test AUC over the two seeds
    assert "0.880 ± 0.000 (n=2)" in cnn
    assert cnn.endswith("| 0.878 | 0.796 |")  # the paper's Table 2 values on vessel
    assert _row(md, "LiqExp2N2").endswith("| - | - |")  # not in Table 2
    assert "| always class 0, the test majority (constant) | - | 0.900 | 0.500 |" in md  # 9 of 10 test labels are 0
    assert "computed from the test labels of" in md
    assert _row(md, "ResNet-18 + 3D").startswith("| ResNet-18 + 3D | 0.877 | 0.874 |")
    assert "| AutoKeras | 0.894 | 0.773 |" in md  # MedMNIST v2's table
    # Table 1 audit, from metrics.json.
    assert "| CNNExp2N4 | exp2 | 13,739 | 13,739 | 0 | 0 | yes |" in md


def test_report_header_and_notes(vessel_runs):
    out, _, _, md = vessel_runs
    assert "4 metrics files in 2 run folders" in md
    assert "seeds: 0, 1" in md and "keras: 3.9.9" in md and "devices: cpu" in md
    assert "**not the paper's protocol**: max_epochs 2 (paper 500)" in md
    assert (f"KERAS_BACKEND=tensorflow lnn-keras run exp2 --dataset vessel --models LiqExp2N2,CNNExp2N4 "
            f"--seeds 0,1 --max-epochs 2 --no-verify --data-dir DATA_DIR --output {out}") in md
    assert "| vessel | exp2 | CNNExp2N4 | 0, 1 | - | - | complete |" in md
    assert "- exp2 on vessel: CNNExp2N1, CNNExp2N3, LiqExp2N5, LiqExp2N6" in md
    assert "mini-batch" in md and "across slices" in md  # the LSTM/RNN layout note


def test_seed_noise_section(vessel_runs):
    _, _, _, md = vessel_runs
    assert "Welch's two-sample t-test" in md
    assert ("Best model of each family by mean validation AUC over seeds: LTC: LiqExp2N2 (val AUC 0.605 ± 0.007 (n=2), "
            "test AUC 0.605 ± 0.007 (n=2)); CNN: CNNExp2N4") in md
    # AUCs 0.61, 0.60 vs 0.70, 0.72: Welch's t = -9.39 on 1.5 df, p = 0.027; the only test made, so Holm's p is the same.
    assert "| LiqExp2N2 vs CNNExp2N4 | AUC | -0.105 | -9.39 | 1.5 | 0.027 | 0.027 | exceeds seed noise |" in md
    assert "| LiqExp2N2 vs CNNExp2N4 | ACC | +0.020 | - | - | - | - | no verdict" in md  # constant ACCs
    assert "over the 1 test of this table" in md
    assert "Which differences exceed test-set noise" not in md  # no predictions.csv in these runs: no DeLong section


def test_paper_values_against_the_seeds_prediction_interval(vessel_runs, tmp_path):
    _, _, _, md = vessel_runs
    section = "### The paper's single runs"
    # AUC 0.70, 0.72: 0.710 ± t(1) 12.706 * 0.01414 * sqrt(1.5) = 0.490 to 0.930, holding the paper's 0.796.
    assert "| CNNExp2N4 | AUC | 0.796 | 0.710 ± 0.014 (n=2) | +0.086 | 0.490 to 0.930 | inside |" in md
    assert "| CNNExp2N4 | ACC | 0.878 | 0.880 ± 0.000 (n=2) | -0.002 | - | no verdict (no spread over seeds) |" in md
    assert "Inside: 0 of 0 ACC values, 1 of 1 AUC values." in md
    # t(1) · sqrt(1 + 1/2) = 12.706 · 1.225: the reach of every interval tested here.
    assert ('The interval reaches ± 15.56 standard deviations with 2 seeds, so an "inside" with 2 seeds says '
            "little. Inside:") in md
    assert "| LiqExp2N2 | AUC" not in md[md.index(section):]  # not in the paper's Table 2

    out = tmp_path / "OUT"
    for seed, auc in enumerate([0.90, 0.91, 0.92]):  # far above the paper's 0.829 for LSTMExp5N2 on adrenal
        write_run(out, "LSTMExp5N2", seed, auc, experiment="exp5", dataset="adrenal", n_seeds=3, test_acc=0.77 + seed / 100)
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert "| LSTMExp5N2 † | AUC | 0.829 | 0.910 ± 0.010 (n=3) | -0.081 | 0.860 to 0.960 | outside |" in md
    assert "The interval reaches ± 4.97 standard deviations with 3 seeds. Inside:" in md  # t(2) · sqrt(4/3)
    assert "† LSTM/RNN baseline" in md
    assert report.write_report(out, tmp_path / "r")["html"].read_text().count("†") >= 2


def _write_predictions(model_dir, labels, probabilities):
    rows = ["split,index,label,probability"] + [f"val,{i},{y},0.5" for i, y in enumerate(labels)]
    rows += [f"test,{i},{y},{p}" for i, (y, p) in enumerate(zip(labels, probabilities))]
    (model_dir / "predictions.csv").write_text("\n".join(rows) + "\n")


def test_delong_section_from_predictions(tmp_path):
    out = tmp_path / "OUT"
    labels = [0, 0, 1, 1, 0, 1]
    for seed in (0, 1):
        liquid = write_run(out, "LiqExp2N2", seed, 0.6 + seed / 100)
        cnn = write_run(out, "CNNExp2N4", seed, 0.7 + seed / 100)
        _write_predictions(liquid, labels, [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])  # AUC 8/9
        if seed == 0:  # seed 1 of the CNN predates predictions.csv: no paired test for that seed
            _write_predictions(cnn, labels, [0.5] * 6)  # AUC 1/2
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert "DeLong's test of two correlated ROC AUCs" in md
    # Worked by hand in tests/test_stats.py: z = (8/9 - 1/2) / (sqrt(2)/9) = 2.47, p = 0.013.
    assert "| LiqExp2N2 vs CNNExp2N4 | 0 | 0.889 | 0.500 | +0.389 | 2.47 | 0.013 | 0.013 | exceeds test-set noise |" in md
    assert "| LiqExp2N2 vs CNNExp2N4 | 1 |" not in md

    _write_predictions(out / "exp2_vessel_seed0" / "CNNExp2N4", [1, 0, 1, 1, 0, 0], [0.5] * 6)  # other volumes
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert "Which differences exceed test-set noise" not in md


def test_figures_are_valid_pngs(vessel_runs):
    import matplotlib.image

    _, root, paths, md = vessel_runs
    assert sorted(p.name for p in paths["figures"]) == ["exp2_vessel_scores.png", "exp2_vessel_val_loss.png"]
    for path in paths["figures"]:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) < 300_000
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 400
        assert f"](figures/{path.name})" in md  # linked relatively
    assert paths["figures"][0].parent == root / "report" / "figures"


def test_html_is_self_contained(vessel_runs):
    _, _, paths, _ = vessel_runs
    page = paths["html"].read_text()
    assert page.count('src="data:image/png;base64,') == 2
    assert 'src="figures/' not in page and "http://" not in page and "https://" not in page
    assert not re.search(r'(?:src|href)="(?!data:)', page) and "<link" not in page
    assert "<style>" in page and '<td class="r">0.878</td>' in page
    assert "<h2>Table 2: vessel (VesselMNIST3D, 28^3)</h2>" in page


def test_one_seed_a_failure_and_the_paper_fallback(tmp_path):
    out = tmp_path / "OUT"
    write_run(out, "CNNExp2N4", 0, 0.7, n_seeds=1)
    write_run(out, "LiqExp2N2", 0, None, n_seeds=1, status="failed")
    md = report.write_report(out, tmp_path / "r", data_dir=tmp_path / "nothing")["markdown"].read_text()
    assert "0.700 ± - (n=1)" in md
    assert "LiqExp2N2 on vessel, seed 0: loss became NaN" in md
    assert "| vessel | exp2 | LiqExp2N2 | - | 0 | - | incomplete |" in md
    assert "| always class 0, the test majority (constant) | - | 0.890 |" in md and "approx., as the paper states (docs/architectures.md)" in md
    assert "Fewer than two model families" in md  # the failed model has no scores


def test_not_enough_seeds_and_recorded_majority(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_run(out, "CNNExp2N4", seed, 0.7 + seed / 100, test_majority_acc=0.8)
    write_run(out, "LiqExp2N2", 0, 0.6)
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    # v1's test_majority_acc holds the share, not the class.
    assert "| always the test majority class (constant) | - | 0.800 |" in md and "recorded in metrics.json" in md
    assert "not enough seeds (n=1 and 2)" in md
    assert "seeds missing" not in md and "| vessel | exp2 | LiqExp2N2 | 0 | - | 1 | incomplete |" in md


def test_completeness_expects_every_seed_and_experiment_of_the_report(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1, 2):
        write_run(out, "CNNExp2N4", seed, 0.7, n_seeds=3)
    for seed in (0, 1):  # exp5's seed-2 folder was never created
        write_run(out, "LSTMExp5N2", seed, 0.8, experiment="exp5", n_seeds=3)
    write_run(out, "CNNExp2N4", 0, 0.7, dataset="adrenal", n_seeds=3)  # no exp5 on adrenal at all
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert "| vessel | exp5 | LSTMExp5N2 | 0, 1 | - | 2 | incomplete |" in md
    assert "| vessel | exp2 | CNNExp2N4 | 0, 1, 2 | - | - | complete |" in md
    assert "- exp5 on adrenal: LiqExp5N1, LSTMExp5N2, LSTMExp5N3" in md  # a whole experiment never run
    assert "- vessel: 5 of 36 model/seed runs finished (12 models x 3 seeds); 1 of 12 models finished" in md
    assert "- adrenal: 1 of 12 model/seed runs finished (12 models x 1 seed); 1 of 12 models finished" in md


def _part_trained(out, folder, model, epochs, **settings):
    """A model folder as an interrupted `lnn-keras run` leaves it: settings.json and history.csv, no metrics."""
    model_dir = out / folder / model
    model_dir.mkdir(parents=True)
    (model_dir / "settings.json").write_text(json.dumps({"model": model, "size": 28, **settings}))
    rows = ["epoch,loss,val_loss"] + [f"{e},0.5,0.5" for e in range(epochs)]
    (model_dir / "history.csv").write_text("\n".join(rows) + "\n")


def test_provenance_lines_count_runs_where_they_differ(tmp_path):
    out = tmp_path / "OUT"
    gpu = {"keras_lnn": "0.1.0", "keras": "3.9.9", "backend": "jax", "backend_version": "0.11", "device": "gpu:H200"}
    write_run(out, "CNNExp2N4", 0, 0.7, n_seeds=3, versions=gpu)
    write_run(out, "CNNExp2N4", 1, 0.7, n_seeds=3, versions={**gpu, "deterministic_ops": True})
    moved = [{"first_epoch": 0, "epochs": 1, "device": "gpu:H200"}, {"first_epoch": 1, "epochs": 1, "device": "cpu"}]
    write_run(out, "CNNExp2N4", 2, 0.7, n_seeds=3, sessions=moved)
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert "- devices: cpu (1 run), gpu:H200 (2 runs)" in md
    assert "- resumed after an interruption: 1 run, 1 of them on another device" in md
    assert "- deterministic kernels (`--deterministic`): not recorded (2 runs), yes (1 run)" in md
    assert "- backends: tensorflow (3 runs)" not in md and "- keras_lnn: 0.1.0;" in md  # one value: no count
    assert "backend_version" not in md and "- seeds: 0, 1, 2" in md


def test_completeness_shows_part_trained_runs(tmp_path):
    out = tmp_path / "OUT"
    for seed in (0, 1):
        write_run(out, "CNNExp2N4", seed, 0.7, n_seeds=3)
    _part_trained(out, "exp2_vessel_seed2", "CNNExp2N4", 5, experiment="exp2", dataset="vessel", seed=2)
    _part_trained(out, "exp2_vessel_seed0", "LiqExp2N5", 3, experiment="exp2", dataset="vessel", seed=0)
    (out / "notes").mkdir()
    (out / "notes" / "settings.json").write_text("{}")  # not a run's: passed over
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    # Seed 2 exists only as a part-trained folder, and still counts as expected.
    assert "| vessel | exp2 | CNNExp2N4 | 0, 1 | - | 2 (5 epochs so far) | incomplete |" in md
    assert "- exp2 on vessel: CNNExp2N1, LiqExp2N2, CNNExp2N3, LiqExp2N5 (part-trained: seed 0 (3 epochs so far)), LiqExp2N6" in md
    assert ("- vessel: 2 of 18 model/seed runs finished (6 models x 3 seeds); 0 of 6 models finished for every seed; "
            "2 more part-trained (they resume where they stopped)") in md
    assert [u["epochs"] for u in report.find_unfinished([out])] == [3, 5]
    assert report.find_unfinished([out / "exp2_vessel_seed0" / "CNNExp2N4" / "metrics.json"]) == []


def test_reproduce_is_one_run_paper_for_the_papers_study(tmp_path):
    out = tmp_path / "OUT"
    firsts = {"exp1": "CNNExp1N1", "exp2": "CNNExp2N1", "exp3": "CNNExp3N1", "exp4": "CNNExp4N1", "exp5": "LiqExp5N1"}
    for experiment, model in firsts.items():
        for seed in (0, 1) if experiment == "exp5" else (0, 1, 2):  # exp5's seed 2 unfinished
            write_run(out, model, seed, 0.7, experiment=experiment, n_seeds=3)
    write_run(out, "CfcExp6N1", 0, 0.7, experiment="exp6", n_seeds=3)
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert (f"KERAS_BACKEND=tensorflow lnn-keras run paper --dataset vessel --models {','.join(firsts.values())} "
            f"--seeds 0,1,2 --max-epochs 2 --no-verify --data-dir DATA_DIR --output {out}") in md
    assert "lnn-keras run exp6 --dataset vessel --models CfcExp6N1 --seeds 0,1,2 --max-epochs 2" in md
    assert "lnn-keras run exp1 " not in md


def test_documented_lstm_delta_and_multiclass(tmp_path):
    out = tmp_path / "OUT"
    write_run(out, "LSTMExp5N2", 0, 0.8, experiment="exp5", n_seeds=1)
    write_run(out, "CNNExp1N4", 0, 0.9, experiment="exp1", dataset="organ", n_seeds=1, n_classes=11, test_acc=0.5)
    md = report.write_report(out, tmp_path / "r", data_dir=tmp_path)["markdown"].read_text()
    lstm = _row(md, "LSTMExp5N2", "## Table 1")
    assert "| 71,797 | 71,637 | 0 | -160 | yes |" in lstm and "bias" in lstm
    assert "one-output (binary) models, not 11 classes" in _row(md, "CNNExp1N4", "## Table 1")
    assert "always the test majority class (constant)" in md and "The paper's Table 2 has no organ column." in md
    assert (tmp_path / "r" / "figures" / "exp1_organ_scores.png").exists()


def test_data_file_from_other_runs_is_not_used(tmp_path):
    data = write_medmnist_npz(tmp_path / "data" / "vesselmnist3d.npz", counts=(4, 2, 4))
    write_run(tmp_path / "OUT", "CNNExp2N4", 0, 0.7, n_seeds=1, data_md5="f" * 32)
    md = report.write_report(tmp_path / "OUT", tmp_path / "r", data_dir=tmp_path / "data")["markdown"].read_text()
    assert f"{data} is not the file the runs used" in md and "| 0.890 |" in md


def test_same_run_reached_twice_counts_once(vessel_runs, tmp_path):
    out, _, _, _ = vessel_runs
    files = report.find_metrics_files([out, out / "exp2_vessel_seed0", out / "exp2_vessel_seed0" / "CNNExp2N4"])
    assert len(files) == 4


def test_markdown_to_html_subset():
    page = report.markdown_to_html(
        "# A <b>\n\ntext `x|y` and **bold**\nmore\n\n| m | v |\n|---|---:|\n| a\\|b | 1 |\n\n- one\n- two\n\n"
        "```\nlnn-keras run <x>\n```\n\n![alt](figures/f.png)",
        images={"figures/f.png": PNG_SIGNATURE},
    )
    assert "<h1>A &lt;b&gt;</h1>" in page
    assert "<p>text <code>x|y</code> and <strong>bold</strong> more</p>" in page
    assert '<tr><td>a|b</td><td class="r">1</td></tr>' in page
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in page
    assert "<pre><code>lnn-keras run &lt;x&gt;</code></pre>" in page
    assert '<img alt="alt" src="data:image/png;base64,iVBORw0KGgo=">' in page


# ---------------------------------------------------------------- CLI
def test_cli_report(vessel_runs, tmp_path):
    out, root, _, _ = vessel_runs
    result = CliRunner().invoke(main, ["report", str(out), "--output", str(tmp_path / "r"),
                                       "--data-dir", str(root / "data")])
    assert result.exit_code == 0, result.output
    assert "report.md" in result.output and "2 figures" in result.output
    assert (tmp_path / "r" / "report.html").exists()


def test_cli_report_without_metrics(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["report", str(tmp_path / "empty"), "--output", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "Error: no metrics.json found under" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content, message", [
    ('{"model": "CNNExp2N4", "stat', "cannot read"),
    ('{"model": "CNNExp2N4"}', "lacks experiment, dataset, seed, status"),
    ("[1, 2]", "expected a JSON object"),
])
def test_cli_report_corrupt_metrics(tmp_path, content, message):
    model_dir = write_run(tmp_path / "OUT", "CNNExp2N4", 0, 0.7, n_seeds=1)
    (model_dir / "metrics.json").write_text(content)
    result = CliRunner().invoke(main, ["report", str(tmp_path / "OUT"), "--output", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert f"Error: {model_dir / 'metrics.json'}" in result.output or str(model_dir / "metrics.json") in result.output
    assert message in result.output


def test_report_name_sets_the_file_names(vessel_runs, tmp_path):
    out, _, _, _ = vessel_runs
    result = CliRunner().invoke(main, ["report", str(out), "--output", str(tmp_path / "docs"), "--name", "results"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "docs" / "results.md").exists() and (tmp_path / "docs" / "results.html").exists()
    assert not (tmp_path / "docs" / "report.md").exists()
    assert "](figures/" in (tmp_path / "docs" / "results.md").read_text()


def test_intro_goes_under_the_title(vessel_runs, tmp_path):
    out, _, _, _ = vessel_runs
    intro = tmp_path / "intro.md"
    intro.write_text("Trained on **one H200** with `scripts/gpu_study.sh`.\n")
    result = CliRunner().invoke(main, ["report", str(out), "--output", str(tmp_path / "r"), "--intro", str(intro)])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "r" / "report.md").read_text()
    assert md.index("Written by") < md.index("Trained on **one H200**") < md.index("## What was read")
    assert "<strong>one H200</strong>" in (tmp_path / "r" / "report.html").read_text()
    missing = CliRunner().invoke(main, ["report", str(out), "--output", str(tmp_path / "r2"),
                                        "--intro", str(tmp_path / "nope.md")])
    assert missing.exit_code == 2 and "nope.md" in missing.output


def test_training_cost_table(vessel_runs):
    _, _, _, markdown = vessel_runs
    section = markdown.split("## Training cost", 1)[1].split("## Notes", 1)[0]
    # write_run: 2 epochs of 0.5 s each per seed, two seeds.
    assert "| vessel | CNNExp2N4 | 2 | 2 | 2-2 | 0.50 | 0.0 |" in section


def test_training_cost_splits_seconds_per_epoch_by_device(tmp_path):
    # A GPU epoch and a CPU epoch differ 50-fold: one mean over both machines would describe neither.
    out = tmp_path / "OUT"
    write_run(out, "CNNExp2N4", 0, 0.7, train_seconds=2.0, epoch_seconds=1.0)  # cpu
    write_run(out, "CNNExp2N4", 1, 0.7, train_seconds=0.04, epoch_seconds=0.02, versions={"device": "gpu:H200"})
    md = report.write_report(out, tmp_path / "r")["markdown"].read_text()
    assert "| vessel | CNNExp2N4 | 2 | 2 | 2-2 | 1.00 cpu; 0.02 gpu:H200 | 0.0 |" in md


def test_header_names_each_runs_cpu_and_threads(tmp_path):
    versions = {"keras_lnn": "0.1.0", "keras": "3.9.9", "backend": "tensorflow", "backend_version": "2.99", "device": "cpu"}
    zen2 = {**versions, "cpu": {"model": "AMD EPYC", "features": ["sse4_2", "avx", "avx2", "fma"]},
            "threads": {"tensorflow": {"intra_op": 2, "inter_op": 2}}}
    xeon = {**versions, "cpu": {"model": "Intel Xeon", "features": ["avx2", "avx512f", "avx512bw", "amx_tile"]},
            "threads": {"tensorflow": {"intra_op": 1, "inter_op": 1}}}
    write_run(tmp_path / "OUT", "CNNExp2N4", 0, 0.8, versions=zen2)
    write_run(tmp_path / "OUT", "CNNExp2N4", 1, 0.8, versions=xeon)
    write_run(tmp_path / "OUT", "LiqExp2N2", 0, 0.7, versions=xeon)
    md = report.write_report(tmp_path / "OUT", tmp_path / "r")["markdown"].read_text()
    assert ("- CPUs: AMD EPYC (avx2, no AVX-512), TensorFlow threads 2:2 (1 run); "
            "Intel Xeon (avx512f, amx_tile), TensorFlow threads 1:1 (2 runs)") in md
    write_run(tmp_path / "OLD", "CNNExp2N4", 0, 0.8)  # records made before the CPU was recorded: no line
    assert "- CPUs:" not in report.write_report(tmp_path / "OLD", tmp_path / "r2")["markdown"].read_text()
