"""Table 2's cells from the split records of `docs/records.md` (metrics_version 2): sensitivity and specificity
at 0.5, calibration (ECE), the test AUC's 95% interval, and the test AUC with test-time augmentation.

A metrics_version 1 record has none of these keys: its cells are "-" (the report's head says once that
`lnn-keras evaluate RUN_DIR` adds them).

Example:

```python
from keras_lnn.report.evaluation import detail_cells, detail_headers

headers = detail_headers(results)            # ["AUC 95% CI", "sens @0.5", "spec @0.5", "ECE", ...]
cells = detail_cells(results[0], headers)    # ["0.780 to 0.910", "0.651", "0.903", "0.041"]
```
"""
from keras_lnn.evaluation import stats


def _test(metrics):
    return metrics.get("test") or {}


def _at_half(key):
    return lambda m: (_test(m).get("at_0.5") or {}).get(key)


def _ece(metrics):
    return (_test(metrics).get("calibration") or {}).get("ece")


def tta_auc(metrics):
    """The test AUC from the TTA probabilities (`metrics["tta"]["test"]["auc"]`), or None."""
    return ((metrics.get("tta") or {}).get("test") or {}).get("auc")


def _mean_cell(result, getter):
    """The mean over the finished seeds that record the value ("-" where none does)."""
    return stats.format_number(stats.mean(getter(m) for m in result.finished))


def auc_interval_cell(result):
    """The test AUC's 95% bootstrap interval where one seed finished; "per seed" (listed for the family bests)
    with several, whose mean ± std is no interval of the test AUC; "-" where not recorded."""
    finished = result.finished
    if len(finished) > 1:
        return "per seed" if any(_test(m).get("auc_ci95") for m in finished) else "-"
    ci = _test(finished[0]).get("auc_ci95") if finished else None
    return f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "-"


DETAILS = {
    "AUC 95% CI": auc_interval_cell,
    "sens @0.5": lambda r: _mean_cell(r, _at_half("sensitivity")),
    "spec @0.5": lambda r: _mean_cell(r, _at_half("specificity")),
    "ECE": lambda r: _mean_cell(r, _ece),
    "TTA test AUC": lambda r: stats.format_mean_std([tta_auc(m) for m in r.finished]),
}


def has_tta(results):
    """True where a finished run of `results` recorded TTA scores."""
    return any(tta_auc(m) is not None for r in results for m in r.finished)


def detail_headers(results):
    """The detail columns of one dataset's Table 2: the TTA column only where a run recorded TTA."""
    return [h for h in DETAILS if h != "TTA test AUC" or has_tta(results)]


def detail_cells(result, headers):
    """One row's cells under `headers` (from `detail_headers`)."""
    return [DETAILS[h](result) for h in headers]


def detail_legend(results, headers):
    """The lines under Table 2 that say what the detail columns hold."""
    text = ("AUC 95% CI: the stratified bootstrap interval of the test AUC where one seed finished; with several, "
            "per seed (the family bests' are listed below, every run's in its metrics.json `test.auc_ci95`). "
            "sens/spec @0.5: sensitivity and specificity at the 0.5 threshold (binary models), ECE: expected "
            "calibration error of the test probabilities; both the mean over seeds. \"-\": not recorded.")
    if "TTA test AUC" in headers:
        text += (" TTA test AUC: the same models' test AUC with test-time augmentation (`--tta`), beside the plain "
                 "test AUC of the same runs.")
    return [text, ""]
