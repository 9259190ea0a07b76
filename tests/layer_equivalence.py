"""The fast LTC/CfC against ncps's own computation, and the slice encoder's backend path against
Keras's own layers, on the backend named by $KERAS_BACKEND.

Prints one JSON document: per case, the largest absolute difference between the
fast and the reference computation (`keras_lnn.layers.reference_computation`, which
runs ncps's step-by-step loop with the same weights) for outputs and for the
gradient of every weight. Run in-process by tests/test_layers.py on TensorFlow and
in fresh interpreters for JAX and PyTorch, and usable by hand:

    KERAS_BACKEND=jax python tests/layer_equivalence.py
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from ncps.wirings import AutoNCP, FullyConnected  # noqa: E402

from keras_lnn import layers  # noqa: E402
from keras_lnn.layers import conv_path  # noqa: E402

# Eight slices: the computation does not depend on the number (the models have 28 or 64), the
# cost of the reference loop does. 400 features: the width of the E2 encoder's output.
SLICES, FEATURES, BATCH = 8, 400, 2


def _stack(*recurrent):
    """LTC layers with ReLU between them, as the models stack them."""
    def call(x):
        for index, layer in enumerate(recurrent):
            x = layer(keras.ops.relu(x) if index else x)
        return x
    return call, list(recurrent)


def cases():
    """name -> a function building `(call, layers)` afresh (wirings draw their synapses when built)."""
    def ltc(wiring, return_sequences=True, **options):
        return lambda: _stack(layers.LTC(wiring(), return_sequences=return_sequences, **options))

    return {
        "ltc_auto5": ltc(lambda: AutoNCP(5, 1)),
        "ltc_auto21": ltc(lambda: AutoNCP(21, 1)),
        "ltc_auto30": ltc(lambda: AutoNCP(30, 1)),
        "ltc_full21": ltc(lambda: FullyConnected(21, 1)),
        "ltc_auto21_mixed_memory": ltc(lambda: AutoNCP(21, 1), mixed_memory=True),
        "ltc_full21_mixed_memory": ltc(lambda: FullyConnected(21, 1), mixed_memory=True),
        "ltc_stacked_21_7": lambda: _stack(
            layers.LTC(AutoNCP(21, 14), return_sequences=True), layers.LTC(AutoNCP(7, 1), return_sequences=True)
        ),
        "ltc_last_output": ltc(lambda: AutoNCP(21, 2), return_sequences=False),
        "cfc_auto21": lambda: _stack(layers.CfC(AutoNCP(21, 1), return_sequences=True)),
        "cfc_full21": lambda: _stack(layers.CfC(FullyConnected(21, 1), return_sequences=True)),
    }


def _loss_and_gradients(call, weights, x, probe):
    """sum(outputs * probe) and its gradient for every weight, with the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            outputs = call(x)
            loss = tf.reduce_sum(outputs * probe)
        return outputs, tape.gradient(loss, [w.value for w in weights])
    if backend == "jax":
        import jax

        def loss_of(values):
            for weight, value in zip(weights, values):
                weight._value = value  # trace with these values as the weights
            outputs = call(x)
            return keras.ops.sum(outputs * probe), outputs

        original = [w.value for w in weights]
        (_, outputs), grads = jax.jit(jax.value_and_grad(loss_of, has_aux=True))(original)
        for weight, value in zip(weights, original):
            weight._value = value
        return outputs, grads
    import torch

    for weight in weights:
        weight.value.grad = None
    outputs = call(torch.as_tensor(x))
    torch.sum(outputs * torch.as_tensor(probe)).backward()
    return outputs.detach(), [w.value.grad for w in weights]


def compare(name, build):
    keras.utils.set_random_seed(0)
    call, recurrent = build()
    rng = np.random.default_rng(0)
    # Encoder features are ReLU outputs: non-negative, of order 1.
    x = np.abs(rng.normal(size=(BATCH, SLICES, FEATURES))).astype("float32")
    # Built on a symbolic input: no computation (an eager JAX call compiles every operation).
    output_shape = call(keras.KerasTensor((BATCH, SLICES, FEATURES))).shape
    for layer in recurrent:
        # Move the weights off their initial values (as training does), keeping the non-negative ones so.
        for weight in layer.weights:
            value = keras.ops.convert_to_numpy(weight.value)
            weight.assign(value * rng.uniform(0.5, 1.5, size=value.shape).astype("float32"))
    weights = [w for layer in recurrent for w in layer.trainable_weights]
    probe = rng.normal(size=output_shape).astype("float32")
    fast_outputs, fast_grads = _loss_and_gradients(call, weights, x, probe)
    with layers.reference_computation(*recurrent):  # the fast traces above do not run again
        reference_outputs, reference_grads = _loss_and_gradients(call, weights, x, probe)

    def numpy(value):
        return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")

    gradient_differences = {
        w.path: float(np.max(np.abs(numpy(a) - numpy(b)))) for w, a, b in zip(weights, fast_grads, reference_grads)
    }
    return {
        "output_shape": list(keras.ops.shape(fast_outputs)),
        "output": float(np.max(np.abs(numpy(fast_outputs) - numpy(reference_outputs)))),
        "output_scale": float(np.max(np.abs(numpy(reference_outputs)))),
        "gradient": max(gradient_differences.values()),
        "gradient_scale": max(float(np.max(np.abs(numpy(g)))) for g in reference_grads),
        "worst_gradient": max(gradient_differences, key=gradient_differences.get),
        "weights": len(weights),
    }


def encoder_cases():
    """name -> layer specs: the slice encoders (`keras_lnn.models.blocks.ENCODERS`) and one ending in a convolution."""
    from keras_lnn.models.blocks import ENCODERS, Conv, Pool

    return {**ENCODERS, "conv_without_pool": (Conv(4, 3), Pool(), Conv(5, 3))}


def compare_encoder(steps):
    """`SliceWise` (the backend's `ConvPoolPath` on JAX and PyTorch) against Keras's own layers, same weights."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    sequential = keras.Sequential([step.layer(1) for step in steps] + [keras.layers.Flatten()])
    slicewise = layers.SliceWise(sequential)
    x = rng.uniform(0, 1, size=(BATCH, 5, 28, 28, 1)).astype("float32")
    x[:, :, :, :12] = 0.0  # a background of exact zeros, as in scans: its pooling windows tie
    output_shape = slicewise(keras.KerasTensor(x.shape)).shape
    for weight in slicewise.weights:  # biases off zero, so that ReLU's and the pooling's choices are exercised
        weight.assign(rng.normal(scale=0.3, size=weight.shape).astype("float32"))
    weights = list(slicewise.trainable_weights)
    probe = rng.normal(size=output_shape).astype("float32")

    def keras_layers(inputs):
        folded = sequential(keras.ops.reshape(inputs, (-1, *inputs.shape[2:])))
        return keras.ops.reshape(folded, (-1, inputs.shape[1], *folded.shape[1:]))

    chunk, conv_path.TORCH_CHUNK = conv_path.TORCH_CHUNK, 4  # PyTorch's path in chunks of 4, 4 and 2 of the 10 images
    try:
        fast_outputs, fast_grads = _loss_and_gradients(slicewise, weights, x, probe)
    finally:
        conv_path.TORCH_CHUNK = chunk
    outputs, grads = _loss_and_gradients(keras_layers, weights, x, probe)

    def numpy(value):
        return np.asarray(keras.ops.convert_to_numpy(value), dtype="float64")

    return {
        "fast_path": layers.ConvPoolPath.of(sequential) is not None,
        "output": float(np.max(np.abs(numpy(fast_outputs) - numpy(outputs)))),
        "output_scale": float(np.max(np.abs(numpy(outputs)))),
        "gradient": max(float(np.max(np.abs(numpy(a) - numpy(b)))) for a, b in zip(fast_grads, grads)),
        "gradient_scale": max(float(np.max(np.abs(numpy(g)))) for g in grads),
    }


def check_fixtures(folder):
    """Loads the `.keras` files saved by the first (ncps-subclass) layers; max |prediction - saved|."""
    import keras_lnn  # noqa: F401  (registers the package's layers)

    expected = np.load(folder / "expected.npz")
    volumes = expected["volumes"].astype("float32")
    results = {}
    for path in sorted(folder.glob("*.keras")):
        try:
            model = keras.saving.load_model(path)
            predicted = keras.ops.convert_to_numpy(model(volumes, training=False))
            results[path.stem] = float(np.max(np.abs(predicted - expected[path.stem])))
        except Exception as error:
            results[path.stem] = f"{type(error).__name__}: {error}"[:500]
        keras.backend.clear_session()
    return results


def main():
    from pathlib import Path

    results = {}
    for name, build in cases().items():
        try:
            results[name] = compare(name, build)
        except Exception as error:  # reported per case, so one failure does not hide the others
            results[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
        keras.backend.clear_session()
    encoders = {}
    for name, steps in encoder_cases().items():
        try:
            encoders[name] = compare_encoder(steps)
        except Exception as error:
            encoders[name] = {"error": f"{type(error).__name__}: {error}"[:500]}
        keras.backend.clear_session()
    fixtures = check_fixtures(Path(__file__).parent / "fixtures" / "layers")
    return {"backend": keras.backend.backend(), "cases": results, "encoders": encoders, "fixtures": fixtures}


if __name__ == "__main__":
    print(json.dumps(main()))
