"""The completeness section: which models finished for every seed, which failed, which are missing."""
from keras_lnn.errors import KerasLnnError
from keras_lnn.models import experiment_models
from keras_lnn.report.collect import by_dataset
from keras_lnn.report.markdown import join, table
from keras_lnn.report.settings import differing_fields, duplicates_lines, model_label


def completeness_section(results, unfinished=()):
    """Which models finished for every seed, which failed, which seeds and models are missing.

    A dataset's expected seeds are all seeds seen on it (finished, failed or part-trained), and its
    expected experiments all experiments seen in the report: a model or experiment never started
    counts as missing too. `unfinished` (from `find_unfinished`) marks the missing runs that are
    part-trained and resume.
    """
    trained = {(u["dataset"], u["size"], u["model"], u["seed"]): u["epochs"] for u in unfinished}

    def seeds_text(dataset, size, model, seeds):
        """Sorted seeds, a part-trained one with its epochs: "1, 2 (195 epochs so far)"."""
        return ", ".join(f"{seed} ({trained[dataset, size, model, seed]} epochs so far)"
                         if (dataset, size, model, seed) in trained else str(seed) for seed in sorted(seeds)) or "-"

    lines = ["## Completeness", ""]
    rows, failures, not_run, totals = [], [], {}, []
    experiments = sorted({r.experiment for r in results})
    for (dataset, size), dataset_results in by_dataset(results).items():
        title = dataset if size == 28 else f"{dataset} {size}^3"
        expected_seeds = {m["seed"] for r in dataset_results for m in r.runs}
        expected_seeds |= {seed for (d, z, _, seed) in trained if (d, z) == (dataset, size)}
        n_models = n_complete = n_finished = 0
        fields = differing_fields(dataset_results)
        for experiment in experiments:
            group = [r for r in dataset_results if r.experiment == experiment]
            for r in group:
                finished = {m["seed"] for m in r.finished}
                failed = {m["seed"] for m in r.failed}
                missing = expected_seeds - finished - failed
                state = "complete" if not failed and not missing else "incomplete"
                n_complete += state == "complete"
                n_finished += len(finished)
                rows.append([title, experiment, model_label(r, fields), join(finished), join(failed),
                             seeds_text(dataset, size, r.model, missing), state])
                failures += [f"{r.model} on {dataset}, seed {m['seed']}: {m.get('error') or m['status']} "
                             f"(`{m['_path']}`)" for m in r.failed]
            try:
                absent = [n for n in experiment_models(experiment) if n not in {r.model for r in group}]
            except KerasLnnError:
                absent = []
            for name in absent:
                started = {seed for (d, z, model, seed) in trained if (d, z, model) == (dataset, size, name)}
                not_run.setdefault(f"{experiment} on {title}", []).append(
                    f"{name} (part-trained: seed {seeds_text(dataset, size, name, started)})" if started else name)
            n_models += len(group) + len(absent)  # a model run under two settings counts twice
        n_resuming = sum((d, z) == (dataset, size) for (d, z, _, _) in trained)
        n_seeds = len(expected_seeds)
        totals.append(f"- {title}: {n_finished} of {n_models * n_seeds} model/seed runs finished ({n_models} models "
                      f"x {n_seeds} seed{'s' * (n_seeds != 1)}); {n_complete} of {n_models} models finished for every seed"
                      + (f"; {n_resuming} more part-trained (they resume where they stopped)" if n_resuming else ""))
    lines += totals + [""]
    lines.append(table(["dataset", "experiment", "model", "seeds finished", "failed", "missing", "state"], rows,
                        "lllllll"))
    if failures:
        lines += ["", "Failed runs (left out of every mean):", ""] + [f"- {f}" for f in failures]
    lines += duplicates_lines(results)
    if not_run:
        lines += ["", "Not run (no metrics file):", ""] + [f"- {k}: {', '.join(v)}" for k, v in not_run.items()]
    return lines + [""]
