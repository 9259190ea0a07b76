"""`lnn-keras export` and `predict`: deployable files and what they say about new volumes."""
import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import echo_rows
from keras_lnn.io import atomic_write_csv


@main.command("export")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--format", "formats", multiple=True, default=("saved_model",), show_default=True,
              type=click.Choice(["saved_model", "onnx", "litert"]),
              help="What to write per model: saved_model (<model>/1/), onnx (<model>/model.onnx), "
                   "litert (<model>/model.tflite). Repeat for several.")
@click.option("--overwrite", is_flag=True, help="Rewrite files that already exist.")
def export_command(run_dirs, formats, overwrite):
    """Write deployable files from the .keras files of runs trained on any backend."""
    from keras_lnn.deploy.export import export_run

    for run_dir in run_dirs:
        export_run(run_dir, formats=formats, overwrite=overwrite, echo=click.echo)
        click.echo(f"{run_dir}: {', '.join(formats)} and models.config written")


@main.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True),
              help="A .npy of volumes (N, S, S, S) or (N, S, S, S, 1), raw 0-255, or a MedMNIST-layout .npz; or "
                   "a scan (NIfTI, NRRD, MHA/MHD file or DICOM folder) or a CSV of them (column image, optional "
                   "label), prepared as the model's data was by `lnn-keras prepare`.")
@click.option("--split", default="test", show_default=True, help="The .npz split to classify (its labels give ACC/AUC).")
@click.option("--format", "fmt", type=click.Choice(["keras", "saved_model", "onnx", "litert"]), default="keras",
              show_default=True, help="Which of the model's files runs it.")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write the rows to this CSV file.")
@click.option("--tta", is_flag=True,
              help="Test-time augmentation: also the probabilities averaged over the 8 flips of each volume "
                   "(*_tta columns beside the plain ones; 8 times the compute).")
def predict(model_dir, input_path, split, fmt, output, tta):
    """Classify volumes with a trained model: one row per volume (probabilities, predicted label)."""
    from keras_lnn.deploy.predict import predict as predict_volumes

    result = predict_volumes(model_dir, input_path, split=split, fmt=fmt, tta=tta)
    if output:
        atomic_write_csv(output, result.rows, result.columns)
        click.echo(f"{output}: {len(result.rows)} volumes")
    else:
        echo_rows(result.rows, "table", result.columns)
    for metrics, what in ((result.metrics, ""), (result.metrics_tta, ", test-time augmented (8 flips)")):
        if metrics:
            auc = metrics["auc"]
            click.echo(f"ACC {metrics['acc']:.4f}  AUC {'n/a' if auc is None else f'{auc:.4f}'}  "
                       f"({len(result.rows)} labelled volumes, split {split}{what})")
