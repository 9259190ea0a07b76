"""Checks the model zoo on the Keras backend named by $KERAS_BACKEND; prints one JSON document.

Run by `tests/test_backends.py` once per backend in a fresh interpreter (the backend is fixed at
the first `import keras`), and usable by hand:

    KERAS_BACKEND=jax python tests/backend_checks.py

The checks never raise: each failure is recorded in the JSON (an "error" string) so the test
can say which model and which check failed on which backend. Everything else the script or the
libraries print goes to stderr; stdout carries only the JSON document.
"""
import contextlib
import json
import os
import sys
import tempfile
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIZE = 28
BATCH = 2
TRAIN_MODELS = ("LiqExp1N2", "CNNExp1N1", "LSTMExp5N2")
# One LTC model with two LTC layers, one CNN, one LSTM and the BatchNorm model.
ROUNDTRIP_MODELS = ("LiqExp1N5", "CNNExp2N4", "LSTMExp5N2", "LiqExp3N3")
# Beyond the paper: every exp6 model (CfC cells and mixed-memory LTC, each with its own JAX repairs).
EXTENSION_MODELS = ("CfcExp6N1", "CfcExp6N2", "CfcExp6N3", "CfcExp6N4", "LiqExp6N5", "LiqExp6N6")


def _error():
    """The current exception as one short string (type, message and the innermost frame)."""
    kind, value, tb = sys.exc_info()
    last = traceback.extract_tb(tb)[-1] if tb else None
    where = f" at {last.filename}:{last.lineno}" if last else ""
    return f"{kind.__name__}: {str(value)[:500]}{where}"


def _clear_session(keras):
    """Resets Keras's global state between models, skipping the slow full garbage collection."""
    try:
        keras.backend.clear_session(free_memory=False)
    except TypeError:  # Keras versions without `free_memory`
        keras.backend.clear_session()


def _registered(models, names):
    known = set(models.list_models())
    return tuple(name for name in names if name in known)


def _volumes(rng, n):
    """Raw 0-255 volumes, as the models receive them (the model rescales)."""
    return rng.integers(0, 256, size=(n, SIZE, SIZE, SIZE, 1)).astype("float32")


def check_predictions(keras, np, models, rng):
    """Builds every registered model at 28^3 and runs it on a batch of raw volumes."""
    x = _volumes(rng, BATCH)
    results = {}
    for name in models.list_models():
        try:
            model = models.create_model(name, input_size=SIZE)
            y = keras.ops.convert_to_numpy(model(x, training=False))
            results[name] = {
                "shape": list(y.shape),
                "finite": bool(np.all(np.isfinite(y))),
                "min": float(np.min(y)),
                "max": float(np.max(y)),
            }
        except Exception:
            results[name] = {"error": _error()}
        finally:
            _clear_session(keras)
    return results


def _compile(model):
    """The package's own compile (the paper's Adam and loss, variables created before `fit`)."""
    from keras_lnn import training
    from keras_lnn.settings import Protocol

    training.compile_model(model, Protocol(), n_classes=2)


def check_training(keras, np, models, rng):
    """One `fit` step (4 samples, batch 4, 1 epoch) per model; returns the loss."""
    x = _volumes(rng, 4)
    y = np.array([[0], [1], [0], [1]], dtype="float32")
    results = {}
    for name in TRAIN_MODELS + _registered(models, EXTENSION_MODELS):
        try:
            keras.utils.set_random_seed(0)
            model = models.create_model(name, input_size=SIZE)
            _compile(model)
            history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
            loss = float(history.history["loss"][-1])
            results[name] = {"loss": loss, "finite": bool(np.isfinite(loss))}
        except Exception:
            results[name] = {"error": _error()}
        finally:
            _clear_session(keras)
    return results


def _perturb(keras, np, model, rng):
    """Moves the weights off their initial values (zero biases, BatchNorm's 0/1 statistics) so that
    a load that silently re-initialized any of them would change the predictions."""
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight.value)
        if "moving_variance" in weight.path:
            value = value * rng.uniform(0.5, 1.5, size=value.shape)
        else:
            scale = 0.01 if weight.trainable else 0.1
            value = value + rng.normal(0.0, scale, size=value.shape)
        weight.assign(value.astype(keras.backend.standardize_dtype(weight.dtype)))


def check_roundtrip(keras, np, models, rng, directory):
    """Saves each model as `.keras`, loads it in a cleared session, and returns both predictions."""
    x = _volumes(rng, BATCH)
    results = {}
    for name in ROUNDTRIP_MODELS + _registered(models, EXTENSION_MODELS):
        try:
            model = models.create_model(name, input_size=SIZE)
            _perturb(keras, np, model, rng)
            before = keras.ops.convert_to_numpy(model(x, training=False))
            path = os.path.join(directory, f"{name}.keras")
            model.save(path)
            _clear_session(keras)
            loaded = keras.models.load_model(path)
            after = keras.ops.convert_to_numpy(loaded(x, training=False))
            results[name] = {
                "before": before.tolist(),
                "after": after.tolist(),
                "loaded_classes": sorted({keras.saving.get_registered_name(type(layer)) for layer in loaded.layers}),
                "same_weight_count": len(loaded.weights) == len(model.weights),
            }
        except Exception:
            results[name] = {"error": _error()}
        finally:
            _clear_session(keras)
    return results


def check_ltc_dtypes(keras, models):
    """The dtypes of every LTC weight's value after build (integer ones break JAX gradients)."""
    from keras_lnn import layers

    try:
        model = models.create_model("LiqExp1N5", input_size=SIZE)
        dtypes = {}
        for layer in model.layers:
            if isinstance(layer, layers.LTC):
                for weight in layer.weights:
                    dtypes[f"{layer.name}/{weight.path}"] = keras.backend.standardize_dtype(weight.value.dtype)
        return {"dtypes": dtypes}
    except Exception:
        return {"error": _error()}
    finally:
        _clear_session(keras)


def check_determinism(keras, np, models, rng):
    """`training.deterministic_ops()` after `configure_backend`, and whether two seeded fits of
    one model end with identical weights (not on TensorFlow: its multithreaded CPU kernels vary in
    the last bits from fit to fit even so, docs/performance.md, and two fits cost 14 s there)."""
    from keras_lnn import training

    if keras.backend.backend() == "tensorflow":
        return {"enabled": training.deterministic_ops(), "same_weights": None}
    x = _volumes(rng, 4)
    y = np.array([[0], [1], [0], [1]], dtype="float32")
    try:
        weights = []
        for _ in range(2):
            keras.utils.set_random_seed(0)
            model = models.create_model(TRAIN_MODELS[0], input_size=SIZE)
            _compile(model)
            model.fit(x, y, epochs=2, batch_size=2, verbose=0)
            weights.append([keras.ops.convert_to_numpy(w) for w in model.weights])
            _clear_session(keras)
        same = all(np.array_equal(a, b) for a, b in zip(*weights))
        return {"enabled": training.deterministic_ops(), "same_weights": bool(same)}
    except Exception:
        return {"error": _error()}


def check_audit():
    """`keras_lnn.models.audit.audit_models()` (by default the paper's 30 models)."""
    from keras_lnn.models.audit import audit_models

    try:
        rows = audit_models()
        return {
            "models": [row["model"] for row in rows],
            "count": len(rows),
            "matching": sum(bool(row["matches"]) for row in rows),
            "mismatches": [row for row in rows if not row["matches"]],
        }
    except Exception:
        return {"error": _error()}


def check_building_skips_tensorflow():
    """Whether TensorFlow is still unimported after every model was built (on JAX and PyTorch it
    must be: building a model needs nothing of it)."""
    return {"imported": "tensorflow" in sys.modules}


def run_checks(keras, np, models, directory, only=None):
    """Runs the checks (all, or the keys in `only`) on the current backend; returns {key: result} and
    {key: seconds}. Called by `main` in a fresh interpreter, and in process by tests/test_backends.py
    for TensorFlow. `training.configure_backend` must have run before (JAX reads its flags once)."""
    rng = np.random.default_rng(0)
    checks = [
        ("predictions", lambda: check_predictions(keras, np, models, rng)),
        # Right after every model was built, before anything else may import it.
        ("tensorflow_after_building", check_building_skips_tensorflow),
        ("training", lambda: check_training(keras, np, models, rng)),
        ("roundtrip", lambda: check_roundtrip(keras, np, models, rng, directory)),
        ("ltc_dtypes", lambda: check_ltc_dtypes(keras, models)),
        ("determinism", lambda: check_determinism(keras, np, models, rng)),
        ("audit", check_audit),
        ("layer_equivalence", check_layer_equivalence),
    ]
    report, timings = {}, {}
    for key, check in checks:
        if only is not None and key not in only:
            continue
        started = time.perf_counter()
        report[key] = check()
        timings[key] = round(time.perf_counter() - started, 2)
    return report, timings


def check_layer_equivalence():
    """`tests/layer_equivalence.py`'s report (the fast LTC/CfC against ncps's computation), in this
    interpreter rather than one more fresh one; tests/test_layers.py asserts it."""
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import layer_equivalence

        return layer_equivalence.main()
    except Exception:
        return {"error": _error()}


def main():
    start = time.perf_counter()
    report = {"requested_backend": os.environ.get("KERAS_BACKEND")}
    # Keep stdout for the JSON document alone.
    with contextlib.redirect_stdout(sys.stderr):
        import keras
        import numpy as np

        from keras_lnn import models, training

        report["backend"] = keras.backend.backend()
        report["registered"] = models.list_models()
        import_seconds = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as directory:
            # Before the first computation: JAX reads its determinism flag when it starts.
            training.configure_backend(cache_dir=os.path.join(directory, "jax-cache"), deterministic=True)
            results, timings = run_checks(keras, np, models, directory)
        report.update(results)
    timings["import"] = round(import_seconds, 2)
    timings["total"] = round(time.perf_counter() - start, 2)
    report["timings"] = timings
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
