"""The `lnn-keras` command line: click commands parse and print, the library does the work.

One module per part of the pipeline: `datasets` (datasets, download), `scans` (prepare),
`zoo` (list, summary, audit), `train` (run), `evaluate` (evaluate), `deploy` (export,
predict), `analysis` (explain, report) and `env` (env); `group` holds the command group, `options`
what they share. Heavy imports (keras, tensorflow, ncps) happen inside the commands
so that `lnn-keras --help` stays fast.
"""
from keras_lnn.cli import analysis, datasets, deploy, env, evaluate, scans, train, zoo  # noqa: F401  (each registers its commands)
from keras_lnn.cli.group import main

__all__ = ["main"]
