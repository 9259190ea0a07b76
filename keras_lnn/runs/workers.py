"""Models trained at once in worker processes (`RunConfig.jobs`), each worker loading the data once."""
import concurrent.futures
import dataclasses
import functools
import multiprocessing
import time

from keras_lnn.locks import ModelBusy
from keras_lnn.runs.config import load_run_data
from keras_lnn.runs.model_run import ModelRun, run_model_locked
from keras_lnn.system import machine

_WORKER_DATA = {}


def _train_in_worker(plan, name, config, source=None):
    """Trains one model in a worker process (data and class weights once per worker), without per-epoch output.

    Returns:
        Its metrics dict, or the `ModelBusy` error when another process holds it.
    """
    if config not in _WORKER_DATA:
        data = load_run_data(config, source)
        _WORKER_DATA[config] = data, config.training_options.class_weights(data.train[1], data.info.n_classes)
    data, class_weights = _WORKER_DATA[config]
    quiet = dataclasses.replace(config, verbose=0)
    try:
        return run_model_locked(ModelRun(plan, name, data, quiet, class_weights), echo=lambda *a: None)
    except ModelBusy as busy:
        return busy


def _start_worker(deterministic, threads):
    """A worker's backend settings, before its first computation: its share of the CPU (`threads`), then the rest."""
    import keras

    from keras_lnn.training import configure_backend

    if threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads[0])
        tf.config.threading.set_inter_op_parallelism_threads(threads[1])
    elif threads and keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(threads[0])
        torch.set_num_interop_threads(threads[1])
    configure_backend(deterministic=deterministic)


def _cpu_threads_backend():
    """The backend in use where it trains on the CPU and its threads can be set (TensorFlow, PyTorch); else None."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return None if tf.config.list_physical_devices("GPU") else backend
    if backend == "torch":
        import torch

        return None if torch.cuda.is_available() else backend
    return None


def elapsed(started):
    """Time since `started` (a `time.monotonic()`) as H:MM:SS."""
    seconds = int(time.monotonic() - started)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def train_in_pool(tasks, config, echo, started=None, source=None):
    """Trains `tasks` in `config.jobs` fresh worker processes; returns `{(run_dir, name): metrics dict or ModelBusy}`.

    On TensorFlow or PyTorch on a CPU each worker runs with its share of the cores (`machine.worker_threads`).

    Args:
        started: the experiment's start (`time.monotonic()`): each line then says the time elapsed since.
        source: the `DatasetSource` the config's dataset resolved to (the workers load it as it is).
    """
    started = time.monotonic() if started is None else started
    # On a CPU: the cores divided among the workers (`machine.worker_threads`), unless the user set the threads.
    backend = _cpu_threads_backend()
    threads = machine.worker_threads(config.jobs, backend) if backend else None
    if threads:
        echo(f"{config.jobs} workers, each with {threads[0]}:{threads[1]} CPU threads (intra-op:inter-op; "
             f"{' or '.join(machine.THREAD_VARIABLES[backend])} set your own)")
    results = {}
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited backend state
    initializer = functools.partial(_start_worker, config.deterministic, threads)
    with concurrent.futures.ProcessPoolExecutor(config.jobs, mp_context=context, initializer=initializer) as pool:
        futures = {pool.submit(_train_in_worker, plan, name, config, source): (plan, name) for plan, name in tasks}
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
                 f"test ACC {test.get('acc', float('nan')):.3f} AUC {test.get('auc') or float('nan'):.3f}, "
                 f"{elapsed(started)} elapsed")
    return results
