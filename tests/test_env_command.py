"""`lnn-keras env`: what a bug report needs, as a table and as JSON."""
import importlib.util
import json
import os
import subprocess
import sys

from click.testing import CliRunner

from keras_lnn.system import allocator, env, machine
from keras_lnn.cli import main


def test_json_names_versions_backends_machine_and_files(make_medmnist, tmp_path):
    make_medmnist("adrenal", counts=(4, 2, 2))
    result = CliRunner().invoke(main, ["env", "--data-dir", str(tmp_path / "data"), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["backend"] == "tensorflow" and report["devices"][0].startswith("cpu")
    for name, module in env.BACKENDS.items():
        assert report["backends"][name]["importable"] is (importlib.util.find_spec(module) is not None)
    assert report["cpu"]["features"] == machine.cpu_facts()["features"]
    assert report["onednn"]["checked"] == "tensorflow" and report["onednn"]["enabled"] in (True, False)
    assert report["threads"]["tensorflow"]["intra_op"] >= 1
    # The synthetic file is there, but not the official one: its MD5 differs.
    assert report["medmnist"]["root"] == str(tmp_path / "data")
    assert [(f["name"], f["size"], f["md5_ok"]) for f in report["medmnist"]["files"]] == [("adrenal", 28, False)]
    assert report["note"] is None  # TensorFlow is already the fast CPU backend


def test_table_has_one_row_per_fact(tmp_path):
    result = CliRunner().invoke(main, ["env", "--data-dir", str(tmp_path / "empty")])
    assert result.exit_code == 0, result.output
    rows = dict(line.split(None, 1) for line in result.output.splitlines())
    assert rows["backend"].strip() == "tensorflow"
    assert rows["onednn.source"].strip() in machine.SOURCES
    assert rows["cpu.cores"].strip() == str(os.cpu_count())
    assert rows["medmnist.files"].strip() == "-"  # an empty root


def test_speed_note_from_the_measured_facts():
    facts = env.CPU_SPEED_FACTS[0]
    note = env.speed_note("jax", ["cpu:cpu"])
    # The factors, worked out by hand from docs/performance.md: 2.10 / 1.42 = 1.48 (LiqExp1N2) and
    # 0.94 / 0.97 = 0.97 (CNNExp1N1, JAX the faster): the note gives the larger.
    assert "up to 1.5x" in note and facts["source"] in note and "KERAS_BACKEND=tensorflow" in note
    assert "CNNExp1N1 0.94 s against 0.97 s" in note
    assert env.speed_note("jax", ["cpu:cpu", "gpu:NVIDIA H200"]) is None
    assert env.speed_note("tensorflow", ["cpu:CPU:0"]) is None


def test_jax_on_a_cpu_gets_the_note_in_a_fresh_process():
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    done = subprocess.run([sys.executable, "-m", "keras_lnn.cli", "env", "--format", "json"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["backend"] == "jax" and report["devices"] == ["cpu:cpu"]
    assert "faster" in report["note"] and report["threads"]["xla"] is not None
    # `lnn-keras run` on JAX starts again with glibc's huge pages wherever glibc and the kernel offer them.
    offered = allocator.environment_with_huge_pages({}) is not None
    assert report["huge_pages"]["lnn_keras_run"] is (offered or report["huge_pages"]["enabled"])
