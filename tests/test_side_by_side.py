"""scripts/side_by_side.py: a folder of side-by-side benchmark records, summarised against the paper's code."""
import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "side_by_side.py"


def _record(model, implementation, median, low, high, md5):
    return {"model": model, "implementation": implementation, "weights_md5": md5,
            "steady_epoch_s": {"min": low, "median": median, "max": high}}


def test_forms_ratios_and_weights(tmp_path):
    # Two repeats. The paper's code runs in the PyTorch benchmark's process (`paper-and-torch`).
    for repeat, (paper, torch, jax) in enumerate([(2.0, 1.0, 0.8), (3.0, 1.5, 1.2)], 1):
        (tmp_path / f"paper-and-torch-{repeat}.json").write_text(json.dumps([
            _record("M", "fast", torch, torch - 0.1, torch + 0.1, "a"), _record("M", "paper-pytorch", paper, paper, paper, None)]))
        (tmp_path / f"jax-{repeat}.json").write_text(json.dumps([_record("M", "fast", jax, jax, jax + 0.5, f"j{repeat}")]))
    (tmp_path / "encoder-forms-28.json").write_text(json.dumps({"ms_per_batch": {}}))  # another script's record
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)["M"]
    assert set(summary) == {"paper", "torch", "jax"}
    # The paper's median of medians is 2.5; PyTorch's 1.25 (2.0x), JAX's 1.0 (2.5x).
    assert summary["torch"]["paper_over_this"] == 2.0 and summary["torch"]["paper_over_this_per_repeat"] == [2.0, 2.0]
    assert summary["jax"]["paper_over_this"] == 2.5 and summary["jax"]["paper_over_this_per_repeat"] == [2.5, 2.5]
    assert (summary["jax"]["min"], summary["jax"]["max"]) == (0.8, 1.7)
    assert summary["torch"]["same_weights_every_repeat"] is True and summary["jax"]["same_weights_every_repeat"] is False
