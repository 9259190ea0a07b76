"""glibc's huge pages (`keras_lnn.system.allocator`): when `lnn-keras run` on JAX starts again with them, and that it does."""
import contextlib
import os
import subprocess
import sys

import pytest

from keras_lnn.system import allocator

GLIBC, PAGES = (2, 36), "madvise"


@pytest.mark.parametrize("environ, glibc, pages, expected", [
    ({}, GLIBC, PAGES, allocator.SETTING),
    ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, GLIBC, "always", f"glibc.malloc.arena_max=2:{allocator.SETTING}"),
    ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, GLIBC, PAGES, None),  # the user's own setting wins
    ({allocator.SWITCH: "0"}, GLIBC, PAGES, None),                      # asked not to
    ({}, (2, 34), PAGES, None),                                         # the tunable came with glibc 2.35
    ({}, GLIBC, "never", None),                                         # the kernel gives no huge pages
    ({}, GLIBC, "", None),                                              # no transparent huge pages at all (not Linux)
])
def test_the_tunable_is_added_only_where_it_can_work(environ, glibc, pages, expected):
    got = allocator.environment_with_huge_pages({"PATH": "/bin", **environ}, glibc=glibc, pages=pages)
    if expected is None:
        assert got is None
    else:
        assert got == {"PATH": "/bin", **environ, "GLIBC_TUNABLES": expected}


def test_no_glibc_means_no_change(monkeypatch):
    monkeypatch.setattr(allocator.os, "confstr", lambda name: None)  # musl, or no confstr value
    assert allocator.glibc_version() is None
    assert allocator.environment_with_huge_pages({}, pages=PAGES) is None


def test_without_huge_pages_keeps_the_other_tunables():
    environ = {"GLIBC_TUNABLES": f"{allocator.SETTING}:glibc.malloc.arena_max=2", "HOME": "/h"}
    assert allocator.environment_without_huge_pages(environ) == {
        "GLIBC_TUNABLES": "glibc.malloc.arena_max=2", "HOME": "/h", allocator.SWITCH: "0"}
    assert allocator.environment_with_huge_pages(allocator.environment_without_huge_pages(environ),
                                                 glibc=GLIBC, pages=PAGES) is None


def test_the_backend_is_read_as_keras_reads_it(tmp_path):
    (tmp_path / "keras.json").write_text('{"backend": "jax", "floatx": "float32"}')
    assert allocator.keras_backend({"KERAS_HOME": str(tmp_path)}) == "jax"
    assert allocator.keras_backend({"KERAS_HOME": str(tmp_path), "KERAS_BACKEND": "torch"}) == "torch"
    assert allocator.keras_backend({"KERAS_HOME": str(tmp_path / "none")}) == "tensorflow"
    (tmp_path / "keras.json").write_text("not json")
    assert allocator.keras_backend({"KERAS_HOME": str(tmp_path)}) == "tensorflow"


@pytest.mark.parametrize("backend, restarts", [("jax", True), ("tensorflow", False), ("torch", False)])
def test_training_gets_huge_pages_on_jax_only(monkeypatch, backend, restarts):
    monkeypatch.setattr(allocator, "glibc_version", lambda: GLIBC)
    monkeypatch.setattr(allocator, "transparent_huge_pages", lambda path=None: PAGES)
    got = allocator.training_environment({"KERAS_BACKEND": backend})
    assert got == ({"KERAS_BACKEND": backend, "GLIBC_TUNABLES": allocator.SETTING} if restarts else None)


def test_the_kernel_mode_is_read_from_its_bracket(tmp_path):
    (tmp_path / "enabled").write_text("always [madvise] never\n")
    assert allocator.transparent_huge_pages(tmp_path / "enabled") == "madvise"
    assert allocator.transparent_huge_pages(tmp_path / "missing") is None


@pytest.mark.parametrize("argv, restarts", [
    (["lnn-keras", "run", "exp1", "--dataset", "adrenal"], True),
    (["lnn-keras", "--verbose", "run", "exp1"], True),
    (["lnn-keras", "list"], False),
    (["lnn-keras", "report", "runs"], False),
])
def test_only_training_commands_start_again(monkeypatch, argv, restarts):
    import keras_lnn.cli as cli

    calls = []
    monkeypatch.setattr(allocator, "glibc_version", lambda: GLIBC)
    monkeypatch.setattr(allocator, "transparent_huge_pages", lambda path=None: PAGES)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.delenv(allocator.SWITCH, raising=False)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    monkeypatch.setattr(allocator.os, "execve", lambda *args: calls.append(args) or sys.exit(0))
    monkeypatch.setattr(cli, "main", lambda: calls.append("main"))
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) if restarts else contextlib.nullcontext():
        cli.launch()
    if restarts:
        [(executable, args, environ)] = calls
        assert executable == sys.executable and args == sys.orig_argv
        assert environ["GLIBC_TUNABLES"] == allocator.SETTING
    else:
        assert calls == ["main"]


def test_a_failed_start_goes_on_without_huge_pages(monkeypatch):
    import keras_lnn.cli as cli

    calls = []

    def refuse(*args):
        raise PermissionError("exec refused")

    monkeypatch.setattr(allocator, "training_environment", lambda environ: {"GLIBC_TUNABLES": allocator.SETTING})
    monkeypatch.setattr(allocator.os, "execve", refuse)
    monkeypatch.setattr(cli, "main", lambda: calls.append("main"))
    monkeypatch.setattr(sys, "argv", ["lnn-keras", "run", "exp1"])
    cli.launch()
    assert calls == ["main"]


@pytest.mark.skipif(allocator.environment_with_huge_pages({}) is None,
                    reason="glibc before 2.35 or no transparent huge pages: nothing to start again with")
def test_run_starts_again_with_the_tunable_in_a_fresh_process():
    # The same command line runs twice: first without the tunable, then (after execve) with it.
    code = ("import os, sys; print('TUNABLES', os.environ.get('GLIBC_TUNABLES'), flush=True); "
            "sys.argv = ['lnn-keras', 'run', '--help']; from keras_lnn.cli import launch; launch()")
    environ = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", allocator.SWITCH)}
    environ["KERAS_BACKEND"] = "jax"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("TUNABLES")]
    assert lines == ["TUNABLES None", f"TUNABLES {allocator.SETTING}"]
    assert "Usage:" in done.stdout
    for other in ({allocator.SWITCH: "0"}, {"KERAS_BACKEND": "tensorflow"}):
        once = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**environ, **other},
                              timeout=120)
        assert [line for line in once.stdout.splitlines() if line.startswith("TUNABLES")] == ["TUNABLES None"]
