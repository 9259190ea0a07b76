"""The paper's tables beside these runs: Table 1 (parameter counts) and, per dataset, Table 2 (scores).

A dataset's Table 2 section also holds MedMNIST v2's benchmarks, its paper check, its
figures, its family bests (`keras_lnn.report.families`) and their comparisons
(`keras_lnn.report.statistics`).
"""
from keras_lnn.errors import KerasLnnError
from keras_lnn.evaluation import stats
from keras_lnn.models import audit, get_architecture
from keras_lnn.paper import MEDMNIST_BENCHMARK_SOURCE, medmnist_benchmarks_3d, table1_parameters, table2_results
from keras_lnn.report.constant import constant_name, constant_predictor
from keras_lnn.report.evaluation import detail_cells, detail_headers, detail_legend
from keras_lnn.report.families import family, family_bests_section
from keras_lnn.report.figures import scores_figure, val_loss_figure
from keras_lnn.report.markdown import custom_file, dataset_title, join, table, thousands
from keras_lnn.report.options import options_section
from keras_lnn.report.profiles import slice_profile_section
from keras_lnn.report.settings import differing_fields, differs_note, model_label
from keras_lnn.report.statistics import seed_noise_section
from keras_lnn.runs import run_name


def table1_section(results):
    """Table 1: the Keras counts recorded in metrics.json beside the paper's, with the documented deltas."""
    table1 = table1_parameters()
    rows, seen_keys = [], set()
    for r in results:
        key = (r.model, r.size, r.n_classes)
        params = next((m.get("params") for m in r.runs if m.get("params")), None)
        if key in seen_keys or params is None:
            continue
        seen_keys.add(key)
        trainable, non_trainable = params.get("trainable"), params.get("non_trainable") or 0
        paper_count = table1.get(r.model)
        try:
            architecture = get_architecture(r.model)
        except KerasLnnError:
            rows.append([r.model, r.experiment, thousands(paper_count), thousands(trainable), thousands(non_trainable), "-", "-",
                         "not a model of this keras_lnn version"])
            continue
        comparable = paper_count is not None and r.size == audit.TABLE1_SIZE and r.n_classes == 2
        delta = trainable - paper_count if comparable and trainable is not None else None
        if r.n_classes != 2 and paper_count is not None:
            reason = f"Table 1 counts are for one-output (binary) models, not {r.n_classes} classes"
        else:
            reason = audit.count_reason(architecture, delta, non_trainable, r.size)
        matches = delta is None or delta == audit.expected_delta(architecture)
        rows.append([r.model, r.experiment, thousands(paper_count), thousands(trainable), thousands(non_trainable),
                     "-" if delta is None else f"{delta:+,}" if delta else "0", "yes" if matches else "**NO**",
                     reason or ""])
    lines = ["## Table 1: parameters, paper vs Keras", "",
             "Keras counts as recorded in metrics.json; paper counts from the paper's Table 1 (PyTorch's counts).", ""]
    lines.append(table(["model", "exp", "paper", "keras trainable", "non-trainable", "delta", "as documented",
                         "reason"], rows, "llrrrrll"))
    return lines + [""]


def dataset_section(dataset, size, results, data_dir, figures):
    """Table 2 reproduction for one dataset, its figures, the family bests and the seed-noise comparisons."""
    paper = table2_results()
    n_classes = results[0].n_classes
    lines = [f"## Table 2: {dataset_title(dataset, size)}", ""]
    test_sizes = {((m.get("data") or {}).get("n_samples") or {}).get("test") for r in results for m in r.runs} - {None}
    if test_sizes:
        lines += [f"Test split: {join(test_sizes)} volumes. Mean ± sample std over seeds (n: finished seeds).", ""]
    lines += differs_note(results)
    in_paper = any(dataset in entry for entry in paper.values()) and size == 28 and n_classes == 2
    custom = custom_file([m for r in results for m in r.runs])
    fields, details = differing_fields(results), detail_headers(results)
    rows = []
    for r in results:
        reference = paper.get(r.model, {}).get(dataset) if in_paper else None
        rows.append([model_label(r, fields), r.experiment]
                    + [stats.format_mean_std(r.scores("test", key)) for key in ("acc", "auc")] + detail_cells(r, details)
                    + [stats.format_number(r.mean("val", key)) for key in ("acc", "auc")]
                    + ([stats.format_number(reference[key]) if reference else "-" for key in ("acc", "auc")]
                       if not custom else []))
    majority, constant, source = constant_predictor(results, data_dir)
    rows.append([constant_name(majority), "-", stats.format_number(constant), "0.500"] + ["-"] * (len(rows[0]) - 4))
    headers = (["model", "exp", "test ACC", "test AUC"] + details + ["val ACC", "val AUC"]
               + ([] if custom else ["paper ACC", "paper AUC"]))
    lines.append(table(headers, rows, "ll" + "r" * (len(headers) - 2)))
    lines += ["", *detail_legend(results, details),
              f"Constant predictor: always answers the test split's majority class; its test ACC {source}. Its AUC "
              "is 0.5 by definition; an ACC near it is no evidence of learning on these imbalanced splits.", ""]
    lines += benchmark_section(dataset, size, custom)
    if in_paper:
        lines += paper_check_section(dataset, results, paper)
    elif custom:
        lines += [f"{dataset} is a custom dataset (`{custom}`): the paper has no results on it.", ""]
    elif n_classes == 2 and size != 28:
        lines += [f"The paper's Table 2 is for 28^3 volumes; no paper values are shown for {size}^3.", ""]
    else:
        lines += [f"The paper's Table 2 has no {dataset} column.", ""]

    by_experiment = {}
    for r in results:
        by_experiment.setdefault(r.experiment, []).append(r)
    for experiment, group in by_experiment.items():
        stem = run_name(experiment, dataset, size)
        title = f"{experiment} on {dataset_title(dataset, size)}"
        figures[f"figures/{stem}_scores.png"] = scores_figure(group, constant, title)
        figures[f"figures/{stem}_val_loss.png"] = val_loss_figure(group, title)
        lines += [f"### Figures: {experiment}", "",
                  f"![Test and validation ACC and AUC per model, {title}](figures/{stem}_scores.png)", "",
                  f"![Validation loss per epoch, one line per seed, {title}](figures/{stem}_val_loss.png)", ""]

    lines += slice_profile_section(dataset, size, results, data_dir, figures, family)
    lines += family_bests_section(dataset, size, results, figures, dataset_title(dataset, size))
    return lines + seed_noise_section(results) + options_section(results)


def benchmark_section(dataset, size, custom=None):
    """MedMNIST v2's 3D benchmarks on this dataset's official 28^3 test split (none for custom data or other sizes)."""
    entries = medmnist_benchmarks_3d().get(dataset)
    if not entries or size != 28 or custom:
        return []
    rows = [[method, stats.format_number(scores["acc"]), stats.format_number(scores["auc"])] for method, scores in entries]
    return [f"MedMNIST benchmarks (test split), from {MEDMNIST_BENCHMARK_SOURCE}:", "",
            table(["method", "ACC", "AUC"], rows), ""]


def score_interval(scores):
    """The 95% prediction interval for one run of these per-seed scores, clipped to 0-1 (scores lie there).

    Needs at least 2 scores (`stats.prediction_interval`).
    """
    return tuple(min(max(bound, 0.0), 1.0) for bound in stats.prediction_interval(scores))


def paper_check_section(dataset, results, paper):
    """Whether each of the paper's single test scores lies where one run of ours would fall."""
    rows, inside, tested, seed_counts = [], {"ACC": 0, "AUC": 0}, {"ACC": 0, "AUC": 0}, set()
    fields = differing_fields(results)
    for r in results:
        reference = paper.get(r.model, {}).get(dataset)
        if not reference:
            continue
        name = model_label(r, fields) + (" †" if family(r.model) == "LSTM/RNN" else "")
        for key in ("acc", "auc"):
            ours, theirs, metric = r.scores("test", key), reference[key], key.upper()
            row = [name, metric, stats.format_number(theirs), stats.format_mean_std(ours),
                   stats.format_number(theirs - stats.mean(ours), signed=True) if ours else "-"]
            if len(ours) < 2 or not stats.std(ours):
                rows.append(row + ["-", f"not enough seeds (n={len(ours)})" if len(ours) < 2 else
                                   "no verdict (no spread over seeds)"])
                continue
            low, high = score_interval(ours)
            consistent = low <= theirs <= high
            tested[metric] += 1
            seed_counts.add(len(ours))
            inside[metric] += consistent
            rows.append(row + [f"{low:.3f} to {high:.3f}", "inside" if consistent else "outside"])
    if not rows:
        return []
    counts = ", ".join(f"{inside[k]} of {tested[k]} {k} values" for k in ("ACC", "AUC"))
    return [
        "### The paper's single runs beside these seeds", "",
        "The paper trained each model once. Its test score is consistent with this reproduction when it lies "
        "inside the 95% prediction interval for one run, mean ± t(n-1) · std · sqrt(1 + 1/n) over the seeds "
        "here (clipped to 0-1); outside it, the gap is more than seed noise (framework, implementation or data "
        f"handling). {_interval_reach(seed_counts)}Inside: {counts}.", "",
        table(["model", "metric", "paper", "here", "paper - here", "95% interval for one run", "paper's value"],
               rows, "llrrrrl"),
        "", "† LSTM/RNN baseline: the paper's recurred across the batch, these across slices (see Notes).", "",
    ]


def _interval_reach(seed_counts):
    """The sentence saying how far the intervals reach for the seed counts tested (`stats.prediction_multiplier`)."""
    if not seed_counts:
        return ""
    reach = ", ".join(f"± {stats.prediction_multiplier(n):.2f} standard deviations with {n} seeds"
                      for n in sorted(seed_counts))
    caveat = ", so an \"inside\" with 2 seeds says little" if 2 in seed_counts else ""
    return f"The interval reaches {reach}{caveat}. "
