"""The package's layout: settings that import no backend, imports that run down the layers, no circle, no needless deferred import."""
import ast
import dataclasses
from pathlib import Path

import pytest

from keras_lnn.errors import KerasLnnError
from keras_lnn.settings import AUGMENTATIONS, OptionsError, Protocol, RunConfig, TrainingOptions
from tests.conftest import modules_imported_by

BACKENDS = ("keras", "tensorflow", "jax", "torch")


def test_the_settings_import_no_backend():
    assert modules_imported_by("import keras_lnn.settings", BACKENDS) == "[]"
    statement = "from keras_lnn.settings import Protocol, RunConfig, TrainingOptions; RunConfig('exp1', 'adrenal')"
    assert modules_imported_by(statement, BACKENDS) == "[]"


def test_a_default_run_config_is_the_papers():
    config = RunConfig("exp1", "adrenal")
    assert config.protocol == Protocol() and config.training_options.is_paper
    assert config.protocol.as_dict() == {"max_epochs": 500, "batch_size": 64, "learning_rate": 5e-4, "patience": 10,
                                         "min_delta": 0.001}
    assert TrainingOptions().as_dict() == {"augment": [], "class_weight": None, "tta": False}
    assert TrainingOptions(augment=("intensity", "flip")).augment == ("flip", "intensity")  # AUGMENTATIONS' order
    assert list(AUGMENTATIONS) == ["flip", "rot90", "intensity"]
    with pytest.raises(OptionsError, match="unknown augmentation 'mirror'") as caught:
        TrainingOptions(augment=("mirror",))
    assert isinstance(caught.value, KerasLnnError)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.protocol.max_epochs = 3


def test_the_records_default_to_the_settings():
    from keras_lnn.evaluation import upgraded_record
    from keras_lnn.report.settings import PAPER_TRAINING_OPTIONS

    assert upgraded_record({"model": "CNNExp1N4"})["training_options"] == TrainingOptions().as_dict()
    assert PAPER_TRAINING_OPTIONS == TrainingOptions().as_dict()


# The package's layers, lowest first: a module imports only from its own package or from a lower layer.
LAYERS = (
    ("keras_lnn", "keras_lnn.errors", "keras_lnn.settings", "keras_lnn.io", "keras_lnn.locks", "keras_lnn.paper"),
    ("keras_lnn.data",),
    ("keras_lnn.layers",),
    ("keras_lnn.models",),
    ("keras_lnn.training",),
    ("keras_lnn.evaluation",),
    ("keras_lnn.deploy",),
    ("keras_lnn.system",),
    ("keras_lnn.runs",),
    ("keras_lnn.explain",),
    ("keras_lnn.report",),
    ("keras_lnn.cli",),
)
# What `import keras_lnn` runs before any backend loads (these import nothing else of the package but
# ROOT_LEAVES, which import nothing of it), and the layers it registers with Keras once Keras loads (so
# that `keras.saving.load_model` reads `.keras` files).
ROOT_IMPORTS = {"keras_lnn.system.machine", "keras_lnn.system.logs"}
ROOT_LEAVES = {"keras_lnn.system.allocator"}
ROOT_HOOK = "keras_lnn.layers"


def package_files():
    """`{module name: path}` for every module of the package."""
    import keras_lnn

    root = Path(keras_lnn.__file__).parent
    return {".".join(("keras_lnn", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__"): p
            for p in root.rglob("*.py")}


def module_of(name, files):
    """The package module that `name` (a module, or a name inside one) lives in."""
    while name not in files:
        name = name.rpartition(".")[0]
    return name


def import_statements(name, path, files):
    """`[(imported module or name, line, inside a function)]` for each import of the module `name`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    deferred = {id(node) for function in ast.walk(tree) if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                for node in ast.walk(function)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, id(node) in deferred) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], *base.split(".")]).strip(".")
            found += [(f"{base}.{a.name}" if f"{base}.{a.name}" in files else base, node.lineno, id(node) in deferred)
                      for a in node.names]
    return found


def package_imports():
    """`{module: {keras_lnn modules it imports}}` for every module of the package, deferred imports included."""
    files = package_files()
    return {name: {module_of(m, files) for m, _, _ in import_statements(name, path, files)
                   if m.split(".")[0] == "keras_lnn"} - {name}
            for name, path in files.items()}


def layer_of(module):
    """The index of `module`'s layer in `LAYERS` (None: in none)."""
    return next((i for i, layer in enumerate(LAYERS) for top in layer
                 if module == top or (top != "keras_lnn" and module.startswith(top + "."))), None)


def test_imports_run_down_the_layers():
    graph = package_imports()
    # Every module is in a layer, and the top level holds at most six modules.
    assert [m for m in graph if layer_of(m) is None] == []
    assert len([m for m in graph if layer_of(m) == 0]) <= 6
    upward = sorted(f"{a} -> {b}" for a, imported in graph.items() for b in imported
                    if layer_of(b) > layer_of(a) and not (a == "keras_lnn" and b in ROOT_IMPORTS | {ROOT_HOOK}))
    assert upward == []
    assert graph["keras_lnn"] == ROOT_IMPORTS | {ROOT_HOOK, "keras_lnn.errors"}
    assert all(graph[m] <= ROOT_LEAVES for m in ROOT_IMPORTS)
    assert all(graph[m] == set() for m in ROOT_LEAVES)


def test_no_import_circle_anywhere():
    graph = package_imports()
    circles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(module):  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = set()
            while module not in component:
                component.add(stack.pop())
            on_stack.difference_update(component)
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert circles == []


# What a module may import inside a function rather than at its top: a library that costs start-up time (a
# backend loads in seconds) or may be absent (the optional extras), so that `lnn-keras --help`, `report` and
# an error in the arguments come before it loads. Everything else is imported at the top, where a reader
# looks for it. No import needs deferring to break a circle: there is none (above). A deferred statement
# passes when one of its names is heavy (`from keras_lnn import load_model, training`).
DEFERRABLE = {"keras", "tensorflow", "jax", "torch", "ncps", "numpy", "scipy", "sklearn", "matplotlib", "networkx", "PIL",
              "SimpleITK", "nibabel", "pydicom", "tf2onnx", "onnx", "onnxruntime", "ai_edge_litert", "medmnist"}


def test_deferred_imports_keep_a_heavy_library_off_the_start_up_path():
    files = package_files()
    statements = {name: import_statements(name, path, files) for name, path in files.items()}

    def loads_heavy(module, seen=frozenset()):
        """Whether importing `module` (its packages' `__init__` first) loads a library of DEFERRABLE."""
        if module.split(".")[0] != "keras_lnn":
            return module.split(".")[0] in DEFERRABLE
        parts = module_of(module, files).split(".")
        chain = [".".join(parts[:i]) for i in range(2, len(parts) + 1)]
        return any(m not in seen and any(loads_heavy(imported, seen | {m})
                                         for imported, _, deferred in statements[m] if not deferred)
                   for m in chain if m in files)

    needless = {}  # (file, line) -> what its deferred statement imports, where none of it is heavy
    for name, found in statements.items():
        for imported, line, deferred in found:
            if deferred:
                needless.setdefault((str(files[name].relative_to(files["keras_lnn"].parents[1])), line), []).append(
                    None if loads_heavy(imported) else imported)
    needless = sorted(f"{path}:{line} imports {', '.join(dict.fromkeys(names))}" for (path, line), names in needless.items()
                      if None not in names)
    assert not needless, "imported inside a function for no start-up cost:\n" + "\n".join(needless)
