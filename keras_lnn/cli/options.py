"""What several commands share: options, parameter types and the table printer."""
import json

import click
from click.shell_completion import CompletionItem

from keras_lnn.errors import DataError, KerasLnnError
from keras_lnn.models import UnknownModelError, experiment_scope, resolve_models


def data_dir_option(func):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="MedMNIST root (default: $KERAS_LNN_DATA_DIR or ~/.medmnist).",
    )(func)


class DatasetType(click.ParamType):
    """A MedMNIST 3D dataset by short name, medmnist flag or class name; converts to the short name.

    With `files=True`, a `.npz` path (a custom dataset, see `resolve_dataset_source`) passes as it is.
    """

    name = "dataset"

    def __init__(self, files=False):
        self.files = files

    def convert(self, value, param, ctx):
        from keras_lnn.data import is_dataset_file
        from keras_lnn.data.info import DATASET_NAMES, resolve_dataset

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
        from keras_lnn.data.info import DATASET_NAMES

        return [CompletionItem(name) for name in DATASET_NAMES if name.startswith(incomplete.lower())]


def dataset_argument(func):
    return click.argument("dataset", type=DatasetType(), metavar="DATASET")(func)


def size_option(func):
    from keras_lnn.data.info import SIZES

    return click.option(
        "--size", type=click.Choice([str(s) for s in SIZES]), default="28", show_default=True,
        callback=lambda ctx, param, value: int(value), help="Volume edge length.",
    )(func)


def echo_rows(rows, fmt, columns):
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


format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


class ExperimentType(click.ParamType):
    """What `run` trains: an experiment, a group or one model's name; anything else is a usage error (exit 2)."""

    name = "experiment"

    def convert(self, value, param, ctx):
        try:
            experiment_scope(value)
        except UnknownModelError as error:
            raise click.BadParameter(str(error), ctx=ctx, param_hint="EXPERIMENT") from None
        return value


class ModelsType(click.ParamType):
    """Model or experiment names (wildcards allowed); unknown ones are a usage error (exit 2)."""

    name = "model"

    def convert(self, value, param, ctx):
        names = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
        try:
            resolve_models(names)
        except UnknownModelError as error:
            self.fail(str(error), param, ctx)
        return names


def seeds_callback(ctx, param, value):
    if value is None:
        return None
    try:
        return [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None


def shard_callback(ctx, param, value):
    from keras_lnn.runs import parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def size_for(ctx, dataset, size):
    """`--size` as given, or None for a dataset file whose size was not given (the file's own is used)."""
    from keras_lnn.data import is_dataset_file

    given = ctx.get_parameter_source("size") is not click.core.ParameterSource.DEFAULT
    return size if given or not is_dataset_file(dataset) else None


DATASET_HELP = "MedMNIST 3D dataset (e.g. nodule), or a .npz file in MedMNIST's layout (e.g. scans/myscans.npz)."
md5_option = click.option("--md5", default=None, help="MD5 a --dataset file must have (default: not checked).")


def augment_callback(ctx, param, value):
    """`--augment flip,rot90` -> ("flip", "rot90"); an unknown name is a usage error."""
    from keras_lnn.settings import OptionsError, TrainingOptions

    names = tuple(name.strip() for name in (value or "").split(",") if name.strip())
    try:
        return TrainingOptions(augment=names).augment
    except OptionsError as error:
        raise click.BadParameter(str(error)) from None


def class_weight_callback(ctx, param, value):
    """`--class-weight balanced` or `W0,W1,...` -> "balanced" or a tuple of floats; bad weights are a usage error."""
    from keras_lnn.settings import OptionsError, TrainingOptions

    if value is None or value.strip() == "balanced":
        return None if value is None else "balanced"
    try:
        weights = tuple(float(w) for w in value.split(","))
    except ValueError:
        raise click.BadParameter(f"expected 'balanced' or comma-separated numbers such as 1,3.5, got {value!r}") from None
    try:
        return TrainingOptions(class_weight=weights).class_weight
    except OptionsError as error:
        raise click.BadParameter(str(error)) from None


def tensorboard_callback(ctx, param, value):
    """`--tensorboard DIR`: refused at once where TensorFlow is missing or DIR is not writable."""
    from keras_lnn.training.progress import check_tensorboard_dir

    if value is None:
        return None
    try:
        check_tensorboard_dir(value)
    except KerasLnnError as error:
        raise click.BadParameter(str(error)) from None
    return value
