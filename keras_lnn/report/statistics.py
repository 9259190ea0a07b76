"""The statistics sections: which differences between the family bests exceed seed noise (Welch's t-test over
seeds) and test-set noise (DeLong's test on the same test volumes).

The family bests are chosen on the validation split (`keras_lnn.report.families`) and tested on the
test split. Each section's tests are corrected together with Holm's step-down method: raw and adjusted
p-values side by side, the verdict on the adjusted one, the number of tests stated.
"""
import dataclasses
import itertools

from keras_lnn.evaluation import delong, stats
from keras_lnn.report.collect import read_test_predictions
from keras_lnn.report.families import block_heading, family_bests, setting_blocks
from keras_lnn.report.markdown import table

__all__ = ["correction_text", "paired_delong_tests", "seed_noise_section", "test_set_noise_section", "verdict"]


def _corrected(tests):
    """`[(row, result, adjusted p)]` of `[(row, result)]`, Holm-adjusted over the tests made."""
    adjusted = stats.holm_adjust([result.p_value for _, result in tests])
    return [(row, result, p) for (row, result), p in zip(tests, adjusted)]


def _correction_text(tests):
    return correction_text(sum(result.p_value == result.p_value for _, result in tests))  # NaN: no test made


def correction_text(n):
    """The sentence saying that `n` tests of a table were corrected together, and how the verdict is read."""
    return (f"{stats.HOLM_NAME} over the {n} test{'s' * (n != 1)} of this table: \"Holm p\" is the adjusted "
            f"p-value, and the verdict is read from it at alpha = {stats.ALPHA}.")


def verdict(result, adjusted):
    """The result's (WelchResult or DeLongResult) verdict, read from the Holm-adjusted p-value."""
    return dataclasses.replace(result, p_value=adjusted).verdict()


def _welch_table(pairs):
    """Welch's tests of each pair of family bests on the per-seed test AUC and ACC: (table, tests made)."""
    tests, untested = [], []
    for a, b in pairs:
        for key in ("auc", "acc"):
            label = f"{a.model} vs {b.model}"
            x, y = a.scores("test", key), b.scores("test", key)
            if len(x) < 2 or len(y) < 2:
                untested.append([label, key.upper(), stats.format_number(stats.mean(x) - stats.mean(y), signed=True),
                                 "-", "-", "-", "-", f"not enough seeds (n={len(x)} and {len(y)})"])
                continue
            tests.append(([label, key.upper()], stats.welch_t_test(x, y)))
    rows = [row + [stats.format_number(r.difference, signed=True), stats.format_number(r.t, 2),
                   stats.format_number(r.df, 1), stats.format_p_value(r.p_value), stats.format_p_value(p),
                   verdict(r, p)] for row, r, p in _corrected(tests)]
    headers = ["comparison", "metric", "difference", "t", "df", "p", "Holm p", "verdict"]
    return table(headers, rows + untested, "llrrrrrl"), tests


def seed_noise_section(results):
    """Welch's t-tests between the best model of each family (chosen on validation AUC) on one dataset's test split,
    followed by DeLong's tests on the test volumes (`test_set_noise_section`)."""
    lines, delong = ["### Which differences exceed seed noise", ""], []
    compared = False
    for label, block in setting_blocks(results):
        bests = family_bests(block)
        if len(bests) < 2:
            continue
        compared = True
        pairs = list(itertools.combinations(bests.values(), 2))
        welch, tests = _welch_table(pairs)
        lines += block_heading(label) + [
            "Family bests as chosen above, on mean validation AUC; the tests below read only their test scores. "
            f"Test: {stats.TEST_NAME} on the per-seed test scores. {_correction_text(tests)}", "", welch, ""]
        delong += test_set_noise_section(pairs, label)
    if not compared:
        return lines + ["Fewer than two model families (LTC, CNN, LSTM/RNN) have finished runs: nothing to compare.",
                        ""]
    return lines + delong


def paired_delong_tests(pairs):
    """`[([comparison, seed], DeLongResult)]`: DeLong's test per seed where both models of a pair wrote
    predictions.csv for the same test volumes (binary models)."""
    tests, read = [], {}

    def predictions(metrics):  # a family best is in several pairs: read its files once
        if metrics["_path"] not in read:
            read[metrics["_path"]] = read_test_predictions(metrics)
        return read[metrics["_path"]]

    for a, b in pairs:
        runs_b = {m["seed"]: m for m in b.finished}  # one run per seed: duplicates are listed under Completeness
        for run_a in a.finished:
            run_b = runs_b.get(run_a["seed"])
            first, second = predictions(run_a), run_b and predictions(run_b)
            if not first or not second or first[0] != second[0]:
                continue  # no predictions, or not the same volumes
            try:
                result = delong.delong_test(first[0], first[1], second[1])
                tests.append(([f"{a.model} vs {b.model}", run_a["seed"]], result))
            except ValueError:
                continue
    return tests


def test_set_noise_section(pairs, label=None):
    """DeLong's test on the same test volumes, per seed where both models of a pair wrote predictions.csv."""
    tests = paired_delong_tests(pairs)
    if not tests:
        return []
    rows = [row + [stats.format_number(r.auc_a), stats.format_number(r.auc_b),
                   stats.format_number(r.difference, signed=True), stats.format_number(r.z, 2),
                   stats.format_p_value(r.p_value), stats.format_p_value(p), verdict(r, p)]
            for row, r, p in _corrected(tests)]
    headers = ["comparison", "seed", "first AUC", "second AUC", "difference", "z", "p", "Holm p", "verdict"]
    return ["### Which differences exceed test-set noise", "", *block_heading(label),
            f"Test: {delong.DELONG_NAME}, per seed, on the test probabilities in each run's predictions.csv: how far "
            "an AUC difference could move on another test set of the same size, which the seeds above cannot show. "
            f"{_correction_text(tests)}", "",
            table(headers, rows, "lrrrrrrrl"), ""]
