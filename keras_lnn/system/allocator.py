"""Huge pages for large allocations on JAX: glibc's `glibc.malloc.hugetlb=1`, set before a process starts.

XLA:CPU allocates an executable's temporary buffers afresh at every call, in one
block (69 MB for a sigmoid-and-product step of LiqExp1N2's size), and glibc
serves blocks that large by `mmap` and gives them back by `munmap`. So every
training step touches all its temporaries for the first time again, one page
fault per 4 KiB page: on a 2-core AMD EPYC (2026-12-07) that step took 34 ms,
17,000 page faults and more system time than user time per call. With
`glibc.malloc.hugetlb=1`, glibc asks the kernel for transparent huge pages
(2 MiB, `madvise`) for such blocks: 23 ms and 590 faults. What is computed does
not change, only where the memory comes from: the same weights to the last bit.

Measured side by side on the whole training step (docs/performance.md, "Huge
pages"), it made JAX's epochs 1.39x (CNNExp1N1) and 1.28x (LiqExp1N2) faster.
On TensorFlow and PyTorch, which keep fewer such blocks, it moved the epochs both
ways (7-16%, one model faster and the other slower on each), so it is JAX's
alone (`BACKENDS`).

glibc reads its tunables once, when a process starts, so `lnn-keras run` on JAX
starts itself again with the tunable added to `GLIBC_TUNABLES`
(`restart_with_huge_pages`, before anything heavy is imported); its `--jobs`
workers inherit it. It applies where it can work: glibc 2.35 or later, with the
kernel's transparent huge pages `always` or `madvise` (not `never`).
`KERAS_LNN_HUGE_PAGES=0` keeps glibc's default; a `glibc.malloc.hugetlb` of your
own wins. In your own Python programs, set it before Python starts:

```bash
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 KERAS_BACKEND=jax python train.py
```

Example:

>>> environment_with_huge_pages({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, glibc=(2, 36), pages="madvise")
{'GLIBC_TUNABLES': 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1'}
>>> environment_with_huge_pages({"KERAS_LNN_HUGE_PAGES": "0"}, glibc=(2, 36), pages="madvise") is None
True
>>> keras_backend({"KERAS_BACKEND": "jax"})
'jax'
"""
import json
import os
import re
import sys

TUNABLE = "glibc.malloc.hugetlb"
SETTING = f"{TUNABLE}=1"
SWITCH = "KERAS_LNN_HUGE_PAGES"
THP_FILE = "/sys/kernel/mm/transparent_hugepage/enabled"
BACKENDS = ("jax",)  # where it measured faster


def keras_backend(environ):
    """The backend Keras will load, read as Keras reads it, without importing Keras: `KERAS_BACKEND`,
    else `backend` in `keras.json` (in `KERAS_HOME`, else `~/.keras`), else TensorFlow."""
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    home = environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as file:
            return json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def glibc_version():
    """`(major, minor)` of the C library's glibc, or None where it is not glibc (macOS, Windows, musl)."""
    try:
        found = re.fullmatch(r"glibc (\d+)\.(\d+).*", os.confstr("CS_GNU_LIBC_VERSION") or "")
    except (AttributeError, ValueError, OSError):
        return None
    return (int(found.group(1)), int(found.group(2))) if found else None


def transparent_huge_pages(path=THP_FILE):
    """The kernel's mode (`always`, `madvise` or `never`), or None where it has none."""
    try:
        with open(path) as file:
            found = re.search(r"\[(\w+)\]", file.read())
    except OSError:
        return None
    return found.group(1) if found else None


def _tunables(environ):
    """The items of `GLIBC_TUNABLES` in `environ`, e.g. `["glibc.malloc.arena_max=2"]`."""
    return [item for item in environ.get("GLIBC_TUNABLES", "").split(":") if item]


def _asked(environ):
    """The value `environ` gives the tunable (`"1"`, `"0"`, ...), or None where it gives none."""
    return next((value for name, _, value in (item.partition("=") for item in _tunables(environ)) if name == TUNABLE),
                None)


def _offered(glibc, pages):
    """Whether glibc (`(major, minor)` or None) and the kernel's huge pages mode let the tunable work."""
    return glibc is not None and glibc >= (2, 35) and pages in ("always", "madvise")


def environment_with_huge_pages(environ, glibc=None, pages=None):
    """`environ` with the tunable added, or None where nothing would change.

    Args:
        environ: the environment to start from.
        glibc: `(major, minor)` (default: this process's, `glibc_version()`).
        pages: the transparent huge pages mode (default: this kernel's).
    """
    glibc = glibc_version() if glibc is None else glibc
    pages = transparent_huge_pages() if pages is None else pages
    if environ.get(SWITCH, "").strip() == "0" or not _offered(glibc, pages) or _asked(environ) is not None:
        return None
    return {**environ, "GLIBC_TUNABLES": ":".join([*_tunables(environ), SETTING])}


def environment_without_huge_pages(environ):
    """`environ` with glibc's default: the tunable taken out of `GLIBC_TUNABLES`, and `KERAS_LNN_HUGE_PAGES=0`.

    Example:

    >>> environment_without_huge_pages({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=2"})
    {'GLIBC_TUNABLES': 'glibc.malloc.arena_max=2', 'KERAS_LNN_HUGE_PAGES': '0'}
    """
    kept = [item for item in _tunables(environ) if item.partition("=")[0] != TUNABLE]
    environ = {key: value for key, value in environ.items() if key != "GLIBC_TUNABLES"}
    return {**environ, **({"GLIBC_TUNABLES": ":".join(kept)} if kept else {}), SWITCH: "0"}


def training_environment(environ):
    """The environment a training process starts with: huge pages on the backends in `BACKENDS`, or None."""
    return environment_with_huge_pages(environ) if keras_backend(environ) in BACKENDS else None


def restart_with_huge_pages():
    """Start this process again, same command, with the tunable; returns only where nothing would change
    (not JAX, already set, switched off, or no glibc or huge pages to use) or where the start failed (the
    command then goes on with glibc's default: only its speed differs)."""
    environ = training_environment(os.environ)
    if environ is None or not sys.executable:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, sys.orig_argv, environ)
    except OSError:
        return


def huge_pages_status():
    """What records hold: whether glibc's large allocations use huge pages in this process, and why.

    Example:

    >>> sorted(huge_pages_status())
    ['enabled', 'glibc', 'transparent_huge_pages']
    """
    glibc, pages = glibc_version(), transparent_huge_pages()
    return {"enabled": _asked(os.environ) not in (None, "0") and _offered(glibc, pages),
            "glibc": ".".join(map(str, glibc)) if glibc else None, "transparent_huge_pages": pages}
