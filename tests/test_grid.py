"""Grids of runs: `all` expands to the paper's five experiments, `--seeds` to one folder per seed, reruns skip."""
import json

from click.testing import CliRunner

from keras_lnn import runs
from keras_lnn.cli import main
from keras_lnn.report import write_report
from tests.conftest import write_medmnist_npz


def test_paper_plans_the_papers_five_experiments(tmp_path):
    plans = runs.plan_runs("paper", "adrenal", output=tmp_path)
    assert [p.run_dir for p in plans] == [tmp_path / f"exp{i}_adrenal" for i in range(1, 6)]
    assert sum(len(p.models) for p in plans) == 30 and all(p.seed == 0 for p in plans)


def test_all_plans_every_registered_experiment(tmp_path):
    plans = runs.plan_runs("all", "adrenal", output=tmp_path)
    assert [p.run_dir for p in plans] == [tmp_path / f"exp{i}_adrenal" for i in range(1, 7)]
    assert sum(len(p.models) for p in plans) == 36


def test_several_seeds_plan_one_folder_each(tmp_path):
    plans = runs.plan_runs("paper", "vessel", seeds=(0, 1), size=64, output=tmp_path)
    names = [p.run_dir.name for p in plans]
    assert len(names) == 10 and names[:2] == ["exp1_vessel_64_seed0", "exp2_vessel_64_seed0"]
    assert names[-1] == "exp5_vessel_64_seed1"
    assert runs.plan_runs("exp1", "vessel", seeds=(7,), output=tmp_path)[0].run_dir.name == "exp1_vessel"


def test_seeds_run_skip_on_rerun_and_report(tmp_path, skip_savedmodel_export):
    data_dir = tmp_path / "data"
    write_medmnist_npz(data_dir / "adrenalmnist3d.npz", counts=(16, 8, 8))
    args = ["run", "exp1", "--dataset", "adrenal", "--models", "CNNExp1N4", "--seeds", "0,1", "--max-epochs", "1",
            "--batch-size", "16", "--data-dir", str(data_dir), "--no-verify", "--output", str(tmp_path / "out"),
            "--quiet"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    metrics = {}
    for seed in (0, 1):
        path = tmp_path / "out" / f"exp1_adrenal_seed{seed}" / "CNNExp1N4" / "metrics.json"
        metrics[seed] = json.loads(path.read_text())
        assert metrics[seed]["seed"] == seed and metrics[seed]["status"] == "finished"
    assert not (tmp_path / "out" / "exp1_adrenal").exists()

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert again.output.count("already finished") == 2
    for seed in (0, 1):
        path = tmp_path / "out" / f"exp1_adrenal_seed{seed}" / "CNNExp1N4" / "metrics.json"
        assert json.loads(path.read_text())["finished_at"] == metrics[seed]["finished_at"]

    # The real artifacts feed the report: both seeds pooled, a curve per seed, the exact rerun command.
    md = write_report([tmp_path / "out"], tmp_path / "report", data_dir=data_dir)["markdown"].read_text()
    assert "(n=2)" in md and "| always class 0, the test majority (constant) | - | 0.500 |" in md
    assert "lnn-keras run exp1 --dataset adrenal --models CNNExp1N4 --seeds 0,1 --max-epochs 1 --batch-size 16" in md
    assert (tmp_path / "report" / "figures" / "exp1_adrenal_val_loss.png").stat().st_size > 1000


def test_a_single_model_name_plans_its_experiment_folder(tmp_path):
    [plan] = runs.plan_runs("LiqExp3N2", "nodule", output=tmp_path)
    assert plan.experiment == "exp3" and plan.models == ("LiqExp3N2",)
    assert plan.run_dir == tmp_path / "exp3_nodule"
    [plan64] = runs.plan_runs("exp6", "organ", size=64, seeds=(4,), output=tmp_path)
    assert plan64.run_dir == tmp_path / "exp6_organ_64" and len(plan64.models) == 6
