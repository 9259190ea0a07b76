"""The statistics sections: which differences between model families exceed seed noise (Welch's t-test
over seeds) and test-set noise (DeLong's test on the same test volumes)."""
import itertools

from keras_lnn import stats
from keras_lnn.report.collect import read_test_predictions
from keras_lnn.report.markdown import table

FAMILIES = (("LTC", ("Liq", "Cfc")), ("CNN", ("CNN",)), ("LSTM/RNN", ("LSTM", "RNN")))


def family(model):
    """"LTC" (Liq*, Cfc*), "CNN", "LSTM/RNN", or None for another name."""
    for name, prefixes in FAMILIES:
        if model.startswith(prefixes):
            return name
    return None


def seed_noise_section(results):
    """Welch's t-tests between the best model of each family (by mean test AUC) on one dataset."""
    bests = {}
    for r in results:
        name = family(r.model)
        if name and r.mean() is not None and (name not in bests or r.mean() > bests[name].mean()):
            bests[name] = r
    lines = ["### Which differences exceed seed noise", ""]
    if len(bests) < 2:
        return lines + ["Fewer than two model families (LTC, CNN, LSTM/RNN) have finished runs: nothing to compare.",
                        ""]
    chosen = "; ".join(f"{k}: {v.model}, {stats.format_mean_std(v.scores('test', 'auc'))}" for k, v in bests.items())
    lines += [f"Best model of each family by mean test AUC: {chosen}.", "",
              f"Test: {stats.TEST_NAME} on the per-seed test scores, alpha = {stats.ALPHA}. The family bests are "
              "picked on these same scores, so the p-values are, if anything, optimistic.", ""]
    rows = []
    pairs = list(itertools.combinations(bests.values(), 2))
    for a, b in pairs:
        for key in ("auc", "acc"):
            label = f"{a.model} vs {b.model}"
            x, y = a.scores("test", key), b.scores("test", key)
            if len(x) < 2 or len(y) < 2:
                rows.append([label, key.upper(), stats.format_number(stats.mean(x) - stats.mean(y), signed=True),
                             "-", "-", "-", f"not enough seeds (n={len(x)} and {len(y)})"])
                continue
            result = stats.welch_t_test(x, y)
            rows.append([label, key.upper(), stats.format_number(result.difference, signed=True),
                         stats.format_number(result.t, 2), stats.format_number(result.df, 1),
                         stats.format_p_value(result.p_value), result.verdict()])
    lines.append(table(["comparison", "metric", "difference", "t", "df", "p", "verdict"], rows, "llrrrrl"))
    return lines + [""] + test_set_noise_section(pairs)


def test_set_noise_section(pairs):
    """DeLong's test on the same test volumes, per seed where both models of a pair wrote predictions.csv."""
    rows, read = [], {}

    def predictions(metrics):  # a family best is in several pairs: read its files once
        if metrics["_path"] not in read:
            read[metrics["_path"]] = read_test_predictions(metrics)
        return read[metrics["_path"]]

    for a, b in pairs:
        runs_b = {m["seed"]: m for m in b.finished}
        for run_a in a.finished:
            run_b = runs_b.get(run_a["seed"])
            first, second = predictions(run_a), run_b and predictions(run_b)
            if not first or not second or first[0] != second[0]:
                continue  # no predictions, or not the same volumes
            try:
                result = stats.delong_test(first[0], first[1], second[1])
            except ValueError:
                continue
            rows.append([f"{a.model} vs {b.model}", run_a["seed"], stats.format_number(result.auc_a),
                         stats.format_number(result.auc_b), stats.format_number(result.difference, signed=True),
                         stats.format_number(result.z, 2), stats.format_p_value(result.p_value), result.verdict()])
    if not rows:
        return []
    return ["### Which differences exceed test-set noise", "",
            f"Test: {stats.DELONG_NAME}, per seed, on the test probabilities in each run's predictions.csv, "
            f"alpha = {stats.ALPHA}: how far an AUC difference could move on another test set of the same size, "
            "which the seeds above cannot show.", "",
            table(["comparison", "seed", "first AUC", "second AUC", "difference", "z", "p", "verdict"], rows, "lrrrrrrl"), ""]
