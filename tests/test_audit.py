"""The parameter audit (keras_lnn.models.audit and `lnn-keras audit`) against Table 1.

The audits of many 28^3 models take them from the session's `zoo` (conftest's `models_from_zoo`),
which tests/test_models.py checks model by model; the single-model audits build their own.
"""
import dataclasses
import json
import re

import pytest
from click.testing import CliRunner

from keras_lnn import cli, models, paper
from keras_lnn.models import audit
from keras_lnn.models import registry
from tests.conftest import DOCUMENTED_DELTAS

ROW_KEYS = {"model", "experiment", "paper_params", "trainable_params", "non_trainable_params", "delta", "reason"}
NUMERIC_HEADERS = ("paper", "keras trainable", "non-trainable", "delta")


def _invoke(*args):
    return CliRunner().invoke(cli.main, list(args))


@pytest.fixture(scope="module")
def exp5_json(models_from_zoo):
    with models_from_zoo():
        return _invoke("audit", "exp5", "--format", "json")


@pytest.fixture(scope="module")
def full_table(models_from_zoo):
    """`lnn-keras audit` with no names: the paper's 30 models, as a table."""
    with models_from_zoo():
        return _invoke("audit")


@pytest.fixture
def unexplained(monkeypatch):
    """CNNExp1N1 registered with a paper count of 1, a delta no documented reason explains."""
    architecture = registry._REGISTRY["CNNExp1N1"]
    monkeypatch.setitem(registry._REGISTRY, "CNNExp1N1", dataclasses.replace(architecture, paper_params=1))


# ---------------------------------------------------------------- the library
def test_audit_defaults_to_the_paper_models(models_from_zoo):
    with models_from_zoo():
        rows = audit.audit_models()
    assert [row["model"] for row in rows] == list(paper.table1_parameters())
    assert all(row["matches"] for row in rows)
    assert {row["model"]: row["delta"] for row in rows if row["delta"]} == DOCUMENTED_DELTAS


def test_models_beyond_the_paper_have_no_table1_count():
    extensions = [name for name in models.list_models() if models.get_architecture(name).paper_params is None]
    if not extensions:
        pytest.skip("no models beyond the paper are registered")
    (row,) = audit.audit_models(extensions[:1])
    assert row["paper_params"] is None and row["delta"] is None
    assert row["matches"] is True
    assert "not in the paper" in row["reason"]


def test_audit_rows_for_exp5(models_from_zoo):
    with models_from_zoo():
        rows = audit.audit_models(["exp5"])
    assert [row["model"] for row in rows] == models.experiment_models("exp5")
    table1 = paper.table1_parameters()
    for row in rows:
        name = row["model"]
        assert row["experiment"] == "exp5"
        assert row["paper_params"] == table1[name]
        assert row["delta"] == DOCUMENTED_DELTAS.get(name, 0), name
        assert row["trainable_params"] == table1[name] + row["delta"]
        assert row["non_trainable_params"] == 0
        assert row["matches"] is True
    reasons = {row["model"]: row["reason"] for row in rows}
    assert reasons["LiqExp5N1"] is None
    for name in DOCUMENTED_DELTAS:
        assert "bias" in reasons[name] and str(-DOCUMENTED_DELTAS[name]) in reasons[name], name


def test_batchnorm_statistics_are_reported_as_non_trainable():
    (row,) = audit.audit_models(["LiqExp3N3"])
    assert (row["trainable_params"], row["non_trainable_params"], row["delta"]) == (38065, 800, 0)
    assert row["matches"] and "BatchNorm" in row["reason"] and "800" in row["reason"]


def test_expected_delta_is_the_documented_one():
    for name in models.experiment_models("exp5"):
        assert audit.expected_delta(models.get_architecture(name)) == DOCUMENTED_DELTAS.get(name, 0)
    assert audit.expected_delta(models.get_architecture("LiqExp3N3")) == 0


def test_an_unexplained_delta_does_not_match(unexplained):
    (row,) = audit.audit_models(["CNNExp1N1"])
    assert row["paper_params"] == 1
    assert row["delta"] == 59405 - 1
    assert row["matches"] is False
    assert row["reason"] is None


def test_other_input_sizes_are_not_compared_with_table1():
    (row,) = audit.audit_models(["CNNExp2N4"], input_size=64)
    assert row["paper_params"] is None and row["delta"] is None
    assert row["trainable_params"] > 13739
    assert row["matches"] is True
    assert "28" in row["reason"]


def test_format_audit_table_marks_unexplained_rows():
    rows = [
        {"model": "A", "experiment": "exp1", "paper_params": 10, "trainable_params": 10,
         "non_trainable_params": 0, "delta": 0, "reason": None, "matches": True},
        {"model": "Bbbbbbbbbbbb", "experiment": "exp1", "paper_params": 1000, "trainable_params": 1234567,
         "non_trainable_params": 0, "delta": 1233567, "reason": None, "matches": False},
    ]
    text = audit.format_audit_table(rows)
    lines = text.splitlines()
    assert lines[-1] == "1/2 match"
    assert "UNEXPLAINED" in lines[2] and "UNEXPLAINED" not in lines[1]
    assert "1,234,567" in lines[2] and "+1,233,567" in lines[2]
    _assert_aligned(lines[:-1])


# ---------------------------------------------------------------- the command
def test_audit_json_for_exp5(exp5_json):
    assert exp5_json.exit_code == 0, exp5_json.output
    rows = json.loads(exp5_json.stdout)
    assert [row["model"] for row in rows] == models.experiment_models("exp5")
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["delta"] == DOCUMENTED_DELTAS.get(row["model"], 0)
        assert row["trainable_params"] - row["paper_params"] == row["delta"]
    for row in rows:
        if row["model"] in DOCUMENTED_DELTAS:
            assert row["reason"] is not None and "bias" in row["reason"], row


def _assert_aligned(lines):
    """Every data line has the header's right edges for the numeric columns and starts the same way."""
    header, data = lines[0], lines[1:]
    assert data
    edges = [header.index(title) + len(title) for title in NUMERIC_HEADERS]
    for line in data:
        token_ends = {match.end() for match in re.finditer(r"\S+", line)}
        assert set(edges) <= token_ends, f"misaligned:\n{header}\n{line}"
        # The model column is left-aligned from the first character.
        assert not line.startswith(" ")
    # Every row's table part has the same width (its note comes after).
    width = edges[-1]
    assert all(len(line) == width or line[width] == " " for line in data)


def test_audit_table_of_the_paper_models(full_table):
    assert full_table.exit_code == 0, full_table.output
    lines = full_table.output.strip().splitlines()
    assert lines[-1] == "30/30 match"
    listed = [line.split()[0] for line in lines[1:-1]]
    assert listed == list(paper.table1_parameters())
    _assert_aligned(lines[:-1])
    assert "UNEXPLAINED" not in full_table.output


def test_audit_table_shows_the_deltas_and_their_reasons(full_table):
    lines = {line.split()[0]: line for line in full_table.output.strip().splitlines()[1:-1]}
    assert re.search(r"\b71,797\s+71,637\s+0\s+-160\b", lines["LSTMExp5N2"])
    assert "second bias" in lines["LSTMExp5N2"]
    assert re.search(r"\b38,065\s+38,065\s+800\s+0\b", lines["LiqExp3N3"])
    assert re.search(r"\b13,739\s+13,739\s+0\s+0$", lines["CNNExp2N4"])


def test_audit_of_an_experiment_as_a_table(models_from_zoo):
    with models_from_zoo():
        result = _invoke("audit", "exp3", "LiqExp3N3", "--size", "28")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "6/6 match"
    assert [line.split()[0] for line in lines[1:-1]] == models.experiment_models("exp3")


def test_audit_of_an_unknown_model_is_a_usage_error():
    result = _invoke("audit", "NoSuchModel")
    assert result.exit_code == 2
    assert "NoSuchModel" in result.output


def test_audit_exits_1_on_an_unexplained_delta(unexplained):
    result = _invoke("audit", "CNNExp1N1")
    assert result.exit_code == 1
    assert "UNEXPLAINED" in result.output
    assert result.output.strip().splitlines()[-1] == "0/1 match"
    as_json = _invoke("audit", "CNNExp1N1", "--format", "json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)[0]["delta"] == 59404
