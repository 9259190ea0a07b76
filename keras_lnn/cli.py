"""The `lnn-keras` command line: click commands parse and print, the library does the work.

Heavy imports (keras, tensorflow, ncps) happen inside the commands so that
`lnn-keras --help` stays fast.
"""
import json
import sys

import click

from keras_lnn import __version__
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
def main():
    """Liquid Time-Constant networks on MedMNIST 3D volumes (Keras 3)."""


def _data_dir_option(func):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        default=None,
        help="MedMNIST root (default: $KERAS_LNN_DATA_DIR or ~/.medmnist).",
    )(func)


class _DatasetType(click.ParamType):
    """A MedMNIST 3D dataset by short name, medmnist flag or class name; converts to the short name."""

    name = "dataset"

    def convert(self, value, param, ctx):
        from keras_lnn.errors import DataError
        from keras_lnn.info import DATASET_NAMES, resolve_dataset

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
    click.echo("  ".join(col.ljust(w) for col, w in zip(columns, widths)))
    for row in rows:
        click.echo("  ".join(_cell(row[col]).ljust(w) for col, w in zip(columns, widths)))


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


if __name__ == "__main__":
    main()
