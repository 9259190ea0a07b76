"""Which runs and models a command trains: run folders per experiment and seed, and shards of them."""
import dataclasses
from pathlib import Path

from keras_lnn import models


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """One run: the models of one experiment on one dataset, size and seed."""

    experiment: str
    models: tuple
    seed: int
    run_dir: Path


def run_name(experiment, dataset, size=28, seed=None, options=None):
    """`exp3_nodule`, plus `_64` for 64^3 volumes, the options' suffix and `_seed<k>` when a grid has several seeds.

    Args:
        options: `TrainingOptions`; those that change training add `run_suffix` (e.g.
            `exp2_vessel_aug-flip-rot90_cw-balanced_seed0`), so such a folder cannot pass for the paper's.
    """
    name = f"{experiment}_{dataset}"
    if size != 28:
        name += f"_{size}"
    if options is not None:
        name += options.run_suffix
    if seed is not None:
        name += f"_seed{seed}"
    return name


def plan_runs(experiment, dataset, models_filter=None, seeds=(0,), size=28, output="saved_models", options=None):
    """Expands EXPERIMENT (exp1..exp6, `paper`, `all`, or one model name) into `RunPlan`s.

    Args:
        experiment: an experiment, a group (`paper`: exp1-exp5; `all`: every experiment), or a model name.
        models_filter: optional model names; each must belong to the experiment(s).
        seeds: one run per seed; with one seed the folder has no `_seed` suffix.
        options: `TrainingOptions` (see `run_name`).
    """
    experiments, chosen = models.experiment_scope(experiment)  # raises UnknownModelError
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
                plans.append(RunPlan(exp, names, seed, Path(output) / run_name(exp, dataset, size, suffix_seed, options)))
    return plans


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
