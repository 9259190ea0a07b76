"""The report's section on slice profiles: which slices the best model of each family reads, per class.

The profiles are `keras_lnn.explain.slice_profiles` of each family's best model (data); this
module picks the models, draws the figure and writes the markdown.
"""
from keras_lnn import load_model
from keras_lnn.data import load_dataset, run_dataset_source
from keras_lnn.errors import KerasLnnError
from keras_lnn.explain import figures as drawing
from keras_lnn.explain import slice_profiles
from keras_lnn.explain.contributions import NotDecomposableError
from keras_lnn.runs import run_name


def _best_first(results, family):
    """`{family: [ModelResults, ...]}`, each family's models by mean validation AUC, best first.

    Chosen on validation as the family bests are (`report.families`): the test split plays no part.
    """
    ranked = {}
    for r in sorted((r for r in results if r.mean("val", "auc") is not None), key=lambda r: -r.mean("val", "auc")):
        if family(r.model):
            ranked.setdefault(family(r.model), []).append(r)
    return ranked


def slice_profile_section(dataset, size, results, data_dir, figures, family):
    """Report lines and figure (added to `figures`) of the slice profiles of one dataset.

    The best model of each family (by mean validation AUC) whose head is a mean of per-slice logits and
    that left a model.keras, on the test split of the data it was trained on. Nothing where no
    such model.keras exists.

    Args:
        dataset, size: the dataset's name and volume size.
        results: its `ModelResults` (see `keras_lnn.report`).
        data_dir: MedMNIST root (`--data-dir`).
        figures: `{relative path: PNG bytes}` of the report; the figure is added.
        family: model name -> family name or None (the report's `family`).
    """
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
                profiles = slice_profiles(load_model(run["_path"].parent, compile=False), x, y, data.info.labels)
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
            "Per family, the best model by mean validation AUC (one seed's model.keras): its mean per-slice contribution to "
            "the logit over the test volumes of each true class (multi-class: to the true class's logit). The "
            "contributions of a volume sum to its logit; `lnn-keras explain` draws them volume by volume."
            + (f" Passed over: {', '.join(skipped)}." if skipped else ""), "",
            f"![Mean per-slice contribution per class, {dataset}](figures/{stem}.png)", ""]
