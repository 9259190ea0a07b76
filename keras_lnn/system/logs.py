"""The backends' own log lines: kept off the command line's output unless asked for.

TensorFlow (and XLA under it) writes start-up lines to stderr: oneDNN notices,
"Could not find cuda drivers", "failed call to cuInit", ... `TF_CPP_MIN_LOG_LEVEL`
silences those written once the backend runs, but not those its C++ libraries
write while Python loads them (TensorFlow 2.19 and later log these before absl's
logging is set up, whatever the level). So `quiet_backends` does both: it sets
the log levels, and it imports the backends with stderr caught and filtered,
passing on every line that is not a C++ log line.

`KERAS_LNN_LOG` carries the choice to child processes (`--jobs` workers, the
TensorFlow process of an export): `0` quiet, `1` every line shown. The command
line sets it (`--verbose` for `1`); a Python program chooses by setting it
before importing keras_lnn, or by calling `quiet_backends()` before Keras.

Example:

```python
import os

os.environ["KERAS_LNN_LOG"] = "0"
from keras_lnn.models import create_model  # quiet from here on, in this process and its children

create_model("CNNExp1N4")
```
"""
import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile

LOG_ENV = "KERAS_LNN_LOG"

# Set where the user has not chosen a value: 3 also hides the ERROR-level cuInit line of a machine without a GPU.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3"}

# Python loggers of the backends, and the level they get where the user has not set one: TensorFlow's
# warns through its "tensorflow" logger ("5 out of the last 13 calls to <function ...> triggered
# tf.function retracing"); errors still show.
QUIET_LOGGERS = {"tensorflow": logging.ERROR}

# Packages whose C++ libraries log while they load; their first import is filtered.
NOISY_PACKAGES = ("tensorflow", "jax", "torch")

# absl's and TSL's line formats ("I0000 00:00:1795840676.492464    6187 port.cc:153] ...",
# "2025-09-17 14:44:05.157831: I external/.../cudart_stub.cc:32] ..."), absl's notice before its
# set-up, and the second line of TensorFlow's CPU-instructions notice. Fatal lines always pass.
_LOG_LINE = re.compile(
    r"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.-]+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\."
)


def logs_wanted():
    """Whether `KERAS_LNN_LOG` asks for the backends' log lines (any value but empty and `0`)."""
    return os.environ.get(LOG_ENV, "") not in ("", "0")


def is_backend_log_line(line):
    """Whether `line` (one line of stderr, newline or not) is a C++ log line of a backend."""
    return bool(_LOG_LINE.match(line))


def configure(verbose=False):
    """The command line's choice, made before any backend import and passed on to child processes.

    Args:
        verbose: show the backends' log lines. Without it, `KERAS_LNN_LOG=1` (or another
            value but `0`) in the environment shows them too.
    """
    if verbose or logs_wanted():
        os.environ[LOG_ENV] = "1"
        return
    os.environ[LOG_ENV] = "0"
    quiet_backends()


def quiet_backends():
    """Sets the backends' log levels, C++ and Python (a user's own settings win), and filters their start-up lines.

    Effective for backends imported after the call; idempotent.
    """
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name, level in QUIET_LOGGERS.items():  # before or after the backend's import: the same logger object
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
    if not any(isinstance(finder, _FilteredStartup) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FilteredStartup())


@contextlib.contextmanager
def filtered_stderr():
    """Catches what is written to file descriptor 2 in the block, then writes back all but the log lines.

    At the descriptor, not `sys.stderr`: the C++ libraries write there directly. A crash
    inside the block (the process gone) loses what was caught: `KERAS_LNN_LOG=1` shows it.
    """
    if sys.stderr is None:  # no stderr at all (pythonw, some daemons): nothing to keep clean
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode("utf-8", "replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not is_backend_log_line(line))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _FilteredStartup(importlib.abc.MetaPathFinder):
    """Finds the noisy packages as usual, and has their top module run inside `filtered_stderr`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in NOISY_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None  # left to the other finders, unfiltered
        spec.loader = _FilteredLoader(spec.loader)
        return spec


class _FilteredLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # The module keeps its real loader: importlib.resources and friends ask it for files.
        module.__loader__ = module.__spec__.loader = self.loader
        with filtered_stderr():
            self.loader.exec_module(module)
