"""The report's slice profiles: which slices the best model of each family reads, per class.

A profile is the mean per-slice contribution to the logit over the test volumes of one true
class (binary models: to the sigmoid's logit; multi-class: to the logit of the true class).
"""
import numpy as np

from keras_lnn.errors import KerasLnnError
from keras_lnn.explain.contributions import NotDecomposableError, slice_contributions


def slice_profiles(model, volumes, labels, class_names=None, batch_size=32):
    """`{class name: (slices,) mean contribution}` over the volumes of each true class present.

    Args:
        model: a keras_lnn model whose head is a mean of per-slice logits.
        volumes: `(N, S, S, S, 1)` raw volumes; labels: `(N,)` or `(N, 1)` classes.
        class_names: class index -> name (default: the index).

    Raises:
        NotDecomposableError: see `slice_contributions`.
    """
    labels = np.asarray(labels).reshape(-1)
    result = slice_contributions(model, volumes, batch_size)
    binary = result.contributions.shape[-1] == 1
    names = class_names or {}
    return {f"{k} ({names[k]})" if k in names and names[k] != str(k) else str(k):
            result.contributions[labels == k, :, 0 if binary else k].mean(axis=0)
            for k in np.unique(labels).tolist()}


def _best_first(results, family):
    """`{family: [ModelResults, ...]}`, each family's models by mean test AUC, best first."""
    ranked = {}
    for r in sorted((r for r in results if r.mean() is not None), key=lambda r: -r.mean()):
        if family(r.model):
            ranked.setdefault(family(r.model), []).append(r)
    return ranked


def slice_profile_section(dataset, size, results, data_dir, figures, family):
    """Report lines and figure (added to `figures`) of the slice profiles of one dataset.

    The best model of each family (by mean test AUC) whose head is a mean of per-slice logits and
    that left a model.keras, on the test split of the data it was trained on. Nothing where no
    such model.keras exists.

    Args:
        dataset, size: the dataset's name and volume size.
        results: its `ModelResults` (see `keras_lnn.report`).
        data_dir: MedMNIST root (`--data-dir`).
        figures: `{relative path: PNG bytes}` of the report; the figure is added.
        family: model name -> family name or None (the report's `family`).
    """
    from keras_lnn.data import load_dataset
    from keras_lnn.explain import figures as drawing, load_model, run_dataset_source
    from keras_lnn.runs import run_name

    panels, skipped, data = [], [], None
    for name, ranked in _best_first(results, family).items():
        for r in ranked:
            run = next((m for m in r.finished if (m["_path"].parent / "model.keras").is_file()), None)
            if run is None:
                continue
            try:
                if data is None:
                    data = load_dataset(run_dataset_source(run, data_dir=data_dir, where=str(run["_path"].parent)),
                                        verify=False, dtype="uint8")
                x, y = data.test
                profiles = slice_profiles(load_model(run["_path"].parent), x, y, data.info.labels)
            except NotDecomposableError:
                skipped.append(f"{r.model} (a non-linear layer follows its slice mean)")
                continue
            except KerasLnnError as error:
                return ["### Which slices the models read", "", f"Not drawn: {error}", ""]
            panels.append((f"{name}: {r.model} (seed {run['seed']})", profiles))
            break
    if not panels:
        return []
    stem = run_name("slices", dataset, size)
    figures[f"figures/{stem}.png"] = drawing.profile_figure(panels, f"Mean per-slice contribution, {dataset} test split")
    return ["### Which slices the models read", "",
            "Per family, the best model by mean test AUC (one seed's model.keras): its mean per-slice contribution to "
            "the logit over the test volumes of each true class (multi-class: to the true class's logit). The "
            "contributions of a volume sum to its logit; `lnn-keras explain` draws them volume by volume."
            + (f" Passed over: {', '.join(skipped)}." if skipped else ""), "",
            f"![Mean per-slice contribution per class, {dataset}](figures/{stem}.png)", ""]
