"""The shell scripts parse, and scripts/study_commit.sh commits a study's finished models and nothing else."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SHELL_SCRIPTS = sorted([*ROOT.glob("scripts/*.sh"), *ROOT.glob("docs/benchmarks/**/*.sh"), ROOT / ".ci" / "run"])


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_shell_script_parses(script):
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_study_commit_takes_finished_models_only(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.org")
    _git(repo, "config", "user.name", "t")
    run_dir = repo / "studies" / "s" / "exp1_adrenal_seed0"
    finished, training = run_dir / "CNNExp1N1", run_dir / "LiqExp1N2"
    for folder in (finished, training):
        folder.mkdir(parents=True)
        (folder / "history.csv").write_text("epoch,loss\n0,0.7\n")
        (folder / "settings.json").write_text("{}\n")
    (finished / "metrics.json").write_text('{"status": "finished"}\n')
    (run_dir / "summary.csv").write_text("model\nCNNExp1N1\n")
    (repo / "elsewhere.txt").write_text("not the study's\n")
    script = ROOT / "scripts" / "study_commit.sh"

    done = subprocess.run(["bash", str(script), "studies/s"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "committed: 1 finished models in studies/s" in done.stdout
    committed = set(_git(repo, "ls-files").split())
    assert committed == {"studies/s/exp1_adrenal_seed0/summary.csv",
                         *(f"studies/s/exp1_adrenal_seed0/CNNExp1N1/{name}"
                           for name in ("history.csv", "settings.json", "metrics.json"))}
    assert _git(repo, "log", "--format=%s").strip() == "studies/s: records of 1 finished models"

    again = subprocess.run(["bash", str(script), "studies/s"], cwd=repo, capture_output=True, text=True)
    assert again.returncode == 0 and "no new records in studies/s" in again.stdout
    assert len(_git(repo, "log", "--format=%s").strip().split("\n")) == 1  # no empty commit
