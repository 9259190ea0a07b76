"""oneDNN on before TensorFlow loads (the user's setting wins), CPU facts, and what records say about them.

The rules are what a fresh interpreter does, so most checks run `python -c ...` in one.
"""
import json
import os
import subprocess
import sys
import warnings

import pytest

from keras_lnn.system import machine

ZEN2 = {"model": "AMD EPYC 7702", "architecture": "x86_64", "cores": 64, "usable_cores": 64, "arm_part": None,
        "features": ["sse4_2", "avx", "avx2", "fma"]}
SKYLAKE_X = {**ZEN2, "model": "Intel Xeon Gold 6148", "features": [*ZEN2["features"], "avx512f", "avx512bw"]}
SAPPHIRE_RAPIDS = {**SKYLAKE_X, "features": [*SKYLAKE_X["features"], "avx512_vnni", "avx512_bf16", "amx_tile"]}
GRAVITON3 = {**ZEN2, "architecture": "aarch64", "features": ["asimd", "sve", "bf16", "i8mm"], "arm_part": "0x41/0xd40"}
GRAVITON2 = {**GRAVITON3, "features": ["asimd"], "arm_part": "0x41/0xd0c"}

# What a child process reports: the variable, whether TensorFlow loaded, and oneDNN's status.
REPORT = ("import json, os, sys; from keras_lnn.system import machine; "
          "print(json.dumps([os.environ.get('TF_ENABLE_ONEDNN_OPTS'), 'tensorflow' in sys.modules, "
          "machine.onednn_status()]))")


def _env(**changes):
    env = {k: v for k, v in os.environ.items() if k not in (machine.ONEDNN_ENV, machine.MARK_ENV)}
    env.update({k: v for k, v in changes.items() if v is not None})
    return env


def _python(code, **env):
    done = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True,
                          env=_env(**env), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _report(prefix="import keras_lnn", **env):
    return json.loads(_python(f"{prefix}; {REPORT}", **env).stdout.splitlines()[-1])


@pytest.mark.parametrize("cpu, system, expected", [
    (ZEN2, "Linux", False), (SKYLAKE_X, "Linux", False),  # AVX2 and AVX-512F without VNNI: TensorFlow leaves it off
    (SAPPHIRE_RAPIDS, "Linux", True), (GRAVITON3, "Linux", True), (GRAVITON2, "Linux", False),
    (ZEN2, "Darwin", False), ({**ZEN2, "architecture": "ARM64"}, "Windows", False), ({**ZEN2, "architecture": "AMD64"}, "Windows", True),
    ({**ZEN2, "features": None}, "Linux", None),
])
def test_tensorflow_default_follows_its_policy(cpu, system, expected):
    assert machine.tensorflow_default_onednn(cpu, system) is expected


@pytest.mark.parametrize("environ, tf_imported, expected", [
    ({}, False, ("1", "keras_lnn")),
    ({"TF_ENABLE_ONEDNN_OPTS": "0"}, False, (None, "user")),
    ({"TF_ENABLE_ONEDNN_OPTS": "1"}, False, (None, "user")),
    ({"TF_ENABLE_ONEDNN_OPTS": "1", "KERAS_LNN_ONEDNN_SET": "1"}, False, (None, "keras_lnn")),  # a child process
    ({"TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_LNN_ONEDNN_SET": "1"}, False, (None, "user")),  # the user changed it
    ({}, True, (None, "tensorflow_default")),
    ({"TF_ENABLE_ONEDNN_OPTS": "0"}, True, (None, "user")),
])
def test_choice(environ, tf_imported, expected):
    assert machine.onednn_choice(environ, tf_imported) == expected


def test_cpu_facts_of_this_machine():
    cpu = machine.cpu_facts()
    assert cpu["cores"] == os.cpu_count() >= cpu["usable_cores"] >= 1
    if sys.platform.startswith("linux"):
        with open("/proc/cpuinfo") as info:
            flags = set(next((line for line in info if line.startswith(("flags", "Features"))), ":").split(":")[1].split())
        assert cpu["features"] == [f for f in machine.FEATURES if f in flags]  # in the table's order, nothing more
        assert cpu["model"]


def test_import_sets_onednn_before_any_backend_and_children_inherit_it():
    setting, tf_loaded, status = _report()
    assert (setting, tf_loaded) == ("1", False)  # `import keras_lnn` stays light
    assert status["source"] == "keras_lnn" and status["enabled"] is True and status["checked"] == "predicted"
    # A child of that process (a --jobs worker, an export's TensorFlow process) inherits the setting and why.
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {REPORT!r}], check=True)"
    assert _report(f"import keras_lnn; {child}")[2]["source"] == "keras_lnn"


def test_status_follows_the_variable_as_it_is_now(monkeypatch):
    monkeypatch.setenv(machine.MARK_ENV, "1")
    monkeypatch.setenv(machine.ONEDNN_ENV, "1")
    assert machine.onednn_status()["source"] == "keras_lnn"
    monkeypatch.setenv(machine.ONEDNN_ENV, "0")  # changed by the program after `import keras_lnn`
    assert machine.onednn_status()["source"] == "user"
    monkeypatch.setenv(machine.ONEDNN_ENV, "maybe")  # TensorFlow warns and keeps its default
    assert machine.onednn_status()["source"] == "tensorflow_default"


@pytest.mark.parametrize("value", ["0", "1", "false"])
def test_the_users_value_wins(value):
    setting, _, status = _report(TF_ENABLE_ONEDNN_OPTS=value)
    assert setting == value and status["source"] == "user"
    assert status["enabled"] is (value == "1")


@pytest.mark.parametrize("value, enabled", [(None, True), ("0", False)])
def test_tensorflow_runs_what_keras_lnn_set(value, enabled):
    # TensorFlow itself, asked after it loaded: the variable was there in time.
    setting, loaded, status = _report("import keras_lnn, tensorflow", TF_ENABLE_ONEDNN_OPTS=value)
    assert loaded and status["checked"] == "tensorflow" and status["enabled"] is enabled


def test_tensorflow_imported_first_keeps_its_default_and_says_so():
    done = _python(f"import tensorflow, keras_lnn; {REPORT}")
    setting, _, status = json.loads(done.stdout.splitlines()[-1])
    assert setting is None and status["source"] == "tensorflow_default"  # nothing pretends it was set
    default = machine.tensorflow_default_onednn()
    assert status["enabled"] is bool(default)
    # Warned where TensorFlow's default is off or unknown (not on this CPU, if it has VNNI or AMX).
    assert ("imported before keras_lnn" in done.stderr) is (default is not True), done.stderr


def test_the_warning_comes_once_where_the_default_is_off(monkeypatch):
    monkeypatch.setattr(machine, "cpu_facts", lambda: ZEN2)
    monkeypatch.setattr(machine, "_CHOICE", {})
    monkeypatch.setitem(sys.modules, "tensorflow", sys.modules.get("tensorflow") or object())
    monkeypatch.delenv(machine.ONEDNN_ENV, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert machine.enable_onednn() == machine.enable_onednn() == "tensorflow_default"
    assert [str(w.message)[:40] for w in caught] == ["TensorFlow was imported before keras_lnn"]
    assert machine.ONEDNN_ENV not in os.environ


def test_records_carry_the_machine_facts():
    from keras_lnn.system import provenance

    env = provenance.environment()
    assert env["cpu"]["features"] == machine.cpu_facts()["features"]
    assert {"enabled", "source", "reason", "setting", "tensorflow_default", "checked"} <= set(env["onednn"])
    assert env["onednn"]["checked"] == "tensorflow"  # this test process runs TensorFlow
    threads = env["threads"]["tensorflow"]
    assert threads["intra_op"] >= 1 and threads["inter_op"] >= 1
    assert set(env["huge_pages"]) == {"enabled", "glibc", "transparent_huge_pages"}
    json.dumps(env)  # JSON-ready


def test_each_session_records_the_machine(tmp_path):
    from keras_lnn.system import provenance
    from keras_lnn.runs import model_run

    env = provenance.environment()
    [session] = model_run._start_session(tmp_path, 0, env)
    keys = ("cpu", "onednn", "threads", "huge_pages")
    assert {k: session[k] for k in keys} == {k: env[k] for k in keys}
    assert json.loads((tmp_path / model_run.SESSIONS_FILE).read_text())[0]["onednn"] == env["onednn"]
