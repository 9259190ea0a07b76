#!/usr/bin/env python
"""Summarise a folder of side-by-side `scripts/benchmark.py` records (one JSON per process, `TAG-REPEAT.json`).

Per model and form: steady epoch seconds, min-max over all steady epochs, the median of the repeats'
medians, and the speed against the paper's code (its median over the form's; above 1, faster), overall
and per repeat. A form is the file's tag (`jax-blocks-2.json`: `jax-blocks`; `paper-and-torch`:
`torch`), or `paper` for the records of the paper's code (`--reference`). Prints JSON:

    python scripts/side_by_side.py docs/benchmarks/2026-12-07-targets
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys


def forms_of(folder):
    """`{model: {form: {"repeats": {repeat: steady_epoch_s}, "weights_md5": set}}}`."""
    forms = {}
    for path in sorted(glob.glob(os.path.join(folder, "*-[0-9]*.json"))):
        found = re.fullmatch(r"(.+)-(\d+)\.json", os.path.basename(path))
        if not found:
            continue
        tag, repeat = found.group(1), int(found.group(2))
        records = json.load(open(path))
        if not (isinstance(records, list) and all("implementation" in record for record in records)):
            continue  # another script's record (encoder_forms.py's)
        for record in records:
            form = "paper" if record["implementation"] == "paper-pytorch" else tag.replace("paper-and-", "")
            entry = forms.setdefault(record["model"], {}).setdefault(form, {"repeats": {}, "weights_md5": set()})
            entry["repeats"][repeat] = record["steady_epoch_s"]
            entry["weights_md5"].add(record.get("weights_md5"))
    return forms


def summarize(forms):
    summary = {}
    for model, by_form in forms.items():
        paper = by_form.get("paper", {}).get("repeats", {})
        paper_median = statistics.median(r["median"] for r in paper.values()) if paper else None
        summary[model] = {}
        for form, entry in by_form.items():
            reps = entry["repeats"]
            median = statistics.median(r["median"] for r in reps.values())
            summary[model][form] = {
                "min": min(r["min"] for r in reps.values()), "max": max(r["max"] for r in reps.values()),
                "median_of_medians": round(median, 3), "repeats": len(reps),
                "per_repeat_median": [reps[k]["median"] for k in sorted(reps)],
                "paper_over_this": round(paper_median / median, 2) if paper else None,
                "paper_over_this_per_repeat": [round(paper[k]["median"] / reps[k]["median"], 2)
                                               for k in sorted(reps) if k in paper],
                "same_weights_every_repeat": len(entry["weights_md5"]) == 1 if form != "paper" else None}
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    args = parser.parse_args(argv)
    print(json.dumps(summarize(forms_of(args.folder)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
