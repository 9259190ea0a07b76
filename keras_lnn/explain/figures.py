"""Figures of `lnn-keras explain`: a volume and why the model decided, an NCP wiring, slice profiles.

Drawn on matplotlib `Figure`s without pyplot (always the Agg renderer; a user's pyplot state
is never touched), returned as PNG bytes.
"""
import math

import numpy as np

# The package's one drawing setup (shared with the report), so that every PNG is made the same way.
from keras_lnn.explain.drawing import new_figure as _new_figure, png_bytes as _png

# ncps's own colours (`Wiring.draw_graph`), and one for command neurons, which it draws as inter ones.
NEURON_COLORS = {"motor": "tab:orange", "command": "tab:purple", "inter": "tab:blue"}
SYNAPSE_COLORS = {"excitatory": "tab:green", "inhibitory": "tab:red"}


def montage(volume):
    """The slices of a `(S, S, S)` volume tiled row by row into one 2-D image, and the grid's columns."""
    slices = volume.shape[0]
    columns = math.ceil(math.sqrt(slices))
    rows = math.ceil(slices / columns)
    height, width = volume.shape[1:3]
    image = np.zeros((rows * height, columns * width), dtype=np.float32)
    for index in range(slices):
        row, column = divmod(index, columns)
        image[row * height : (row + 1) * height, column * width : (column + 1) * width] = volume[index]
    return image, columns


def volume_figure(volume, contributions, logit, title, class_name, states=(), highlight=3):
    """PNG bytes: the volume's slices, each slice's contribution to the logit, and neuron states.

    Args:
        volume: `(S, S, S)` or `(S, S, S, 1)` raw 0-255 volume.
        contributions: `(S,)` contributions to the explained logit (they sum to `logit`).
        logit: the model's logit of the explained output.
        title: the figure's title (model, split, index, label, prediction).
        class_name: what the logit is for, e.g. `"class 1 (malignant)"`.
        states: `NeuronStates` of the volume's wired recurrent layers, each with `states` `(S, units)`.
        highlight: how many slices with the largest |contribution| to outline in the montage.
    """
    from matplotlib.patches import Rectangle

    volume = np.asarray(volume)[..., 0] if np.ndim(volume) == 4 else np.asarray(volume)
    slices, edge = volume.shape[0], volume.shape[1]
    figure = _new_figure(12, 4.6 + 2.8 * len(states))
    grid = figure.add_gridspec(1 + len(states), 2, width_ratios=[1, 1.7], height_ratios=[4.6] + [2.8] * len(states))
    positive, negative = "tab:red", "tab:blue"

    ax = figure.add_subplot(grid[0, 0])
    image, columns = montage(volume)
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    step = 1 if slices <= 32 else 4
    for index in range(0, slices, step):
        row, column = divmod(index, columns)
        ax.text(column * edge + 1, row * edge + 1, str(index), color="yellow", fontsize=6, va="top")
    for index in np.argsort(-np.abs(contributions))[:highlight]:
        row, column = divmod(int(index), columns)
        color = positive if contributions[index] > 0 else negative
        ax.add_patch(Rectangle((column * edge - 0.5, row * edge - 0.5), edge, edge, fill=False, edgecolor=color,
                               linewidth=1.5))
    ax.set_axis_off()
    ax.set_title(f"slices 0-{slices - 1} (outlined: the {highlight} that count most)", fontsize=9)

    ax = figure.add_subplot(grid[0, 1])
    colors = [positive if value > 0 else negative for value in contributions]
    ax.bar(np.arange(slices), contributions, color=colors, width=0.85)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xlim(-0.7, slices - 0.3)
    ax.set_xlabel("slice")
    ax.set_ylabel("contribution to the logit")
    ax.set_title(f"per-slice contributions to the logit of {class_name}: "
                 f"sum {np.sum(contributions):+.3f} = logit {logit:+.3f}", fontsize=9)
    ax.grid(axis="y", alpha=0.3)

    for row, layer_states in enumerate(states, start=1):
        ax = figure.add_subplot(grid[row, :])
        values = np.asarray(layer_states.states).T  # neurons x slices
        shown = ax.imshow(values, aspect="auto", cmap="viridis", interpolation="nearest")
        figure.colorbar(shown, ax=ax, pad=0.01, label="state")
        units = values.shape[0]
        ax.set_yticks(range(units), [f"{i} {layer_states.neuron_types[i][0]}" for i in range(units)], fontsize=6)
        for tick, kind in zip(ax.get_yticklabels(), layer_states.neuron_types):
            tick.set_color(NEURON_COLORS.get(kind, "black"))
        ax.axhline(len(layer_states.motor) - 0.5, color=NEURON_COLORS["motor"], linewidth=1.5)
        ax.set_xlabel("slice")
        ax.set_title(f"{layer_states.layer} ({layer_states.kind}): every neuron's state over the slices; motor "
                     f"neurons {', '.join(map(str, layer_states.motor))} above the orange line "
                     "(labels: m motor, c command, i inter)", fontsize=9)
    figure.suptitle(title, fontsize=10)
    return _png(figure)


def wiring_figure(wiring, internal=None, sensory=None, title=""):
    """PNG bytes: ncps's graph of a wiring (its networkx graph, shell layout and colours), with the
    learned synapse strengths as edge widths and the summed sensory input strength as node sizes.

    Args:
        wiring: a built ncps `Wiring`.
        internal: `(units, units)` signed strengths from `synapse_strengths` (None: widths equal).
        sensory: `(inputs, units)` signed sensory strengths (None: nodes of equal size).
        title: the figure's title.
    """
    import networkx as nx
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    graph = wiring.get_graph(include_sensory_neurons=False)
    # ncps 1.0.1 adds the sensory nodes whatever the flag says; hundreds of inputs would hide the neurons.
    graph.remove_nodes_from([node for node in list(graph.nodes) if graph.nodes[node]["neuron_type"] == "sensory"])
    kinds = {node: graph.nodes[node]["neuron_type"] for node in graph.nodes}
    shells = [[node for node in graph.nodes if kinds[node] == kind] for kind in ("motor", "command", "inter")]
    positions = nx.shell_layout(graph, nlist=[shell for shell in shells if shell])
    figure = _new_figure(8, 7)
    ax = figure.add_subplot()
    index = {node: int(node.split("_")[1]) for node in graph.nodes}
    if sensory is not None:
        inflow = np.abs(sensory).sum(axis=0)
        sizes = [120 + 600 * inflow[index[node]] / max(inflow.max(), 1e-12) for node in graph.nodes]
    else:
        sizes = 300
    nx.draw_networkx_nodes(graph, positions, ax=ax, node_size=sizes,
                           node_color=[NEURON_COLORS.get(kinds[node], "tab:blue") for node in graph.nodes])
    nx.draw_networkx_labels(graph, positions, ax=ax, labels={node: index[node] for node in graph.nodes},
                            font_size=7, font_color="white")
    edges = list(graph.edges(data=True))
    if internal is not None and edges:
        strengths = np.array([internal[index[a], index[b]] for a, b, _ in edges])
        largest = max(np.abs(strengths).max(), 1e-12)
        widths = 0.3 + 3.5 * np.abs(strengths) / largest
        colors = [SYNAPSE_COLORS["excitatory" if value >= 0 else "inhibitory"] for value in strengths]
    else:
        widths = 1.0
        colors = [SYNAPSE_COLORS[data["polarity"]] for _, _, data in edges]
    nx.draw_networkx_edges(graph, positions, ax=ax, edgelist=[(a, b) for a, b, _ in edges], width=widths,
                           edge_color=colors, arrows=True, arrowsize=8, connectionstyle="arc3,rad=0.08",
                           node_size=sizes, alpha=0.75)
    handles = [Patch(color=color, label=f"{kind} neurons") for kind, color in NEURON_COLORS.items()]
    handles += [Line2D([], [], color=color, label=f"{kind} synapse") for kind, color in SYNAPSE_COLORS.items()]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_axis_off()
    note = ("edge width: learned synapse strength (w)\nnode size: summed sensory input strength (sensory_w)"
            if internal is not None else "structure only: this cell has no single strength per synapse")
    ax.set_title(f"{title}\n{note}", fontsize=9)
    return _png(figure)


def profile_figure(panels, title=""):
    """PNG bytes: per model, the mean per-slice contribution to the logit per class, one line per class.

    Args:
        panels: `[(panel title, {class name: (S,) mean contributions}), ...]`, one panel per model.
        title: the figure's title.
    """
    figure = _new_figure(max(4.5 * len(panels), 5), 3.6)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for ax, (panel_title, profiles) in zip(axes, panels):
        for name, profile in profiles.items():
            ax.plot(np.arange(len(profile)), profile, marker=".", label=name)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlabel("slice")
        ax.grid(alpha=0.3)
        ax.set_title(panel_title, fontsize=8)
        ax.legend(fontsize=7, title="true class", title_fontsize=7)
    axes[0].set_ylabel("mean contribution to the logit")
    figure.suptitle(title, fontsize=10)
    return _png(figure)
