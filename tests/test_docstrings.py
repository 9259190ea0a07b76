"""Every `>>>` example in the package's docstrings runs and shows what it says (doctest), in an empty folder.

An example that needs a trained model or a data file is written as a ```python block instead: read, not run.
"""
import doctest
import importlib

import pytest

from tests.test_layout import package_files

MODULES = sorted(name for name in package_files() if not name.endswith(".__main__"))  # __main__ runs the CLI


def run_examples(name):
    """Runs module `name`'s docstring examples; `(examples tried, failed, what doctest printed)`."""
    import io

    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(importlib.import_module(name), name):
        runner.run(test, out=report.write)
    return runner.tries, runner.failures, report.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no example may lean on files in the folder it happens to run from
    _, failed, report = run_examples(name)
    assert failed == 0, report


def test_the_rules_stated_in_docstrings_are_run(tmp_path, monkeypatch):
    # A finder that found nothing would pass every module above: these modules state their rules as examples.
    monkeypatch.chdir(tmp_path)
    for name in ("keras_lnn.training.protocol", "keras_lnn.evaluation.stats", "keras_lnn.settings",
                 "keras_lnn.evaluation.record"):
        tried, failed, report = run_examples(name)
        assert tried >= 2 and failed == 0, (name, report)


def test_a_wrong_example_fails(tmp_path):
    # The runner reports a docstring whose shown output is not what the code gives.
    module = tmp_path / "wrong_example.py"
    module.write_text('def double(x):\n    """\n    >>> double(2)\n    5\n    """\n    return 2 * x\n')
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        tried, failed, report = run_examples("wrong_example")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("wrong_example", None)
    assert (tried, failed) == (1, 1) and "Expected:\n    5\nGot:\n    4" in report
