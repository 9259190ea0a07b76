"""`run_experiment`: every planned model trained (in this process or a pool), summed up and exported."""
import dataclasses
import time

from keras_lnn import models
from keras_lnn.deploy import export
from keras_lnn.errors import KerasLnnError
from keras_lnn.locks import ModelBusy
from keras_lnn.runs.config import load_run_data
from keras_lnn.runs.model_run import ModelRun, run_model_locked
from keras_lnn.runs.plan import plan_runs, plan_tasks
from keras_lnn.runs.settings import check_settings
from keras_lnn.runs.summary import write_summary
from keras_lnn.runs.workers import elapsed, train_in_pool
from keras_lnn.settings import RunConfig


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
    from keras_lnn.training import check_tensorboard_dir, configure_backend

    if isinstance(experiment, RunConfig):
        if dataset is not None or settings:
            raise TypeError("run_experiment takes a RunConfig or the settings as keywords, not both")
        config = experiment
    else:
        config = RunConfig(experiment, dataset, **settings)
    started = time.monotonic()
    if config.tensorboard is not None:
        check_tensorboard_dir(config.tensorboard)
    configure_backend(deterministic=config.deterministic)
    source = resolve_dataset_source(config.dataset, config.size, config.data_dir, config.md5)
    config = dataclasses.replace(config, size=source.size)  # a file's own size, for the workers too
    plans = plan_runs(config.experiment, source.info.name, config.models, config.seeds, config.size, config.output,
                      config.training_options)
    data = load_run_data(config, source)
    config.training_options.check(data.info.n_classes, data.info.name)
    class_weights = config.training_options.class_weights(data.train[1], data.info.n_classes)  # refused now if bad
    model_runs = {(plan.run_dir, name): ModelRun(plan, name, data, config, class_weights)
                  for plan in plans for name in plan.models}
    check_settings(model_runs.values(), config.overwrite)
    tasks = []
    for plan, name in plan_tasks(plans, config.shard):
        try:
            models.validate_model(name, data.info.n_classes)
            tasks.append((plan, name))
        except KerasLnnError as error:
            echo(f"skipped: {error}")
    metrics_by_task = {}
    if config.jobs > 1:
        metrics_by_task = train_in_pool(tasks, config, echo, started, source)
    else:
        for index, (plan, name) in enumerate(tasks, 1):
            echo(f"[{index}/{len(tasks)}] {name} (seed {plan.seed}, {plan.run_dir}), {elapsed(started)} elapsed ...")
            try:
                metrics_by_task[plan.run_dir, name] = run_model_locked(model_runs[plan.run_dir, name], echo)
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
