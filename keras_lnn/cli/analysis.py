"""`lnn-keras explain` and `report`: what a model reads, and runs beside the paper."""
import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import DATASET_HELP, data_dir_option, DatasetType


@main.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--index", "indices", type=click.IntRange(min=0), multiple=True,
              help="Volume to explain, by position in the split (repeatable; default: 0).")
@click.option("--worst", type=click.IntRange(min=1), default=None, help="Explain the K most confident mistakes.")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="Folder for the PNGs (default: MODEL_DIR/explain).")
@click.option("--dataset", type=DatasetType(files=True), default=None,
              help="Data to read instead of the run's own: " + DATASET_HELP)
@data_dir_option
def explain(model_dir, split, indices, worst, output, dataset, data_dir):
    """Draw why the model in MODEL_DIR decided: per volume, its slices, each slice's contribution to the logit
    (bars that sum to the logit) and, for LTC/CfC models, every neuron's state over the slices; once, the
    NCP wiring with the learned synapse strengths.

    MODEL_DIR is a model folder of `lnn-keras run` (it holds model.keras and metrics.json).
    """
    from keras_lnn.explain import explain_model

    if indices and worst is not None:
        raise click.UsageError("pass either --index or --worst, not both")
    result = explain_model(model_dir, split, list(indices) or None, worst, output, dataset, data_dir, echo=click.echo)
    for item in result.explanations:
        click.echo(f"{split} {item.index}: label {item.label}, predicted {item.predicted} (p = {item.probability:.3f}), "
                   f"logit {item.logit:+.3f}, largest contribution from slice {int(abs(item.contributions).argmax())}")


@main.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--output", type=click.Path(file_okay=False), default="report", show_default=True,
              help="Folder for report.md, report.html and figures/.")
@click.option("--name", default="report", show_default=True, help="File name stem: NAME.md and NAME.html.")
@click.option("--figures-dir", default="figures", show_default=True,
              help="The figures' folder inside OUTPUT (another keeps two reports in one OUTPUT apart).")
@click.option("--intro", type=click.File(encoding="utf-8"), default=None,
              help="A markdown file placed under the report's title (how and where the runs were made).")
@click.option("--earlier-study", "earlier", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="An earlier study's per-model summary CSV (dataset, model, n, test_auc_mean, test_auc_sd, "
                   "val_auc_mean): its verdicts on the paper's claims beside this study's, never pooled. Repeatable.")
@data_dir_option
def report(run_dirs, output, name, figures_dir, intro, earlier, data_dir):
    """Summarise finished runs beside the paper's Tables 1 and 2, with figures and seed-noise tests.

    RUN_DIRS are run folders or folders holding them (e.g. saved_models): every
    metrics.json below them is read; the seeds of one model under one setting form one row.
    --data-dir is read only for the test labels of the constant predictor.
    """
    from keras_lnn.report import write_report

    paths = write_report(run_dirs, output, data_dir=data_dir, name=name, intro=intro.read() if intro else None,
                         figures_dir=figures_dir, earlier=earlier)
    click.echo(f"{paths['markdown']}\n{paths['html']} (self-contained)\n{len(paths['figures'])} figures in "
               f"{paths['markdown'].parent / figures_dir}")
