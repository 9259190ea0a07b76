"""Running experiments: every model of an experiment trained, evaluated and saved, resumably.

Layout, for `run_experiment("exp3", "nodule")`::

    saved_models/exp3_nodule/            one folder per run ("_64" for 64^3, "_seed<k>" with several seeds)
        summary.csv                      a row per model (finished or failed)
        models.config                    TF Serving config serving the run's models by name
        CNNExp3N1/
            1/                           SavedModel (serving_default: volume -> probability)
            model.keras
            history.csv                  a row per epoch, `epoch` from 0
            predictions.csv              val and test probabilities, a row per volume (for paired tests, ROC curves)
            metrics.json                 written last: its presence means the model is done
            settings.json                what the folder's results come from (checked on rerun)
            sessions.json                while training: which machine trains from which epoch
        .CNNExp3N1.lock(.json)           while a process trains the model: its lock and who holds it

Example:

>>> from keras_lnn.runs import RunConfig, run_experiment
>>> results = run_experiment("exp1", "adrenal", models=["CNNExp1N4"], data_dir="../shared/medmnist")
>>> config = RunConfig("exp1", "adrenal", models=("CNNExp1N4",), seeds=(0, 1), data_dir="../shared/medmnist")
>>> results = run_experiment(config)
"""
import dataclasses
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Optional

import numpy as np

from keras_lnn import artifacts, export, models
from keras_lnn.errors import KerasLnnError, RunError
from keras_lnn.io import atomic_write_csv, atomic_write_json
from keras_lnn.locks import ModelBusy, model_lock
from keras_lnn.training import Protocol

SESSIONS_FILE = "sessions.json"  # while a model trains; then part of metrics.json

# Volumes stay uint8 in memory (a 64^3 split is 4x smaller than as float32, and no float copy
# of it exists); the models' Rescaling layer casts each batch, with identical results.
VOLUME_DTYPE = "uint8"
SUMMARY_COLUMNS = [
    "model", "status", "epochs", "stopped_early", "best_val_epoch", "val_acc", "val_auc", "val_loss",
    "test_acc", "test_auc", "test_loss", "trainable_params", "train_seconds", "error",
]


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every setting of `lnn-keras run`, made once (by the command line or a caller) and passed down whole.

    Args:
        experiment: exp1..exp6, `all` (the paper's five), or one model name.
        dataset: MedMNIST 3D dataset, by short name (e.g. "nodule"), or a `.npz` file in MedMNIST's
            layout (see `keras_lnn.data.resolve_dataset_source`; its run folders take the file's stem).
        models: optional subset of the experiment's models (names, experiments, wildcards).
        seeds: one run folder per seed (with one seed, no `_seed` suffix).
        protocol: the training `Protocol` (default: the paper's).
        size: volume edge length, 28 or 64 (None: 28 for a name, a file's own size for a file).
        data_dir: MedMNIST root (None: `$KERAS_LNN_DATA_DIR` or `~/.medmnist`).
        verify: check the data file's MD5 and split sizes (a custom file: its MD5, where `md5` is given).
        md5: the MD5 a custom data file must have (default: not checked).
        mirror: base URL to download a missing data file from (default: the official URL).
        output: folder the run folders go in.
        overwrite: replace results that came from other settings (otherwise they are refused).
        verbose: Keras's per-epoch output (0, 1 or 2); workers of `jobs` train silently.
        jobs: worker processes training models at once (one small model leaves a GPU mostly idle).
        shard: `(K, N)`: train only the K-th of N slices of the model x seed grid (see `plan_tasks`).
        deterministic: deterministic GPU kernels (see `training.configure_backend`); recorded in
            each metrics file as `versions.deterministic_ops`.

    Example:

    >>> config = RunConfig("exp2", "vessel", seeds=[0, 1], protocol=Protocol(max_epochs=5))
    >>> config.seeds, dataclasses.replace(config, jobs=2).jobs
    ((0, 1), 2)
    """

    experiment: str
    dataset: str
    models: Optional[tuple] = None
    seeds: tuple = (0,)
    protocol: Protocol = Protocol()
    size: Optional[int] = None
    data_dir: Optional[str] = None
    verify: bool = True
    md5: Optional[str] = None
    mirror: Optional[str] = None
    output: str = "saved_models"
    overwrite: bool = False
    verbose: int = 2
    jobs: int = 1
    shard: Optional[tuple] = None
    deterministic: bool = True

    def __post_init__(self):
        # Lists from callers become tuples, so that a config stays hashable (a worker's data cache key).
        if isinstance(self.models, str):
            object.__setattr__(self, "models", (self.models,))
        for name in ("models", "seeds", "shard"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """One run: the models of one experiment on one dataset, size and seed."""

    experiment: str
    models: tuple
    seed: int
    run_dir: Path


def run_name(experiment, dataset, size=28, seed=None):
    """`exp3_nodule`, plus `_64` for 64^3 volumes and `_seed<k>` when a grid has several seeds."""
    name = f"{experiment}_{dataset}"
    if size != 28:
        name += f"_{size}"
    if seed is not None:
        name += f"_seed{seed}"
    return name


def plan_runs(experiment, dataset, models_filter=None, seeds=(0,), size=28, output="saved_models"):
    """Expands EXPERIMENT (exp1..exp6, `all`, or one model name) into `RunPlan`s.

    Args:
        experiment: an experiment, `all` (the paper's five), or a model name.
        models_filter: optional model names; each must belong to the experiment(s).
        seeds: one run per seed; with one seed the folder has no `_seed` suffix.
    """
    if experiment == "all":
        from keras_lnn.architectures import PAPER_EXPERIMENTS

        experiments = list(PAPER_EXPERIMENTS)
        chosen = None
    elif experiment in models.list_experiments():
        experiments, chosen = [experiment], None
    else:
        architecture = models.get_architecture(experiment)  # raises UnknownModelError
        experiments, chosen = [architecture.experiment], [architecture.name]
    if models_filter:
        wanted = models.resolve_models(models_filter)
        available = [m for e in experiments for m in models.experiment_models(e)]
        outside = [m for m in wanted if m not in available]
        if outside:
            raise models.UnknownModelError(
                f"{', '.join(outside)} not in {experiment}; its models are: {', '.join(available)}"
            )
        chosen = wanted if chosen is None else [m for m in chosen if m in wanted]
    plans = []
    for seed in seeds:
        for exp in experiments:
            names = tuple(m for m in models.experiment_models(exp) if chosen is None or m in chosen)
            if names:
                suffix_seed = seed if len(seeds) > 1 else None
                plans.append(RunPlan(exp, names, seed, Path(output) / run_name(exp, dataset, size, suffix_seed)))
    return plans


def model_settings(plan, model_name, data, protocol):
    """What a model folder's results depend on; a rerun with other settings is refused."""
    import keras

    return {
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


def check_settings(plans, data, config):
    """Refuses, before any training, results in the output folders that came from other settings or are unreadable.

    Models another process holds are left to it (it checks them).

    Args:
        config: the `RunConfig`; its protocol is compared, and with `overwrite` clashes are returned, not refused.
    """
    clashes = []
    for plan in plans:
        for name in plan.models:
            model_dir = plan.run_dir / name
            path = model_dir / "settings.json"
            if not model_dir.exists():
                continue
            try:
                with model_lock(model_dir):
                    artifacts.check_model_dir(model_dir)
            except ModelBusy:
                continue
            except RunError as error:
                if not config.overwrite:
                    raise
                clashes.append(f"{model_dir} ({error})")
                continue
            if not path.exists():
                continue
            old, new = artifacts.read_settings(model_dir), model_settings(plan, name, data, config.protocol)
            if old != new:
                diff = ", ".join(
                    f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
                )
                clashes.append(f"{path.parent} ({diff})")
    if clashes and not config.overwrite:
        raise RunError(
            "existing results come from other settings; use another --output, or --overwrite to replace them: "
            + "; ".join(clashes)
        )
    return clashes


def run_model_locked(plan, model_name, data, config, echo=print):
    """`run_model` while holding the model's lock (see `keras_lnn.locks`); raises `ModelBusy` if another holds it."""
    with model_lock(plan.run_dir / model_name):
        return run_model(plan, model_name, data, config, echo)


def run_model(plan, model_name, data, config, echo=print):
    """Trains, evaluates and saves one model; returns its metrics dict (read back if already done).

    Call it holding the model's lock (`run_model_locked`): it reads and rewrites the whole folder.

    Args:
        plan: the `RunPlan` the model belongs to (its folder and seed).
        model_name: a registered model name.
        data: the loaded dataset.
        config: the `RunConfig` (protocol, verbose, overwrite).
        echo: prints a line of progress.
    """
    import keras

    from keras_lnn import provenance, training

    protocol = config.protocol
    model_dir = plan.run_dir / model_name
    settings = model_settings(plan, model_name, data, protocol)
    if config.overwrite and model_dir.exists() and not _holds_results_of(model_dir, settings):
        shutil.rmtree(model_dir)
    artifacts.check_model_dir(model_dir)
    if (model_dir / "metrics.json").exists():
        metrics = artifacts.read_metrics(model_dir)
        (model_dir / SESSIONS_FILE).unlink(missing_ok=True)  # left by a kill right after metrics.json
        echo(f"    already {metrics['status']}: {model_dir / 'metrics.json'}")
        return metrics
    _remove_unfinished_outputs(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    if not (model_dir / "settings.json").exists():
        atomic_write_json(model_dir / "settings.json", settings)

    environment = provenance.environment()  # this process: the session's record and, if it finishes, the run's
    sessions = _start_session(model_dir, training.resume_epoch(model_dir), environment)
    keras.utils.set_random_seed(plan.seed)
    n_classes = data.info.n_classes
    model = models.create_model(model_name, input_size=data.size, n_classes=n_classes)
    training.compile_model(model, protocol, n_classes)
    result = training.fit(model, data, protocol, model_dir, verbose=config.verbose, seed=plan.seed)
    history = result.history
    for session, following in zip(sessions, [*sessions[1:], {"first_epoch": len(history)}]):
        session["epochs"] = following["first_epoch"] - session["first_epoch"]
    trainable, non_trainable = models.count_params(model)
    best_epoch, best_metrics = training.best_epoch_summary(history)
    metrics = {
        **{k: settings[k] for k in ("model", "experiment", "dataset", "size", "n_classes", "seed", "backend")},
        "status": "failed" if result.nan_loss else "finished",
        "error": "loss became NaN" if result.nan_loss else None,
        "epochs": len(history),
        "stopped_early": result.stopped_early,
        "val": None,
        "test": None,
        "best_val_epoch": best_epoch,
        "best_val": best_metrics,
        "params": {
            "trainable": trainable,
            "non_trainable": non_trainable,
            "paper": models.get_architecture(model_name).paper_params,
        },
        "train_seconds": round(sum(row.get("epoch_seconds", 0.0) for row in history), 3),
        "protocol": protocol.as_dict(),
        "evaluated_weights": "stopping epoch (the paper's protocol)",
        "data": data.provenance(),
        "data_md5": data.md5,
        # The constant majority-class predictor's test ACC: the floor to read test ACC against.
        "test_majority_acc": float(np.bincount(data.test[1].ravel()).max() / len(data.test[1])),
        "versions": environment,
        # More than one where the run was interrupted and resumed, possibly on another machine.
        "sessions": sessions,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if not result.nan_loss:
        predictions = []
        for split in ("val", "test"):
            x, y = data.split(split)
            probabilities = training.predict(model, x, protocol.batch_size)
            metrics[split] = training.compute_metrics(y, probabilities)
            predictions += prediction_rows(split, y, probabilities)
        atomic_write_csv(model_dir / "predictions.csv", predictions, list(predictions[0]))
        _save_keras(model, model_dir / "model.keras")
        if keras.backend.backend() == "tensorflow":
            export.export_saved_model(model, model_dir / export.SERVING_VERSION)
    atomic_write_json(model_dir / "metrics.json", metrics)  # last: marks the model done
    (model_dir / SESSIONS_FILE).unlink(missing_ok=True)  # now in metrics.json (a kill may come in between)
    keras.backend.clear_session()
    return metrics


def _holds_results_of(model_dir, settings):
    """Whether `model_dir` is readable and comes from `settings` (else `--overwrite` replaces it)."""
    try:
        artifacts.check_model_dir(model_dir)
        return (model_dir / "settings.json").exists() and artifacts.read_settings(model_dir) == settings
    except RunError:
        return False


def _remove_unfinished_outputs(model_dir):
    """Outputs of an attempt killed before its metrics.json: the model is trained again and they are rewritten.

    Left in place, a SavedModel of that attempt would never be replaced (exports only fill gaps).
    """
    shutil.rmtree(model_dir / export.SERVING_VERSION, ignore_errors=True)
    for leftover in [model_dir / "model.keras", model_dir / "predictions.csv", *model_dir.glob(".*")]:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)  # atomic_replace_dir's temporary folders
        else:
            leftover.unlink(missing_ok=True)  # atomic writes' temporary files


def _start_session(model_dir, first_epoch, environment):
    """Records, in `sessions.json`, which machine and software train a model from `first_epoch` on.

    An interrupted run resumes wherever it is started again (a GPU call, then a CPU), so one
    model can be trained by several. Sessions that left no finished epoch are dropped.

    Args:
        environment: `provenance.environment()` of this process.

    Returns:
        The sessions so far, this one last (`first_epoch`, `started_at`, host, pid, device, versions).
    """
    path = model_dir / SESSIONS_FILE
    sessions = [s for s in (artifacts.read_sessions(model_dir) if path.exists() else []) if s["first_epoch"] < first_epoch]
    sessions.append({
        "first_epoch": first_epoch,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        **{key: environment[key] for key in ("device", "backend_version", "deterministic_ops", "platform")},
    })
    atomic_write_json(path, sessions)
    return sessions


def prediction_rows(split, labels, probabilities):
    """Rows of predictions.csv: split, index (position in the split's arrays), label, probability.

    Binary models give one `probability` column (of the positive class); multi-class models one
    `probability_<k>` column per class.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    columns = ["probability"] if probabilities.shape[-1] == 1 else [f"probability_{k}" for k in range(probabilities.shape[-1])]
    return [
        {"split": split, "index": i, "label": int(label), **{c: float(p) for c, p in zip(columns, row)}}
        for i, (label, row) in enumerate(zip(np.asarray(labels).reshape(-1), probabilities))
    ]


def _save_keras(model, path):
    tmp = path.with_name(f".tmp-{path.name}")  # Keras wants the .keras suffix
    model.save(tmp)
    tmp.replace(path)


def summary_rows(run_dir):
    """One row per finished or failed model of a run folder, from the metrics files."""
    rows = []
    for path in sorted(Path(run_dir).glob("*/metrics.json")):
        m = artifacts.read_metrics(path.parent)
        row = {k: m.get(k) for k in ("model", "status", "epochs", "stopped_early", "best_val_epoch", "train_seconds", "error")}
        row["trainable_params"] = m["params"]["trainable"]
        for split in ("val", "test"):
            for key in ("acc", "auc", "loss"):
                row[f"{split}_{key}"] = (m.get(split) or {}).get(key)
        rows.append(row)
    return rows


def write_summary(run_dir):
    atomic_write_csv(Path(run_dir) / "summary.csv", summary_rows(run_dir), SUMMARY_COLUMNS)


def parse_shard(text):
    """"K/N" -> (K, N), with 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"expected K/N such as 2/8, got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"expected 1 <= K <= N in K/N, got {text!r}")
    return k, n


def plan_tasks(plans, shard=None):
    """The (plan, model) pairs to train, in a fixed order; with `shard=(K, N)` only every N-th from the K-th.

    Every model/seed writes its own folder, so shards run on different nodes
    (a SLURM job array, say) merge into one output folder.
    """
    tasks = [(plan, name) for plan in plans for name in plan.models]
    if shard:
        k, n = shard
        tasks = tasks[k - 1 :: n]
    return tasks


def load_run_data(config):
    """The dataset of a run, as `config` says (downloaded first where missing), volumes as uint8."""
    from keras_lnn.data import load_dataset

    return load_dataset(config.dataset, size=config.size, data_dir=config.data_dir, verify=config.verify,
                        download=True, mirror=config.mirror, dtype=VOLUME_DTYPE, md5=config.md5)


_WORKER_DATA = {}


def _train_in_worker(plan, name, config):
    """Trains one model in a worker process (data loaded once per worker), without per-epoch output.

    Returns:
        Its metrics dict, or the `ModelBusy` error when another process holds it.
    """
    if config not in _WORKER_DATA:
        _WORKER_DATA[config] = load_run_data(config)
    quiet = dataclasses.replace(config, verbose=0)
    try:
        return run_model_locked(plan, name, _WORKER_DATA[config], quiet, echo=lambda *a: None)
    except ModelBusy as busy:
        return busy


def run_experiment(experiment, dataset=None, echo=print, **settings):
    """Trains every planned model (see `plan_runs`) and writes all artifacts.

    Models already finished are skipped, an interrupted model resumes from its
    last finished epoch, and existing results from other settings are refused
    unless `overwrite`. A model another live process trains (see `keras_lnn.locks`)
    is skipped with a line saying who holds it; the others go on.

    Args:
        experiment: a `RunConfig`; or the experiment name, with `dataset` and any other
            `RunConfig` field as keywords (`models=`, `seeds=`, `protocol=`, `data_dir=`, ...).
        echo: prints a line of progress (the command line's `click.echo`).

    Returns:
        A list of `(RunPlan, [metrics dict, ...])` for the runs this call trained models of
        (busy models left out).

    Example:

    ```python
    run_experiment("exp1", "adrenal", models=["CNNExp1N4"], seeds=[0, 1], data_dir="../shared/medmnist")
    ```
    """
    import keras

    from keras_lnn.data import resolve_dataset_source
    from keras_lnn.training import configure_backend

    if isinstance(experiment, RunConfig):
        if dataset is not None or settings:
            raise TypeError("run_experiment takes a RunConfig or the settings as keywords, not both")
        config = experiment
    else:
        config = RunConfig(experiment, dataset, **settings)
    configure_backend(deterministic=config.deterministic)
    source = resolve_dataset_source(config.dataset, config.size, config.data_dir, config.md5)
    config = dataclasses.replace(config, size=source.size)  # a file's own size, for the workers too
    plans = plan_runs(config.experiment, source.info.name, config.models, config.seeds, config.size, config.output)
    data = load_run_data(config)
    check_settings(plans, data, config)
    tasks = []
    for plan, name in plan_tasks(plans, config.shard):
        try:
            models.validate_model(name, data.info.n_classes)
            tasks.append((plan, name))
        except KerasLnnError as error:
            echo(f"skipped: {error}")
    metrics_by_task = {}
    if config.jobs > 1:
        metrics_by_task = _train_in_pool(tasks, config, echo)
    else:
        for index, (plan, name) in enumerate(tasks, 1):
            echo(f"[{index}/{len(tasks)}] {name} (seed {plan.seed}, {plan.run_dir}) ...")
            try:
                metrics_by_task[plan.run_dir, name] = run_model_locked(plan, name, data, config, echo)
            except ModelBusy as busy:
                metrics_by_task[plan.run_dir, name] = busy
                echo(f"    skipped: {busy}")
            write_summary(plan.run_dir)
    busy = [error for error in metrics_by_task.values() if isinstance(error, ModelBusy)]
    metrics_by_task = {task: m for task, m in metrics_by_task.items() if not isinstance(m, ModelBusy)}
    results = []
    for plan in plans:
        trained = [metrics_by_task[plan.run_dir, name] for name in plan.models if (plan.run_dir, name) in metrics_by_task]
        if trained:
            write_summary(plan.run_dir)
            _finish_exports(plan.run_dir, keras.backend.backend(), echo)
            results.append((plan, trained))
    if busy:
        echo(f"\nSkipped {len(busy)} model(s) that other processes train (run the same command again after they "
             "end to train any they leave unfinished):\n" + "\n".join(f"    {error}" for error in busy))
    return results


def _train_in_pool(tasks, config, echo):
    import concurrent.futures
    import functools
    import multiprocessing

    from keras_lnn.training import configure_backend

    results = {}
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited backend state
    initializer = functools.partial(configure_backend, deterministic=config.deterministic)
    with concurrent.futures.ProcessPoolExecutor(config.jobs, mp_context=context, initializer=initializer) as pool:
        futures = {pool.submit(_train_in_worker, plan, name, config): (plan, name) for plan, name in tasks}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            plan, name = futures[future]
            try:
                metrics = results[plan.run_dir, name] = future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)  # an error ends the run now, not after the queued models
                raise
            if isinstance(metrics, ModelBusy):
                echo(f"[{done}/{len(tasks)}] {name} (seed {plan.seed}) skipped: {metrics}")
                continue
            test = metrics.get("test") or {}
            echo(f"[{done}/{len(tasks)}] {name} (seed {plan.seed}): {metrics['status']}, {metrics['epochs']} epochs, "
                 f"test ACC {test.get('acc', float('nan')):.3f} AUC {test.get('auc') or float('nan'):.3f}")
    return results


def _finish_exports(run_dir, backend, echo):
    if backend == "tensorflow":
        export.write_models_config(run_dir)
        return
    missing = [d for d in export.model_dirs(run_dir) if not (d / export.SERVING_VERSION).exists()]
    if not missing:
        export.write_models_config(run_dir)
    elif export.tensorflow_available():
        echo(f"Writing SavedModels in a TensorFlow-backend process (this run used {backend}) ...")
        export.export_run(run_dir, echo=echo)
    else:
        echo(
            f"TensorFlow is not installed, so no SavedModels were written (backend {backend}); "
            f"model.keras and metrics.json are complete. Run `lnn-keras export {run_dir}` where TensorFlow is installed."
        )
