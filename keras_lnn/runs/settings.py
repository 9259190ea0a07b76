"""What a model folder's results come from, and the refusal of results from other settings."""
from keras_lnn.runs import artifacts
from keras_lnn.errors import RunError
from keras_lnn.locks import ModelBusy, model_lock


def model_settings(plan, model_name, data, protocol, options=None):
    """What a model folder's results depend on; a rerun with other settings is refused.

    Args:
        options: the `TrainingOptions`; recorded (`training_options`) only where they are not
            the paper's, so a paper run's settings are those its folder has always held.
    """
    import keras

    settings = {
        "model": model_name,
        "experiment": plan.experiment,
        "dataset": data.info.name,
        "size": data.size,
        "n_classes": data.info.n_classes,
        "seed": plan.seed,
        "backend": keras.backend.backend(),
        "data_md5": data.md5,
        "protocol": protocol.as_dict(),
    }
    if options is not None and not options.is_paper:
        settings["training_options"] = options.as_dict()
    return settings


def check_settings(model_runs, overwrite=False):
    """Refuses, before any training, results in the output folders that came from other settings or are unreadable.

    Models another process holds are left to it (it checks them).

    Args:
        model_runs: the `ModelRun`s of the planned models (their folders and settings).
        overwrite: return the clashes instead of refusing them (they are replaced).
    """
    clashes = []
    for run in model_runs:
        model_dir = run.folder
        path = model_dir / "settings.json"
        if not model_dir.exists():
            continue
        try:
            with model_lock(model_dir):
                artifacts.check_model_dir(model_dir)
        except ModelBusy:
            continue
        except RunError as error:
            if not overwrite:
                raise
            clashes.append(f"{model_dir} ({error})")
            continue
        if not path.exists():
            continue
        old, new = artifacts.read_settings(model_dir), run.settings
        if old != new:
            diff = ", ".join(
                f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
            )
            clashes.append(f"{path.parent} ({diff})")
    if clashes and not overwrite:
        raise RunError(
            "existing results come from other settings; use another --output, or --overwrite to replace them: "
            + "; ".join(clashes)
        )
    return clashes
