"""`lnn-keras evaluate`: every metric of finished models recomputed from their predictions.csv."""
import sys

import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import data_dir_option


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--tta", is_flag=True,
              help="Also test-time augmentation: each model.keras predicts the 8 flips of every val and test volume "
                   "(the run's own data file), added to predictions.csv beside the plain probabilities.")
@data_dir_option
def evaluate(run_dirs, tta, data_dir):
    """Recompute every metric of the finished models in RUN_DIRS from their predictions.csv, without retraining.

    RUN_DIRS are run folders, folders holding them (e.g. saved_models) or model folders: every
    metrics.json below them is rewritten with the current metrics (docs/records.md), its training
    record kept, and so are each model's medmnist/ result files, its MODEL_CARD.md and each run's
    summary.csv. A model another process holds is skipped; the exit code is non-zero unless every
    model was evaluated. --tta needs the data the runs were trained on (--data-dir) and a backend.
    """
    from keras_lnn.runs.evaluate import evaluate_runs

    outcome = evaluate_runs(run_dirs, echo=click.echo, tta=tta, data_dir=data_dir)
    click.echo(f"\n{len(outcome.evaluated)} evaluated, {len(outcome.not_finished)} not finished, "
               f"{len(outcome.busy)} busy, {len(outcome.errors)} not evaluated")
    for line in outcome.busy + outcome.errors:
        click.echo(f"    {line}", err=True)
    if not outcome.ok:
        sys.exit(1)
