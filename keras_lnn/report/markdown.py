from keras_lnn.data.info import resolve_dataset
from keras_lnn.errors import DataError

"""Markdown pieces every section uses: pipe tables, joined values, numbers, dataset titles."""


def _cell(value):
    # A table cell on one line; a pipe inside it would end the cell.
    text = "-" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(headers, rows, align=None):
    """A pipe table; `align` is a string of "l"/"r" per column (default: first left, rest right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def thousands(value):
    """A count with thousands separators ("13,739"), "-" for None."""
    return "-" if value is None else f"{value:,}"


def join(values):
    """Sorted and comma-joined ("-" when empty); numbers sort as numbers (seed 10 after seed 2)."""
    values = list(values)
    try:
        values.sort()
    except TypeError:
        values.sort(key=str)
    return ", ".join(map(str, values)) or "-"


def dataset_title(dataset, size):
    """"vessel (VesselMNIST3D, 28^3)": short name, medmnist class and volume size ("myscans (custom, 28^3)")."""
    try:
        return f"{dataset} ({resolve_dataset(dataset).python_class}, {size}^3)"
    except DataError:  # a custom file (`--dataset PATH.npz`), named after its stem
        return f"{dataset} (custom, {size}^3)"


def custom_file(runs):
    """The data file of runs on a custom dataset (`--dataset PATH.npz`), or None for a MedMNIST dataset."""
    return next((m["data"].get("path") for m in runs if (m.get("data") or {}).get("custom")), None)
