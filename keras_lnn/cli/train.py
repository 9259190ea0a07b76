"""`lnn-keras run`: train, evaluate and export an experiment's models."""
import sys

import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import (
    augment_callback, class_weight_callback, DATASET_HELP, data_dir_option, DatasetType, echo_rows, ExperimentType,
    md5_option, ModelsType, seeds_callback, shard_callback, size_for, size_option, tensorboard_callback,
)
from keras_lnn.models import UnknownModelError
from keras_lnn.settings import AUGMENTATIONS, Protocol, RunConfig, TrainingOptions


@main.command()
@click.argument("experiment", type=ExperimentType())
@click.option("--dataset", required=True, type=DatasetType(files=True), help=DATASET_HELP)
@click.option("--models", "models_filter", type=ModelsType(), default=None, help="Comma-separated subset of the experiment's models.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (weights, shuffling, dropout).")
@click.option("--seeds", callback=seeds_callback, default=None, help="Several seeds, e.g. 0,1,2: one run folder per seed.")
@click.option("--max-epochs", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True)
@click.option("--patience", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--min-delta", type=click.FloatRange(min=0), default=0.001, show_default=True)
@size_option
@data_dir_option
@click.option("--no-verify", is_flag=True, help="Skip the MD5 and split-size checks (derived or custom files).")
@md5_option
@click.option("--mirror", default=None, help="Base URL to download a missing data file from (env: KERAS_LNN_MEDMNIST_MIRROR).")
@click.option("--output", type=click.Path(file_okay=False), default="saved_models", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing results that came from other settings.")
@click.option("--quiet", is_flag=True, help="No per-epoch Keras output.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes training models at once: several small models on one GPU, or one per "
                   "core on a CPU (on TensorFlow and PyTorch each takes its share of the cores' threads).")
@click.option("--shard", callback=shard_callback, default=None, metavar="K/N",
              help="Train only the K-th of N slices of the model x seed grid (for job arrays).")
@click.option("--deterministic/--nondeterministic", default=True, show_default=True,
              help="Deterministic GPU kernels: the same seed gives the same model on every run (slower on a GPU).")
@click.option("--augment", callback=augment_callback, default=None, metavar="SPEC",
              help="Augment the training batches (never validation, test or the saved model), a comma list of: "
                   + "; ".join(f"{name}: {what}" for name, what in AUGMENTATIONS.items())
                   + ". Each batch's draw depends on (seed, epoch, batch) alone, so a resumed run ends as an "
                     "uninterrupted one. Off: the paper's protocol.")
@click.option("--class-weight", callback=class_weight_callback, default=None, metavar="balanced|W0,W1,...",
              help="Per-class weights on the training loss: 'balanced' (n / (k * n_c) from the training split) or "
                   "one weight >= 0 per class. Early stopping still reads Keras's validation loss, which has no "
                   "class weights. Off: the paper's protocol.")
@click.option("--tta", is_flag=True,
              help="Test-time augmentation: also evaluate on the probabilities averaged over the 8 flips of each "
                   "volume (predictions.csv keeps the plain ones beside *_tta columns; metrics.json adds a tta block).")
@click.option("--tensorboard", callback=tensorboard_callback, default=None, type=click.Path(file_okay=False),
              metavar="DIR", help="TensorBoard per-epoch scalars in DIR/<run folder>/<model> (needs TensorFlow). "
                                  "Changes no result.")
def run(**options):
    """Train, evaluate and export the models of EXPERIMENT (exp1..exp6, paper, all, or a model name).

    Defaults are the paper's protocol. Each model leaves a SavedModel (1/), model.keras,
    history.csv and metrics.json under OUTPUT/<experiment>_<dataset>/<model>/. Running the
    same command again skips finished models and resumes an interrupted one. A --dataset
    file trains as a dataset named after its stem (OUTPUT/exp1_myscans/). --augment and
    --class-weight name the folder too (OUTPUT/exp2_vessel_aug-flip-rot90_cw-balanced/), so it
    cannot pass for the paper's; --tta does not (it trains the same weights).
    """
    from keras_lnn.runs import run_experiment

    config = run_config(click.get_current_context(), **options)
    try:
        results = run_experiment(config, echo=click.echo)
    except UnknownModelError as error:
        raise click.BadParameter(str(error), param_hint="--models") from None
    except KeyboardInterrupt:
        click.echo("\nInterrupted. Run the same command again to resume from the last finished epoch.", err=True)
        sys.exit(130)
    for plan, metrics in results:
        click.echo(f"\n{plan.run_dir} (seed {plan.seed})")
        rows = [{"model": m["model"], "status": m["status"], "epochs": m["epochs"],
                 "test_acc": (m["test"] or {}).get("acc"), "test_auc": (m["test"] or {}).get("auc")} for m in metrics]
        echo_rows(rows, "table", ["model", "status", "epochs", "test_acc", "test_auc"])


def run_config(ctx, experiment, dataset, models_filter, seed, seeds, max_epochs, batch_size, learning_rate, patience,
               min_delta, size, data_dir, no_verify, md5, mirror, output, overwrite, quiet, jobs, shard, deterministic,
               augment, class_weight, tta, tensorboard):
    """The `RunConfig` of `run`'s parsed options."""
    return RunConfig(
        experiment, dataset, models=models_filter, seeds=seeds or [seed],
        protocol=Protocol(max_epochs, batch_size, learning_rate, patience, min_delta),
        size=size_for(ctx, dataset, size), data_dir=data_dir, verify=not no_verify, md5=md5, mirror=mirror,
        output=output, overwrite=overwrite, verbose=0 if quiet else 2, jobs=jobs, shard=shard,
        deterministic=deterministic, training_options=TrainingOptions(augment or (), class_weight, tta),
        tensorboard=tensorboard,
    )
