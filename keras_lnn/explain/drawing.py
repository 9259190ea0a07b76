"""Matplotlib figures drawn without pyplot, as PNG bytes: the one drawing setup of the package.

`report` and `explain` both draw with these, so neither imports the other. A figure made here is
always rendered by Agg and never touches a user's pyplot backend or state.

Example:
    >>> figure = new_figure(2, 1)
    >>> _ = figure.subplots().plot([0, 1], [1, 0])
    >>> png_bytes(figure)[:4]
    b'\\x89PNG'
"""
import io


def new_figure(width, height):
    """A constrained-layout Figure of `width` x `height` inches at 100 dpi, without pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def png_bytes(figure):
    """The figure rendered as PNG bytes (100 dpi)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def colors(n):
    """The first `n` colors of Matplotlib's current color cycle (repeating past its end)."""
    import matplotlib

    palette = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    return [palette[i % len(palette)] for i in range(n)]
