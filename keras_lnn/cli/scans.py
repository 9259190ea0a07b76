"""`lnn-keras prepare`: scans of your own and a labels table -> a MedMNIST-layout file (`keras_lnn.data.scans`)."""
import click

from keras_lnn.cli.group import main
from keras_lnn.cli.options import size_option


@main.command()
@click.argument("labels_csv", type=click.Path(dir_okay=False))
@click.option("--output", required=True, type=click.Path(dir_okay=False),
              help="The .npz to write (its stem names the dataset); its record goes beside it as STEM.prepare.json.")
@size_option
@click.option("--split", "fractions", default="0.7,0.1,0.2", show_default=True,
              help="TRAIN,VAL,TEST shares for rows without a split, stratified by label and grouped by patient.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of that split.")
@click.option("--window", "intensities", default="percentiles", show_default=True,
              help="Intensities to 0-255: LEVEL,WIDTH of a CT window in Hounsfield units (e.g. 40,400; -600,1500), "
                   "or percentiles[:LOW,HIGH] of each cube (default 0.5,99.5).")
@click.option("--mask", "mask_column", default=None,
              help="A column of the table naming each scan's mask: the cube is centred on the mask's bounding box.")
@click.option("--mask-margin", type=float, default=1.5, show_default=True,
              help="With --mask: the cube's edge is the mask's largest extent times this.")
@click.option("--classes", default=None,
              help="The class names in index order, e.g. benign,malignant (default: sorted names or integer labels); "
                   "a label outside them is an error.")
def prepare(labels_csv, output, size, fractions, seed, intensities, mask_column, mask_margin, classes):
    """Make a dataset of your own scans: LABELS_CSV has columns image (a NIfTI, NRRD or MHA/MHD file, or a
    folder of one DICOM series, relative to the CSV) and label, optionally patient (a patient's scans share
    a split) and split (train/val/test, kept). Each scan is oriented (LPS), cropped to a centred cube in
    millimetres, resampled to SIZE^3 isotropic voxels and mapped to 0-255; `lnn-keras run --dataset OUTPUT`
    trains on the result, `lnn-keras predict MODEL --input SCAN` prepares a new scan the same way.
    """
    from keras_lnn.data.scans import Recipe, parse_fractions, parse_intensities, prepare_dataset

    recipe = Recipe(size=size, mask_margin=mask_margin, **parse_intensities(intensities))
    names = [name.strip() for name in classes.split(",")] if classes else None
    prepared = prepare_dataset(labels_csv, output, recipe, parse_fractions(fractions), seed, mask_column, names)
    for split, counts in prepared.counts.items():
        click.echo(f"{split}: {sum(counts.values())} scans ({', '.join(f'{n} {name}' for name, n in counts.items())})")
    click.echo(f"{prepared.path} ({size}^3, {recipe.intensities})\n{prepared.record}")
