"""Scans of your own -> a MedMNIST-layout dataset: NIfTI, NRRD, MetaImage files and DICOM series, with SimpleITK.

A labels table (`image`, `label`, optional `patient`, `split`) becomes a `.npz` that `lnn-keras run
--dataset` trains on, and a record beside it that `lnn-keras predict` reads to prepare a new scan the
same way. No Keras here: numpy and SimpleITK only.

The modules, in the order a scan goes through them:

    table      the labels table: its rows and class names
    splitting  train/val/test: given splits kept, the rest stratified by label, grouped by patient
    reading    one scan (a file or a DICOM folder) as a 3D SimpleITK image, with one-line refusals
    geometry   the cube in physical space, resampled to S^3 isotropic voxels in one orientation
    intensity  a CT window or per-scan percentiles to 0-255
    recipe     `Recipe`: the settings of all the above that travel together
    cube       `scan_cube`: one scan through all of it
    record     the record beside a prepared file (recipe, versions, checksums)
    prepare    `prepare_dataset`: the whole table, written atomically
    inputs     `scans_for_data`: new scans for a model, by its data's recipe

Example:

```python
from keras_lnn.data.scans import Recipe, prepare_dataset

prepare_dataset("scans/labels.csv", "scans.npz", Recipe(size=28, window=(40, 400)), seed=0)
# lnn-keras run exp1 --dataset scans.npz; lnn-keras predict saved_models/exp1_scans/LiqExp1N2 --input new.nii.gz
```
"""
from keras_lnn.data.scans.cube import scan_cube
from keras_lnn.data.scans.inputs import ScanVolumes, is_scan_input, scans_for_data
from keras_lnn.data.scans.prepare import SOURCES_KEY, PreparedDataset, prepare_dataset
from keras_lnn.data.scans.reading import FORMATS, checksum, read_scan, scan_format
from keras_lnn.data.scans.recipe import Recipe, parse_intensities
from keras_lnn.data.scans.record import read_record, record_path
from keras_lnn.data.scans.splitting import DEFAULT_FRACTIONS, assign_splits, parse_fractions
from keras_lnn.data.scans.table import read_table

__all__ = [
    "DEFAULT_FRACTIONS", "FORMATS", "SOURCES_KEY", "PreparedDataset", "Recipe", "ScanVolumes", "assign_splits",
    "checksum", "is_scan_input", "parse_fractions", "parse_intensities", "prepare_dataset", "read_record",
    "read_scan", "read_table", "record_path", "scan_cube", "scans_for_data", "scan_format",
]
