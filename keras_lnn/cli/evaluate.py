"""`lnn-keras evaluate`: every metric of finished models recomputed from their predictions.csv."""
import sys

import click

from keras_lnn.cli.group import main


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
def evaluate(run_dirs):
    """Recompute every metric of the finished models in RUN_DIRS from their predictions.csv, without retraining.

    RUN_DIRS are run folders, folders holding them (e.g. saved_models) or model folders: every
    metrics.json below them is rewritten with the current metrics (docs/records.md), its training
    record kept, and so are each model's medmnist/ result files, its MODEL_CARD.md and each run's
    summary.csv. A model another process holds is skipped; the exit code is non-zero unless every
    model was evaluated.
    """
    from keras_lnn.runs.evaluate import evaluate_runs

    outcome = evaluate_runs(run_dirs, echo=click.echo)
    click.echo(f"\n{len(outcome.evaluated)} evaluated, {len(outcome.not_finished)} not finished, "
               f"{len(outcome.busy)} busy, {len(outcome.errors)} not evaluated")
    for line in outcome.busy + outcome.errors:
        click.echo(f"    {line}", err=True)
    if not outcome.ok:
        sys.exit(1)
