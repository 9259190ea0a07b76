"""What each family costs: parameters (claim c) and training time (claim d), per dataset.

- (c) "LTC models are smaller than the baselines": the trainable parameter counts recorded in the
  runs' metrics files (the counts the audit checks against the paper's Table 1), per family. A count
  is exact, so the verdict compares numbers: the LTC family's median against each other family's.
- (d) "LTC models take longer to train": epochs until the early stop and seconds per epoch, per
  family, on one machine (runs are grouped by device and CPU model, never pooled across machines),
  and the family bests' training seconds compared over seeds (Welch, Holm over the comparisons).
  A run's seconds per epoch is the median of its epochs (history.csv), and its training time that
  median times its epochs: a pause of the machine mid-run (a study stopped while a benchmark runs)
  would otherwise count as training. They are still wall time, with the machine's other load in them.
"""
import statistics

from keras_lnn.evaluation import stats
from keras_lnn.report.collect import recorded_version
from keras_lnn.report.cost import epoch_seconds, training_seconds
from keras_lnn.report.families import FAMILIES, family, family_bests
from keras_lnn.report.markdown import table, thousands

SUPPORTED, NOT_SUPPORTED = "supported", "not supported"



def parameters_lines(paper):
    """Claim (c): parameters per family (min, median, max over its models; its best's) and the verdict."""
    bests, medians, rows = family_bests(paper), {}, []
    for name in FAMILIES:
        counts = [c for c in (r.trainable_params for r in paper if family(r.model) == name) if c is not None]
        if not counts:
            continue
        medians[name] = statistics.median(counts)
        best = bests.get(name)
        rows.append([name, len(counts), thousands(min(counts)), thousands(round(medians[name])),
                     thousands(max(counts)), f"{best.model} ({thousands(best.trainable_params)})" if best else "-"])
    if "LTC" not in medians or len(medians) < 2:
        return []
    others = [name for name in medians if name != "LTC"]
    smaller = all(medians["LTC"] < medians[name] for name in others)
    return ["**(c) LTC models are smaller than the baselines.** Trainable parameters per family (recorded in the "
            "metrics files; `lnn-keras audit` checks them against the paper's Table 1). Counts are exact, so no test is "
            f"needed: the LTC median ({thousands(round(medians['LTC']))}) is "
            + "; ".join(f"{'below' if medians['LTC'] < medians[n] else 'not below'} the {n} median "
                        f"({thousands(round(medians[n]))})" for n in others)
            + f". Verdict: **{SUPPORTED if smaller else NOT_SUPPORTED}**.", "",
            table(["family", "models", "min", "median", "max", "best on validation (params)"], rows, "lrrrrl"), ""]


def _machine(m):
    cpu = recorded_version(m, "cpu") or {}
    return f"{recorded_version(m, 'device') or 'unknown device'}, {cpu.get('model') or 'unknown CPU'}"


def cost_lines(paper):
    """Claim (d): per machine and family, epochs to stop and seconds per epoch; the bests' training time tested."""
    runs = [(family(r.model), m) for r in paper for m in r.finished if family(r.model)]
    if "LTC" not in {f for f, _ in runs} or len({f for f, _ in runs}) < 2:
        return []
    rows = []
    for machine in sorted({_machine(m) for _, m in runs}):
        for name in FAMILIES:
            mine = [m for f, m in runs if f == name and _machine(m) == machine]
            if not mine:
                continue
            epochs, per_epoch = [m["epochs"] for m in mine], [p for p in map(epoch_seconds, mine) if p]
            rows.append([machine, name, len(mine), f"{statistics.median(epochs):.0f} ({min(epochs)}-{max(epochs)})",
                         f"{statistics.median(per_epoch):.2f} ({min(per_epoch):.2f}-{max(per_epoch):.2f})" if per_epoch
                         else "-", f"{sum(training_seconds(m) or 0.0 for m in mine) / 3600:.1f}"])
    if not rows:
        return []
    bests = family_bests(paper)
    lines = ["**(d) LTC models take longer to train.** Per machine and family: the runs, epochs until the early stop, "
             "seconds per epoch (each run's median epoch; their median and range over the runs) and the hours of "
             "training (each run's epochs times its median epoch, so that pauses of the machine do not count).", "",
             table(["machine", "family", "runs", "epochs", "s / epoch", "hours"], rows, "llrrrr"), ""]
    machines = {_machine(m) for r in bests.values() for m in r.finished}
    if "LTC" not in bests or len(bests) < 2 or len(machines) != 1:
        return lines + (["The family bests' runs were made on several machines: their training times are not "
                         "compared.", ""] if len(machines) > 1 else [])
    tests = [(name, stats.welch_t_test([training_seconds(m) for m in bests["LTC"].finished],
                                       [training_seconds(m) for m in best.finished]))
             for name, best in bests.items() if name != "LTC"
             if len(best.finished) >= 2 and len(bests["LTC"].finished) >= 2]
    adjusted = stats.holm_adjust([w.p_value for _, w in tests])
    sentences = []
    for (name, w), p in zip(tests, adjusted):
        verdict = (f"not decidable with {min(w.n_a, w.n_b)} seeds" if not p < stats.ALPHA
                   else SUPPORTED if w.difference > 0 else NOT_SUPPORTED)
        sentences.append(f"against the {name} best ({bests[name].model}), a difference of {w.difference / 60:+.1f} "
                         f"minutes per run, Welch p = {stats.format_p_value(w.p_value)} (Holm "
                         f"{stats.format_p_value(p)}): **{verdict}**")
    if sentences:
        lines += [f"The LTC best ({bests['LTC'].model}) trains for "
                  f"{stats.format_mean_std([(training_seconds(m) or 0) / 60 for m in bests['LTC'].finished], 1)} "
                  f"minutes per run; " + "; ".join(sentences) + f" ({stats.TEST_NAME} on the per-seed training "
                  f"seconds (epochs times the median epoch), Holm over the {len(tests)} comparison{'s' * (len(tests) != 1)}).", ""]
    return lines
