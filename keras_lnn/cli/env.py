"""`lnn-keras env`: what to paste into a bug report."""
import json

import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import data_dir_option, format_option
from keras_lnn.system.env import report_rows, system_report


@main.command()
@data_dir_option
@format_option
def env(data_dir, fmt):
    """Versions, backends, devices, CPU, oneDNN, threads and MedMNIST files: paste it into a bug report."""
    report = system_report(data_dir)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
        return
    rows = report_rows(report)
    width = max(len(key) for key, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
