"""Slice profiles: which slices a model reads, per class (data; the report draws and writes them).

A profile is the mean per-slice contribution to the logit over the volumes of one true
class (binary models: to the sigmoid's logit; multi-class: to the logit of the true class).
`keras_lnn.report.profiles` puts the best model of each family's profiles in the report.
"""
import numpy as np

from keras_lnn.explain.contributions import slice_contributions


def slice_profiles(model, volumes, labels, class_names=None, batch_size=32):
    """`{class name: (slices,) mean contribution}` over the volumes of each true class present.

    Args:
        model: a keras_lnn model whose head is a mean of per-slice logits.
        volumes: `(N, S, S, S, 1)` raw volumes; labels: `(N,)` or `(N, 1)` classes.
        class_names: class index -> name (default: the index).

    Raises:
        NotDecomposableError: see `slice_contributions`.
    """
    labels = np.asarray(labels).reshape(-1)
    result = slice_contributions(model, volumes, batch_size)
    binary = result.contributions.shape[-1] == 1
    names = class_names or {}
    return {f"{k} ({names[k]})" if k in names and names[k] != str(k) else str(k):
            result.contributions[labels == k, :, 0 if binary else k].mean(axis=0)
            for k in np.unique(labels).tolist()}
