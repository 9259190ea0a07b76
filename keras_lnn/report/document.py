"""The whole report: its sections in order (`build_markdown`) and the files written (`write_report`)."""
import os
from pathlib import Path

from keras_lnn.io import atomic_write_bytes, atomic_write_text
from keras_lnn.report.collect import by_dataset, find_metrics_files, find_unfinished, group_results, load_metrics
from keras_lnn.report.completeness import completeness_section
from keras_lnn.report.conclusions import conclusions_section
from keras_lnn.report.cost import training_cost_section
from keras_lnn.report.extensions import extensions_section
from keras_lnn.report.header import header_section
from keras_lnn.report.html_page import markdown_to_html
from keras_lnn.report.tables import dataset_section, table1_section

LAYOUT_NOTE = (
    "**A note on the LSTM/RNN baselines.** Reading the paper's code shows that its LSTM and RNN "
    "baselines used PyTorch's default sequence-first layout while being fed batch-first tensors: they "
    "recurred across the samples of a mini-batch, not across the 28 slices of a volume. The Keras "
    "baselines here recur across slices, as the paper intended, so their results may differ from the "
    "paper's Table 2 for reasons that have nothing to do with the seed or the framework. The diagnostic "
    "`exp5-across-batch` trains them as the paper's code ran them; given its runs, the report tests claim (a) "
    "against both forms."
)


def build_markdown(paths, all_metrics, data_dir=None, intro=None, unfinished=(), earlier=()):
    """The report's markdown and its figures (`{relative path: PNG bytes}`).

    `intro` goes under the title; `unfinished` (from `find_unfinished`) marks part-trained runs; `earlier`:
    earlier studies' summary CSVs, whose verdicts are set beside this study's (`keras_lnn.report.earlier`).
    """
    results = group_results(all_metrics)
    figures = {}
    lines = header_section(paths, all_metrics, results, intro) + completeness_section(results, unfinished) + table1_section(results)
    for (dataset, size), group in by_dataset(results).items():
        lines += dataset_section(dataset, size, group, data_dir, figures)
    lines += conclusions_section(results, earlier)
    lines += extensions_section(results)
    lines += training_cost_section(results)
    lines += ["## Notes", "", LAYOUT_NOTE, ""]
    return "\n".join(lines), figures


FIGURES_DIR = "figures"


def write_report(run_dirs, output, data_dir=None, name="report", intro=None, figures_dir=FIGURES_DIR, earlier=()):
    """Writes report.md, report.html and figures/*.png for the runs under `run_dirs`.

    Args:
        run_dirs: run folders, or folders holding them (searched recursively for metrics.json).
        output: folder for the report (created).
        data_dir: MedMNIST root, read only for the constant predictor's test labels
            (None: `$KERAS_LNN_DATA_DIR` or `~/.medmnist`).
        name: file name stem of the report (`results` writes results.md and results.html).
        intro: markdown placed under the title (how and where the runs were made, say).
        figures_dir: the figures' folder inside `output` (another one keeps two reports written
            into one folder, such as `docs`, from overwriting each other's figures).
        earlier: summary CSVs of earlier studies (`keras_lnn.report.earlier`): their verdicts on the
            paper's claims beside this study's, never pooled.

    Returns:
        `{"markdown": Path, "html": Path, "figures": [Path, ...]}`.

    Raises:
        ReportError: no metrics file found, or one that cannot be read (named); an earlier study's summary
            that cannot be read (file and row named).

    Example:

    ```python
    write_report(["saved_models/exp2_vessel_seed0", "saved_models/exp2_vessel_seed1"], "report")
    ```
    """
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    all_metrics = [load_metrics(path) for path in find_metrics_files(run_dirs)]
    markdown, figures = build_markdown(list(run_dirs), all_metrics, data_dir, intro, find_unfinished(run_dirs),
                                      earlier)
    output = Path(output)
    figures_dir = Path(figures_dir).as_posix().strip("/")
    if figures_dir != FIGURES_DIR:  # the sections name figures/...: move them, links and files together
        markdown = markdown.replace(f"]({FIGURES_DIR}/", f"]({figures_dir}/")
        figures = {f"{figures_dir}/{relative[len(FIGURES_DIR) + 1:]}": png for relative, png in figures.items()}
    for relative, png in figures.items():
        atomic_write_bytes(output / relative, png)  # a reader never sees half a PNG
    atomic_write_text(output / f"{name}.html", markdown_to_html(markdown, figures))
    atomic_write_text(output / f"{name}.md", markdown)
    return {"markdown": output / f"{name}.md", "html": output / f"{name}.html",
            "figures": [output / relative for relative in figures]}
