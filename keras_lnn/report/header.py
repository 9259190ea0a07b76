"""The report's head: what was read (runs, seeds, backends, provenance) and how to reproduce the runs."""
import json
import time

from keras_lnn import __version__
from keras_lnn.data.info import resolve_dataset
from keras_lnn.errors import KerasLnnError
from keras_lnn.models import experiment_models, group_experiments
from keras_lnn.report.collect import model_order, recorded_version
from keras_lnn.report.markdown import custom_file, dataset_title, join
from keras_lnn.report.settings import protocol_changes, run_settings, settings_text


def _reproduce_commands(all_metrics):
    """`lnn-keras run` commands that recreate the runs: per (backend, dataset, size, protocol, output folder), one
    per experiment, or one `run paper` when every paper experiment is there."""
    groups = {}
    for m in all_metrics:
        key = (m.get("backend"), m["dataset"], m["size"], json.dumps(m.get("protocol") or {}, sort_keys=True),
               json.dumps(m.get("training_options") or {}, sort_keys=True), str(m["_path"].parent.parent.parent))
        groups.setdefault(key, []).append(m)
    order = model_order()
    commands = []
    for (backend, dataset, size, protocol, options, output), runs in sorted(groups.items(), key=str):
        seeds = sorted({m["seed"] for m in runs})  # the dataset's seeds: unfinished ones are rerun too
        by_experiment = {}
        for m in runs:
            by_experiment.setdefault(m["experiment"], set()).add(m["model"])
        targets = sorted(by_experiment.items())
        PAPER_EXPERIMENTS = group_experiments("paper")
        if set(PAPER_EXPERIMENTS) <= set(by_experiment):  # the paper's study: one `run paper`
            seen = set().union(*(by_experiment[e] for e in PAPER_EXPERIMENTS))
            targets = [("paper", seen)] + [(e, ms) for e, ms in targets if e not in PAPER_EXPERIMENTS]
        for experiment, models in targets:
            parts = [f"KERAS_BACKEND={backend}"] if backend else []
            custom = custom_file(runs)
            parts += ["lnn-keras", "run", experiment, "--dataset", custom or dataset]
            try:
                planned = (set(experiment_models(experiment)) if experiment != "paper"
                           else {n for e in PAPER_EXPERIMENTS for n in experiment_models(e)})
            except KerasLnnError:
                planned = set()
            parts += [] if models == planned else ["--models", ",".join(sorted(models, key=order))]
            if len(seeds) > 1:
                parts += ["--seeds", ",".join(map(str, seeds))]
            elif seeds != [0]:
                parts += ["--seed", str(seeds[0])]
            for option, value, _ in protocol_changes(json.loads(protocol)):
                parts += [f"--{option.replace('_', '-')}", str(value)]
            parts += training_option_flags(json.loads(options))
            parts += [] if size == 28 or custom else ["--size", str(size)]
            if not custom and any(m.get("data_md5") not in (None, resolve_dataset(dataset).md5(size)) for m in runs):
                parts.append("--no-verify")  # the runs used a derived data file
            parts += ([] if custom else ["--data-dir", "DATA_DIR"]) + ["--output", output]
            commands.append(" ".join(parts))
    return commands


def training_option_flags(options):
    """The `lnn-keras run` flags of recorded training options (metrics.json `training_options`).

    >>> training_option_flags({"augment": ["flip", "rot90"], "class_weight": [1.0, 4.5], "tta": True})
    ['--augment', 'flip,rot90', '--class-weight', '1,4.5', '--tta']
    >>> training_option_flags({"augment": [], "class_weight": None, "tta": False})
    []
    """
    flags = ["--augment", ",".join(options["augment"])] if options.get("augment") else []
    weight = options.get("class_weight")
    if weight is not None:
        flags += ["--class-weight", weight if isinstance(weight, str) else ",".join(f"{w:g}" for w in weight)]
    return flags + (["--tta"] if options.get("tta") else [])


def _seen(all_metrics, getter, counted=False):
    """The distinct values of `getter(metrics)` over all runs, joined ("-" when none).

    With `counted`, and more than one value, each says how many runs it covers: "cpu (19 runs), gpu (137 runs)";
    where a value holds a comma itself (a CPU, a list of training options), "; " tells the values apart.
    """
    values = [getter(m) for m in all_metrics]
    distinct = set(values) - {None}
    if counted and len(distinct) > 1:
        separator = "; " if any("," in str(v) for v in distinct) else ", "
        return separator.join(f"{v} ({values.count(v)} run{'s' * (values.count(v) != 1)})"
                              for v in sorted(distinct, key=str))
    return join(distinct)


def cpu_text(metrics):
    """The run's CPU in words: model, widest vector features and TensorFlow's threads (None where not recorded).

    >>> cpu_text({"versions": {"cpu": {"model": "AMD EPYC", "features": ["sse4_2", "avx", "avx2", "fma"]},
    ...                        "threads": {"tensorflow": {"intra_op": 2, "inter_op": 2}}}})
    'AMD EPYC (avx2, no AVX-512), TensorFlow threads 2:2'
    """
    cpu = recorded_version(metrics, "cpu")
    if not cpu:
        return None
    features = cpu.get("features") or []
    vector = ", ".join(f for f in ("avx512f", "avx512_vnni", "amx_tile") if f in features) or (
        "avx2, no AVX-512" if "avx2" in features else "no AVX2")
    text = f"{cpu.get('model') or 'unknown CPU'} ({vector})"
    threads = (recorded_version(metrics, "threads") or {}).get("tensorflow")
    if threads:
        text += f", TensorFlow threads {threads.get('intra_op')}:{threads.get('inter_op')}"
    return text


def _determinism(metrics):
    value = recorded_version(metrics, "deterministic_ops")
    return "not recorded" if value is None else ("yes" if value else "no")


def _resumed_line(all_metrics):
    """How many runs were interrupted and resumed, and on another device (metrics.json `sessions`)."""
    resumed = [m for m in all_metrics if len(m.get("sessions") or []) > 1]
    if not resumed:
        return []
    moved = sum(len({s.get("device") for s in m["sessions"]}) > 1 for m in resumed)
    return [f"- resumed after an interruption: {len(resumed)} run{'s' * (len(resumed) != 1)}, "
            f"{moved} of them on another device (each metrics.json lists its `sessions`)"]


def _training_options_line(all_metrics):
    """Which training options the runs used, where any is not the paper's (a run without the key used the paper's)."""
    def options(metrics):
        return settings_text(run_settings(metrics), ["training options"])

    if {options(m) for m in all_metrics} == {"paper's training options"}:
        return []
    return [f"- training options: {_seen(all_metrics, options, True)}"]


def _records_line(all_metrics):
    """Says once that version 1 records lack the intervals, calibration and threshold metrics, and how to add them."""
    old = sum((m.get("metrics_version") or 1) < 2 for m in all_metrics if m["status"] == "finished")
    if not old:
        return []
    return [f"- records: {old} finished run{'s' * (old != 1)} recorded before metrics_version 2 show \"-\" for the "
            "intervals, sensitivity, specificity and calibration; `lnn-keras evaluate RUN_DIR` adds them from the "
            "run's predictions"]


def header_section(paths, all_metrics, results, intro=None):
    """The title and date, `intro`, what was read (runs, seeds, provenance, protocol) and the Reproduce commands.

    Args:
        paths: the folders the report was asked for, as given (they are quoted).
        all_metrics: every metrics dict read (`collect.load_metrics`).
        results: the same runs grouped over seeds (`collect.group_results`).
        intro: markdown placed under the title, or None.

    Returns:
        The section's markdown lines.
    """
    def seen(getter, counted=False):
        return _seen(all_metrics, getter, counted)

    def versions(key):  # provenance: where values differ, which share of the runs each produced
        return seen(lambda m: recorded_version(m, key), counted=True)

    run_dirs = {m["_path"].parent.parent for m in all_metrics}
    lines = [
        "# keras-lnn report",
        "",
        f"Written by keras_lnn {__version__} on {time.strftime('%Y-%m-%d %H:%M')} from "
        + ", ".join(f"`{p}`" for p in paths) + ".",
        "",
        *([intro.strip(), ""] if intro and intro.strip() else []),
        "## What was read",
        "",
        f"- {len(all_metrics)} metrics files in {len(run_dirs)} run folders: {join(d.name for d in run_dirs)}",
        f"- datasets: {join({dataset_title(r.dataset, r.size) for r in results})}",
        f"- experiments: {seen(lambda m: m['experiment'])}; models: {len({r.model for r in results})}",
        f"- seeds: {seen(lambda m: m['seed'])}",
        f"- backends: {seen(lambda m: ' '.join(filter(None, (m.get('backend'), recorded_version(m, 'backend_version')))), True)}",
        f"- devices: {versions('device')}; machines: {versions('platform')}",
        *([f"- CPUs: {seen(cpu_text, True)}"] if any(cpu_text(m) for m in all_metrics) else []),
        f"- deterministic kernels (`--deterministic`): {seen(_determinism, True)}",
        f"- keras_lnn: {versions('keras_lnn')}; keras: {versions('keras')}; ncps: {versions('ncps')}",
        *_resumed_line(all_metrics),
        *_training_options_line(all_metrics),
        *_records_line(all_metrics),
    ]
    changes = {(k, v, p) for m in all_metrics for k, v, p in protocol_changes(m.get("protocol"))}
    if changes:
        changed = ", ".join(f"{k} {v} (paper {p})" for k, v, p in sorted(changes))
        lines.append(f"- **not the paper's protocol**: {changed}")
    else:
        lines.append("- protocol: the paper's (Adam 5e-4, batch 64, at most 500 epochs, early stopping patience 10)")
    lines += ["", "## Reproduce", "", "Train (DATA_DIR: the MedMNIST folder), then write this report:", "", "```"]
    lines += _reproduce_commands(all_metrics)
    lines += [f"lnn-keras report {' '.join(map(str, paths))} --output REPORT_DIR", "```", ""]
    return lines
