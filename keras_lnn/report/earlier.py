"""An earlier study beside this one: its verdicts on claims (a) and (b) from the per-model summaries it kept.

An earlier study that kept only "mean ± sd over n seeds" per model (such as
`studies/gpu-2026-11-26/summary.csv`) can still be asked the same questions: its family bests are
chosen on its mean validation AUC, and Welch's test runs on its summaries (`welch_from_summaries`),
Holm over its claims. It has no predictions, so its verdicts weigh seed noise only. Its runs are
never pooled with this study's: other code, backend and machine make them another experiment.

The file is a CSV with the columns `dataset, model, n, test_auc_mean, test_auc_sd, val_auc_mean`
(others are ignored).
"""
import csv
import dataclasses
import math
from pathlib import Path

from keras_lnn.evaluation import stats
from keras_lnn.report.claims import CLAIMS, claim_verdict
from keras_lnn.report.collect import ReportError
from keras_lnn.report.families import family, in_paper

COLUMNS = ("dataset", "model", "n", "test_auc_mean", "test_auc_sd", "val_auc_mean")


@dataclasses.dataclass(frozen=True)
class Summary:
    """One model of an earlier study on one dataset: its test AUC over `n` seeds and its mean validation AUC."""

    dataset: str
    model: str
    n: int
    test_auc_mean: float
    test_auc_sd: float
    val_auc_mean: float


def read_summaries(path):
    """The rows of an earlier study's summary CSV as `Summary`s, in the file's order.

    Raises:
        ReportError: the file cannot be read, lacks a column, or a row holds a value that is no number
            (naming the file, the row and the column).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ReportError(f"{path}: an earlier study's summary needs the columns {', '.join(COLUMNS)}; "
                                  f"it lacks {', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ReportError(f"cannot read {path}: {type(error).__name__}: {error}") from None
    summaries = []
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        try:
            values = {c: (int if c == "n" else float)(row[c]) for c in COLUMNS[2:]}
        except (TypeError, ValueError):
            bad = next(c for c in COLUMNS[2:] if not _is_number(row[c]))
            raise ReportError(f"{path}, row {number}: {bad} is {row[bad]!r}, expected a number") from None
        summaries.append(Summary(row["dataset"], row["model"], **values))
    return summaries


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


def earlier_verdicts(summaries, dataset):
    """`{claim: verdict}` of claims (a) and (b) on `dataset` from an earlier study's summaries.

    Example:

    >>> rows = [Summary("adrenal", "LiqExp1N2", 3, 0.809, 0.002, 0.816),
    ...         Summary("adrenal", "CNNExp1N1", 3, 0.850, 0.005, 0.839),
    ...         Summary("adrenal", "LSTMExp5N2", 3, 0.842, 0.008, 0.830)]
    >>> earlier_verdicts(rows, "adrenal")
    {'a': 'not supported', 'b': 'not supported'}
    """
    bests = {}
    for s in summaries:
        name = family(s.model) if s.dataset == dataset and in_paper(s.model) else None  # the paper's claims
        if name and not math.isnan(s.val_auc_mean) and (name not in bests or s.val_auc_mean > bests[name].val_auc_mean):
            bests[name] = s
    if "LTC" not in bests:
        return {}
    ltc, tests = bests["LTC"], []
    for claim, other, _ in CLAIMS:
        if other in bests and min(ltc.n, bests[other].n) >= 2:
            o = bests[other]
            tests.append((claim, min(ltc.n, o.n), stats.welch_from_summaries(
                ltc.test_auc_mean, ltc.test_auc_sd, ltc.n, o.test_auc_mean, o.test_auc_sd, o.n)))
    adjusted = stats.holm_adjust([w.p_value for _, _, w in tests])
    return {claim: claim_verdict(w.difference, p, [], n) for (claim, n, w), p in zip(tests, adjusted)}
