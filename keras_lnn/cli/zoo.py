"""`lnn-keras list`, `summary` and `audit`: the registered models."""
import json
import sys

import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import echo_rows, format_option, ModelsType, size_option
from keras_lnn.models import (
    MODEL_GROUPS, create_model, experiment_models, get_architecture, group_models, list_experiments, list_models,
    resolve_models,
)
from keras_lnn.models.audit import audit_models, format_audit_table


@main.command("list")
@click.argument("pattern", required=False)
@format_option
def list_command(pattern, fmt):
    """List the models (optionally matching PATTERN, e.g. 'Liq*' or 'exp3') and experiments.

    \b
    Two names stand for sets of models, wherever a command takes model names:
      paper  the paper's 30 models (exp1-exp5, each with a Table 1 count)
      all    every registered model: the paper's 30 and the extensions (exp6)
    """
    if pattern in MODEL_GROUPS:
        names = group_models(pattern)
    elif pattern in list_experiments():
        names = experiment_models(pattern)
    else:
        names = list_models(pattern)
    if not names:
        raise click.BadParameter(f"no model matches {pattern!r}", param_hint="PATTERN")
    rows = []
    for name in names:
        arch = get_architecture(name)
        rows.append({"model": name, "experiment": arch.experiment, "encoder": arch.encoder,
                     "paper_params": arch.paper_params, "note": arch.note})
    echo_rows(rows, fmt, ["model", "experiment", "encoder", "paper_params", "note"])
    if fmt == "table" and pattern is None:
        click.echo(f"\n{len(rows)} models; experiments: {', '.join(list_experiments())}; "
                   f"groups: paper ({len(group_models('paper'))} models), all ({len(group_models('all'))}), "
                   f"diagnostic ({len(group_models('diagnostic'))}: no baselines)")


@main.command()
@click.argument("model", type=ModelsType())
@size_option
def summary(model, size):
    """Print `model.summary()` of MODEL."""
    for name in resolve_models(model):
        create_model(name, input_size=size).summary(print_fn=click.echo)


@main.command()
@click.argument("names", nargs=-1, type=ModelsType())
@size_option
@format_option
def audit(names, size, fmt):
    """Compare each model's Keras parameter counts with the paper's Table 1.

    NAMES are experiments, models or groups (default: paper, the paper's 30 models). Exits 1 when a count differs
    from Table 1 by anything but a documented delta.
    """
    flat = [n for group in names for n in group]
    rows = audit_models(flat or None, input_size=size)
    if fmt == "json":
        click.echo(json.dumps([{k: v for k, v in row.items() if k != "matches"} for row in rows], indent=2))
    else:
        click.echo(format_audit_table(rows))
    if not all(row["matches"] for row in rows):
        sys.exit(1)
