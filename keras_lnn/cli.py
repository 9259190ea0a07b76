"""The `lnn-keras` command line: click commands parse and print, the library does the work.

Heavy imports (keras, tensorflow, ncps) happen inside the commands so that
`lnn-keras --help` stays fast.
"""
import json
import sys

import click

from keras_lnn import __version__, logs
from keras_lnn.errors import KerasLnnError


class _Group(click.Group):
    """Turns the package's own errors into one clear line and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KerasLnnError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="lnn-keras")
@click.option("--verbose", is_flag=True,
              help=f"Show TensorFlow's and XLA's own log lines (as ${logs.LOG_ENV}=1 does).")
def main(verbose):
    """Liquid Time-Constant networks on MedMNIST 3D volumes (Keras 3)."""
    # Before any command imports a backend: TensorFlow's start-up lines would bury the command's own output.
    logs.configure(verbose)


def _data_dir_option(func):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="MedMNIST root (default: $KERAS_LNN_DATA_DIR or ~/.medmnist).",
    )(func)


class _DatasetType(click.ParamType):
    """A MedMNIST 3D dataset by short name, medmnist flag or class name; converts to the short name.

    With `files=True`, a `.npz` path (a custom dataset, see `resolve_dataset_source`) passes as it is.
    """

    name = "dataset"

    def __init__(self, files=False):
        self.files = files

    def convert(self, value, param, ctx):
        from keras_lnn.data import is_dataset_file
        from keras_lnn.errors import DataError
        from keras_lnn.info import DATASET_NAMES, resolve_dataset

        if self.files and is_dataset_file(value):
            return value  # checked when loaded, with one-line errors naming the file
        try:
            return resolve_dataset(value).name
        except DataError:
            self.fail(
                f"{value!r} is not a MedMNIST 3D dataset: choose from {', '.join(DATASET_NAMES)} "
                "(medmnist flags and class names such as adrenalmnist3d or AdrenalMNIST3D work too).",
                param, ctx,
            )

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        from keras_lnn.info import DATASET_NAMES

        return [CompletionItem(name) for name in DATASET_NAMES if name.startswith(incomplete.lower())]


def _dataset_argument(func):
    return click.argument("dataset", type=_DatasetType(), metavar="DATASET")(func)


def _size_option(func):
    from keras_lnn.info import SIZES

    return click.option(
        "--size", type=click.Choice([str(s) for s in SIZES]), default="28", show_default=True,
        callback=lambda ctx, param, value: int(value), help="Volume edge length.",
    )(func)


def _echo_rows(rows, fmt, columns):
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    widths = [max(len(col), *(len(_cell(row[col])) for row in rows)) for col in columns]
    click.echo("  ".join(col.ljust(w) for col, w in zip(columns, widths)).rstrip())
    for row in rows:
        click.echo("  ".join(_cell(row[col]).ljust(w) for col, w in zip(columns, widths)).rstrip())


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


_format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@main.command()
@_data_dir_option
@_format_option
def datasets(data_dir, fmt):
    """List the MedMNIST 3D datasets and whether their files are present and intact."""
    from keras_lnn.data import dataset_table

    _echo_rows(dataset_table(data_dir), fmt, ["name", "size", "present", "md5_ok", "path"])


@main.command()
@_dataset_argument
@_size_option
@_data_dir_option
@click.option("--mirror", default=None, help="Base URL to download from (env: KERAS_LNN_MEDMNIST_MIRROR).")
def download(dataset, size, data_dir, mirror):
    """Download DATASET into the MedMNIST root and check its MD5.

    DATASET is nodule, adrenal, vessel, fracture, organ or synapse (or the medmnist
    flag / class name, e.g. adrenalmnist3d, AdrenalMNIST3D).
    """
    from keras_lnn.data import download as download_dataset

    path = download_dataset(dataset, size=size, data_dir=data_dir, mirror=mirror)
    click.echo(f"{path} (MD5 verified)")


# ---------------------------------------------------------------- models
class _ModelsType(click.ParamType):
    """Model or experiment names (wildcards allowed); unknown ones are a usage error (exit 2)."""

    name = "model"

    def convert(self, value, param, ctx):
        from keras_lnn.models import UnknownModelError, resolve_models

        names = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        try:
            resolve_models(names)
        except UnknownModelError as error:
            self.fail(str(error), param, ctx)
        return names


@main.command("list")
@click.argument("pattern", required=False)
@_format_option
def list_command(pattern, fmt):
    """List the models (optionally matching PATTERN, e.g. 'Liq*' or 'exp3') and experiments."""
    from keras_lnn.models import experiment_models, get_architecture, list_experiments, list_models

    if pattern in list_experiments():
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
    _echo_rows(rows, fmt, ["model", "experiment", "encoder", "paper_params", "note"])
    if fmt == "table" and pattern is None:
        click.echo(f"\n{len(rows)} models; experiments: {', '.join(list_experiments())}")


@main.command()
@click.argument("model", type=_ModelsType())
@_size_option
def summary(model, size):
    """Print `model.summary()` of MODEL."""
    from keras_lnn.models import create_model, resolve_models

    for name in resolve_models(model):
        create_model(name, input_size=size).summary(print_fn=click.echo)


@main.command()
@click.argument("names", nargs=-1, type=_ModelsType())
@_size_option
@_format_option
def audit(names, size, fmt):
    """Compare each model's Keras parameter counts with the paper's Table 1.

    NAMES are experiments or models (default: all 30). Exits 1 when a count differs
    from Table 1 by anything but a documented delta.
    """
    from keras_lnn.audit import audit_models, format_audit_table

    flat = [n for group in names for n in group]
    rows = audit_models(flat or None, input_size=size)
    if fmt == "json":
        click.echo(json.dumps([{k: v for k, v in row.items() if k != "matches"} for row in rows], indent=2))
    else:
        click.echo(format_audit_table(rows))
    if not all(row["matches"] for row in rows):
        sys.exit(1)


# ---------------------------------------------------------------- training
def _seeds(ctx, param, value):
    if value is None:
        return None
    try:
        return [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


def _shard(ctx, param, value):
    from keras_lnn.runs import parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _size_for(ctx, dataset, size):
    """`--size` as given, or None for a dataset file whose size was not given (the file's own is used)."""
    from keras_lnn.data import is_dataset_file

    given = ctx.get_parameter_source("size") is not click.core.ParameterSource.DEFAULT
    return size if given or not is_dataset_file(dataset) else None


_DATASET_HELP = "MedMNIST 3D dataset (e.g. nodule), or a .npz file in MedMNIST's layout (e.g. scans/myscans.npz)."
_md5_option = click.option("--md5", default=None, help="MD5 a --dataset file must have (default: not checked).")


@main.command()
@click.argument("experiment")
@click.option("--dataset", required=True, type=_DatasetType(files=True), help=_DATASET_HELP)
@click.option("--models", "models_filter", type=_ModelsType(), default=None, help="Comma-separated subset of the experiment's models.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (weights, shuffling, dropout).")
@click.option("--seeds", callback=_seeds, default=None, help="Several seeds, e.g. 0,1,2: one run folder per seed.")
@click.option("--max-epochs", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True)
@click.option("--patience", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--min-delta", type=click.FloatRange(min=0), default=0.001, show_default=True)
@_size_option
@_data_dir_option
@click.option("--no-verify", is_flag=True, help="Skip the MD5 and split-size checks (derived or custom files).")
@_md5_option
@click.option("--mirror", default=None, help="Base URL to download a missing data file from (env: KERAS_LNN_MEDMNIST_MIRROR).")
@click.option("--output", type=click.Path(file_okay=False), default="saved_models", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing results that came from other settings.")
@click.option("--quiet", is_flag=True, help="No per-epoch Keras output.")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes training models at once (e.g. several small models on one GPU).")
@click.option("--shard", callback=_shard, default=None, metavar="K/N",
              help="Train only the K-th of N slices of the model x seed grid (for job arrays).")
@click.option("--deterministic/--nondeterministic", default=True, show_default=True,
              help="Deterministic GPU kernels: the same seed gives the same model on every run (slower on a GPU).")
def run(experiment, dataset, models_filter, seed, seeds, max_epochs, batch_size, learning_rate, patience,
        min_delta, size, data_dir, no_verify, md5, mirror, output, overwrite, quiet, jobs, shard, deterministic):
    """Train, evaluate and export the models of EXPERIMENT (exp1..exp6, all, or a model name).

    Defaults are the paper's protocol. Each model leaves a SavedModel (1/), model.keras,
    history.csv and metrics.json under OUTPUT/<experiment>_<dataset>/<model>/. Running the
    same command again skips finished models and resumes an interrupted one. A --dataset
    file trains as a dataset named after its stem (OUTPUT/exp1_myscans/).
    """
    from keras_lnn.models import UnknownModelError, list_experiments
    from keras_lnn.runs import RunConfig, run_experiment
    from keras_lnn.training import Protocol

    if experiment != "all" and experiment not in list_experiments():
        try:
            from keras_lnn.models import get_architecture

            get_architecture(experiment)
        except UnknownModelError:
            raise click.BadParameter(
                f"{experiment!r} is neither an experiment ({', '.join(list_experiments())}, all) nor a model",
                param_hint="EXPERIMENT",
            ) from None
    config = RunConfig(
        experiment, dataset, models=models_filter, seeds=seeds or [seed],
        protocol=Protocol(max_epochs, batch_size, learning_rate, patience, min_delta),
        size=_size_for(click.get_current_context(), dataset, size), data_dir=data_dir, verify=not no_verify, md5=md5,
        mirror=mirror, output=output, overwrite=overwrite, verbose=0 if quiet else 2, jobs=jobs, shard=shard,
        deterministic=deterministic,
    )
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
        _echo_rows(rows, "table", ["model", "status", "epochs", "test_acc", "test_auc"])


@main.command("export")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--format", "formats", multiple=True, default=("saved_model",), show_default=True,
              type=click.Choice(["saved_model", "onnx", "litert"]),
              help="What to write per model: saved_model (<model>/1/), onnx (<model>/model.onnx), "
                   "litert (<model>/model.tflite). Repeat for several.")
@click.option("--overwrite", is_flag=True, help="Rewrite files that already exist.")
def export_command(run_dirs, formats, overwrite):
    """Write deployable files from the .keras files of runs trained on any backend."""
    from keras_lnn.export import export_run

    for run_dir in run_dirs:
        export_run(run_dir, formats=formats, overwrite=overwrite, echo=click.echo)
        click.echo(f"{run_dir}: {', '.join(formats)} and models.config written")


@main.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A .npy of volumes (N, S, S, S) or (N, S, S, S, 1), raw 0-255, or a MedMNIST-layout .npz.")
@click.option("--split", default="test", show_default=True, help="The .npz split to classify (its labels give ACC/AUC).")
@click.option("--format", "fmt", type=click.Choice(["keras", "saved_model", "onnx", "litert"]), default="keras",
              show_default=True, help="Which of the model's files runs it.")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write the rows to this CSV file.")
def predict(model_dir, input_path, split, fmt, output):
    """Classify volumes with a trained model: one row per volume (probabilities, predicted label)."""
    from keras_lnn.io import atomic_write_csv
    from keras_lnn.predict import predict as predict_volumes

    result = predict_volumes(model_dir, input_path, split=split, fmt=fmt)
    if output:
        atomic_write_csv(output, result.rows, result.columns)
        click.echo(f"{output}: {len(result.rows)} volumes")
    else:
        _echo_rows(result.rows, "table", result.columns)
    if result.metrics:
        auc = result.metrics["auc"]
        click.echo(f"ACC {result.metrics['acc']:.4f}  AUC {'n/a' if auc is None else f'{auc:.4f}'}  "
                   f"({len(result.rows)} labelled volumes, split {split})")


@main.command()
@click.argument("model_dir", type=click.Path(exists=True))
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--index", "indices", type=click.IntRange(min=0), multiple=True,
              help="Volume to explain, by position in the split (repeatable; default: 0).")
@click.option("--worst", type=click.IntRange(min=1), default=None, help="Explain the K most confident mistakes.")
@click.option("--output", type=click.Path(file_okay=False), default=None,
              help="Folder for the PNGs (default: MODEL_DIR/explain).")
@click.option("--dataset", type=_DatasetType(files=True), default=None,
              help="Data to read instead of the run's own: " + _DATASET_HELP)
@_data_dir_option
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
@click.option("--intro", type=click.File(encoding="utf-8"), default=None,
              help="A markdown file placed under the report's title (how and where the runs were made).")
@_data_dir_option
def report(run_dirs, output, name, intro, data_dir):
    """Summarise finished runs beside the paper's Tables 1 and 2, with figures and seed-noise tests.

    RUN_DIRS are run folders or folders holding them (e.g. saved_models): every
    metrics.json below them is read, and seeds of the same model are pooled.
    --data-dir is read only for the test labels of the constant predictor.
    """
    from keras_lnn.report import write_report

    paths = write_report(run_dirs, output, data_dir=data_dir, name=name, intro=intro.read() if intro else None)
    click.echo(f"{paths['markdown']}\n{paths['html']} (self-contained)\n{len(paths['figures'])} figures in "
               f"{paths['markdown'].parent / 'figures'}")


if __name__ == "__main__":
    main()
