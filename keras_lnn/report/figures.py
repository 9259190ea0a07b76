"""The report's figures as PNG bytes: scores per model over seeds, validation loss per epoch.

Figures are drawn without pyplot, so writing a report never touches a user's
pyplot backend or state.
"""
import textwrap

from keras_lnn.evaluation import stats
from keras_lnn.explain.drawing import colors as _colors, new_figure as _new_figure, png_bytes as _png_bytes
from keras_lnn.paper import table2_results
from keras_lnn.report.collect import read_val_losses
from keras_lnn.report.settings import differing_fields, model_label


def scores_figure(results, constant_acc=None, title=""):
    """PNG bytes: test and val ACC and AUC per model, mean ± std over seeds, seeds as dots, paper's test as stars."""
    paper = table2_results()
    fields = differing_fields(results)  # two settings of one model: two ticks that say which
    # A setting's words wrap onto lines: one long tick label would squeeze the axes to nothing.
    labels = [textwrap.fill(model_label(r, fields), 18) for r in results]
    label_lines = max(label.count("\n") + 1 for label in labels)
    figure = _new_figure(max(6.0, 1.2 * len(results) + 2.5), 3.2 + 0.16 * label_lines)
    axes = figure.subplots(1, 2, sharey=False)
    test_color, val_color = _colors(2)
    x = list(range(len(results)))
    for ax, key in zip(axes, ("acc", "auc")):
        for offset, split, color, marker in ((-0.15, "test", test_color, "o"), (0.15, "val", val_color, "s")):
            for i, result in enumerate(results):
                values = [v for v in result.scores(split, key) if v is not None]
                if not values:
                    continue
                # Seeds spread sideways a little so that they do not hide behind the mean's marker.
                jitter = [0.07 * (k / max(len(values) - 1, 1) - 0.5) for k in range(len(values))]
                ax.scatter([i + offset + j for j in jitter], values, s=12, color=color, alpha=0.5, linewidths=0)
                spread = stats.std(values) or 0.0
                ax.errorbar(i + offset, stats.mean(values), yerr=spread, fmt=marker, color=color, capsize=4,
                            markersize=6, label=f"{split} (mean ± std)" if i == 0 else None)
        starred = [(i, paper[r.model][r.dataset][key]) for i, r in enumerate(results)
                   if r.model in paper and r.dataset in paper[r.model]]
        if starred:
            ax.scatter(*zip(*starred), marker="*", s=110, color="black", label="paper (test)", zorder=3)
        baseline = constant_acc if key == "acc" else 0.5
        if baseline is not None:
            ax.axhline(baseline, color="gray", linestyle="--", linewidth=1,
                       label="constant predictor" if key == "acc" else "chance (AUC 0.5)")
        # At least 0.1 of range: a zoom onto a 0.001 spread would make seed noise look like a result.
        low, high = ax.get_ylim()
        centre, half = (low + high) / 2, max((high - low) / 2, 0.05)
        ax.set_ylim(max(0.0, centre - half), min(1.02, centre + half))
        ax.set_title(key.upper())
        ax.set_xticks(x, labels, rotation=0 if fields else 30, ha="center" if fields else "right", fontsize=7 if fields else 8)
        ax.set_xlim(-0.6, len(results) - 0.4)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    figure.suptitle(title, fontsize=10)
    return _png_bytes(figure)


def val_loss_figure(results, title=""):
    """PNG bytes: validation loss per epoch, one line per seed, one color per model."""
    figure = _new_figure(6.5, 3.8)
    ax = figure.subplots()
    fields = differing_fields(results)
    for result, color in zip(results, _colors(len(results))):
        for index, metrics in enumerate(result.runs):
            curve = read_val_losses(metrics["_path"].parent)
            if curve:
                epochs, losses = zip(*curve)
                ax.plot(epochs, losses, color=color, alpha=0.8, marker="." if len(curve) < 20 else None,
                        label=model_label(result, fields) if index == 0 else None)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (from 0)")
    ax.set_ylabel("validation loss")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    return _png_bytes(figure)


def reliability_figure(panels, title=""):
    """PNG bytes: reliability diagram of the test probabilities, one color per model, one line per seed; or None.

    Points are each run's `test.calibration.reliability` bins (mean confidence vs observed frequency, empty
    bins omitted), drawn with the diagonal of perfect calibration. None where no run recorded them.

    Args:
        panels: `[(label, ModelResults), ...]`, e.g. the family bests.
        title: the figure's title.
    """
    figure = _new_figure(5.0, 4.6)
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, label="perfect calibration")
    drawn, of = False, set()
    for (label, result), color in zip(panels, _colors(len(panels))):
        legend = label  # on the first seed drawn only
        for metrics in result.finished:
            calibration = (metrics.get("test") or {}).get("calibration") or {}
            bins = [b for b in calibration.get("reliability") or [] if b.get("confidence") is not None]
            if not bins:
                continue
            of.add(calibration.get("of"))
            ax.plot([b["confidence"] for b in bins], [b["observed"] for b in bins], color=color, marker="o",
                    markersize=3, alpha=0.8, label=legend)
            drawn, legend = True, None
    if not drawn:
        return None
    # docs/records.md: "positive-class probability" (binary) observes positives; "top-class confidence", accuracy.
    observed = {"positive-class probability": "fraction of positives", "top-class confidence": "accuracy"}
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(f"mean {' / '.join(sorted(filter(None, of))) or 'predicted probability'} in the bin")
    ax.set_ylabel(f"observed {' / '.join(sorted(observed.get(o, 'frequency') for o in of))} in the bin")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(title, fontsize=9)
    return _png_bytes(figure)
