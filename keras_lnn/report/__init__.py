"""`lnn-keras report`: finished runs summed up beside the paper's Tables 1 and 2, with figures.

`write_report` reads every `metrics.json` under the given folders, groups the
runs by (dataset, size, experiment, model, setting) across seeds, and writes:

    OUTPUT/report.md        the report, figures linked relatively
    OUTPUT/report.html      the same, self-contained (inline CSS, figures as data URIs)
    OUTPUT/figures/*.png    per experiment and dataset: scores over seeds, validation loss curves;
                            per dataset: the family bests' reliability diagram

The modules follow the report's parts:

    collect        metrics files and part-trained runs, grouped over seeds
    settings       what makes one group: backend, protocol, data MD5, training options
    header         what was read, and the commands that reproduce it
    completeness   which models finished for every seed
    tables         Table 1 (parameters) and Table 2 (scores) beside the paper's
    evaluation     Table 2's thresholded metrics, calibration, intervals and TTA cells
    constant       the constant predictor: the test split's majority class
    families       each family's best model, chosen on validation; its per-seed intervals
    statistics     differences beyond seed noise (Welch) and test-set noise (DeLong), Holm-corrected
    conclusions    the paper's conclusions as tested claims, per dataset:
      claims         (a) LTC vs LSTM/RNN, (b) LTC vs CNN, (a') vs the baselines as the paper's code ran them
      layout         the recurrent baselines as run beside as intended, and the paper's values between them
      family_cost    (c) parameters and (d) training cost per family
      earlier        an earlier study's verdicts from its per-model summaries, beside this one's
    figures        scores, validation-loss and reliability plots
    cost           epochs and seconds per epoch
    html_page      markdown to one self-contained HTML page
    document       the sections in order, and the files written

Example:

```python
from keras_lnn.report import write_report

paths = write_report(["saved_models"], "report", data_dir="../shared/medmnist")
paths["markdown"]  # PosixPath('report/report.md')
```
"""
from keras_lnn.report.collect import (
    REQUIRED_KEYS,
    ModelResults,
    ReportError,
    find_metrics_files,
    find_unfinished,
    group_results,
    load_metrics,
    read_test_predictions,
    read_val_losses,
)
from keras_lnn.report.constant import PAPER_CONSTANT_ACC, constant_predictor, constant_predictor_acc
from keras_lnn.report.document import LAYOUT_NOTE, build_markdown, write_report
from keras_lnn.report.families import FAMILIES, family, family_bests
from keras_lnn.report.figures import reliability_figure, scores_figure, val_loss_figure
from keras_lnn.report.html_page import CSS, markdown_to_html
from keras_lnn.report.settings import run_settings

__all__ = [
    "CSS", "FAMILIES", "LAYOUT_NOTE", "PAPER_CONSTANT_ACC", "REQUIRED_KEYS", "ModelResults", "ReportError",
    "build_markdown", "constant_predictor", "constant_predictor_acc", "family", "family_bests", "find_metrics_files",
    "find_unfinished", "group_results", "load_metrics", "markdown_to_html", "read_test_predictions",
    "read_val_losses", "reliability_figure", "run_settings", "scores_figure", "val_loss_figure", "write_report",
]
