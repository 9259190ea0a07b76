"""The `lnn-keras` command line: click commands parse and print, the library does the work.

One module per part of the pipeline: `datasets` (datasets, download), `scans` (prepare),
`zoo` (list, summary, audit), `train` (run), `evaluate` (evaluate), `deploy` (export,
predict), `analysis` (explain, report) and `env` (env); `group` holds the command group, `options`
what they share. Heavy imports (keras, tensorflow, ncps) happen inside the commands
so that `lnn-keras --help` stays fast.
"""
import sys

from keras_lnn.cli import analysis, datasets, deploy, env, evaluate, scans, train, zoo  # noqa: F401  (each registers its commands)
from keras_lnn.cli.group import main
from keras_lnn.system import allocator

__all__ = ["launch", "main"]

# Commands that train: they start again with glibc's huge pages (`keras_lnn.system.allocator`).
TRAINING_COMMANDS = ("run",)


def launch():
    """The `lnn-keras` console script: `main`, after a training command has started again with huge pages."""
    command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    if command in TRAINING_COMMANDS:
        allocator.restart_with_huge_pages()
    main()
