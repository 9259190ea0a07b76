"""`lnn-keras datasets` and `lnn-keras download`: the MedMNIST files."""
import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import data_dir_option, dataset_argument, echo_rows, format_option, size_option


@main.command()
@data_dir_option
@format_option
def datasets(data_dir, fmt):
    """List the MedMNIST 3D datasets and whether their files are present and intact."""
    from keras_lnn.data import dataset_table

    echo_rows(dataset_table(data_dir), fmt, ["name", "size", "present", "md5_ok", "path"])


@main.command()
@dataset_argument
@size_option
@data_dir_option
@click.option("--mirror", default=None, help="Base URL to download from (env: KERAS_LNN_MEDMNIST_MIRROR).")
def download(dataset, size, data_dir, mirror):
    """Download DATASET into the MedMNIST root and check its MD5.

    DATASET is nodule, adrenal, vessel, fracture, organ or synapse (or the medmnist
    flag / class name, e.g. adrenalmnist3d, AdrenalMNIST3D).
    """
    from keras_lnn.data import download as download_dataset

    path = download_dataset(dataset, size=size, data_dir=data_dir, mirror=mirror)
    click.echo(f"{path} (MD5 verified)")
