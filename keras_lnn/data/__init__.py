"""MedMNIST 3D files: where they live, downloading them, and loading them with checks.

Files keep medmnist's names and layout (`~/.medmnist/adrenalmnist3d.npz`, keys
`train_images`, `train_labels`, ...), so a folder filled by `medmnist` works here
and the other way round. A user's own file in that layout loads the same way
(`load_dataset("scans/myscans.npz")`): see `resolve_dataset_source`.

The modules:

    files     the MedMNIST root, file paths, MD5s, and the table of files present
    fetch     downloading a file from the official URL or a mirror
    npz       MedMNIST's .npz layout: reading a file and checking its splits
    sources   what `--dataset` names: a MedMNIST dataset or a custom .npz file
    dataset   `MedMNIST3D` and `load_dataset`
    scans     your own scans (NIfTI, NRRD, MetaImage, DICOM) -> a MedMNIST-layout file: `prepare_dataset`

Example:

```python
from keras_lnn.data import download, load_dataset

download("adrenal")                      # ~/.medmnist/adrenalmnist3d.npz, MD5 checked
data = load_dataset("adrenal")
x_train, y_train = data.train            # (1188, 28, 28, 28, 1) float32, (1188, 1) int64
```
"""
from keras_lnn.data.dataset import MedMNIST3D, load_dataset
from keras_lnn.data.fetch import MIRROR_ENV, download, download_url
from keras_lnn.data.files import (
    DATA_DIR_ENV, dataset_path, dataset_table, default_data_dir, expected_md5, file_md5, resolve_data_dir,
)
from keras_lnn.data.npz import KEYS, SPLITS
from keras_lnn.data.scans import Recipe, prepare_dataset
from keras_lnn.data.sources import (
    CLASSES_KEY, CLASSES_SUFFIX, DatasetSource, is_dataset_file, resolve_dataset_source, run_dataset_source,
)

__all__ = [
    "CLASSES_KEY", "CLASSES_SUFFIX", "DATA_DIR_ENV", "KEYS", "MIRROR_ENV", "SPLITS", "DatasetSource", "MedMNIST3D",
    "Recipe", "dataset_path", "dataset_table", "default_data_dir", "download", "download_url", "expected_md5",
    "file_md5", "is_dataset_file", "load_dataset", "prepare_dataset", "resolve_data_dir", "resolve_dataset_source",
    "run_dataset_source",
]
