"""The `lnn-keras` group: the package's own errors become one line and a non-zero exit."""
import sys

import click

from keras_lnn import __version__
from keras_lnn.system import logs
from keras_lnn.errors import KerasLnnError


class Group(click.Group):
    """Turns the package's own errors into one clear line and a non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KerasLnnError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="lnn-keras")
@click.option("--verbose", is_flag=True,
              help=f"Show TensorFlow's and XLA's own log lines (as ${logs.LOG_ENV}=1 does).")
def main(verbose):
    """Liquid Time-Constant networks on MedMNIST 3D volumes (Keras 3)."""
    # Before any command imports a backend: TensorFlow's start-up lines would bury the command's own output.
    logs.configure(verbose)
