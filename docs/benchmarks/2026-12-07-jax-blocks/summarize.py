"""Summarise this folder's records: steady epoch seconds per model and form, min-max over all steady
epochs, the median of the repeats' medians, and each form's speed against the paper's code (its median
over the form's). Prints JSON: python docs/benchmarks/2026-12-07-jax-blocks/summarize.py"""
import glob
import json
import os
import statistics

here = os.path.dirname(os.path.abspath(__file__))
forms = {}
for path in sorted(glob.glob(os.path.join(here, "*-[0-9].json"))):
    tag = os.path.basename(path)[:-7]
    repeat = int(path[-6])
    for record in json.load(open(path)):
        form = "paper" if record["implementation"] == "paper-pytorch" else {
            "paper-and-torch": "torch", "jax-blocks": "jax-blocks", "jax-rows": "jax-whole-rows"}[tag]
        entry = forms.setdefault(record["model"], {}).setdefault(form, {"repeats": {}, "weights_md5": set()})
        entry["repeats"][repeat] = record["steady_epoch_s"]
        entry["weights_md5"].add(record.get("weights_md5"))
summary = {}
for model, by_form in forms.items():
    paper = statistics.median(r["median"] for r in by_form["paper"]["repeats"].values())
    summary[model] = {}
    for form, entry in by_form.items():
        reps = entry["repeats"]
        median = statistics.median(r["median"] for r in reps.values())
        summary[model][form] = {
            "min": min(r["min"] for r in reps.values()), "max": max(r["max"] for r in reps.values()),
            "median_of_medians": round(median, 3), "repeats": len(reps),
            "per_repeat_median": [reps[k]["median"] for k in sorted(reps)],
            "paper_over_this": round(paper / median, 2),
            "paper_over_this_per_repeat": [round(by_form["paper"]["repeats"][k]["median"] / reps[k]["median"], 2)
                                           for k in sorted(reps)],
            "same_weights_every_repeat": len(entry["weights_md5"]) == 1 if form != "paper" else None}
print(json.dumps(summary, indent=1))
