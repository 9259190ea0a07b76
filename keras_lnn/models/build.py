"""`create_model`: an `Architecture` of the registry as a Keras functional model.

    volume (S, S, S, 1), raw 0-255
      -> Rescaling(1/255)
      -> encoder, applied to every slice (the first spatial axis is the sequence)
      -> head steps (per slice until `MEAN` averages over the slices)
      -> sigmoid (binary) or softmax (multi-class) named "probability"

Example:

>>> from keras_lnn.models import create_model
>>> create_model("LiqExp1N2").output_shape
(None, 1)
"""
import math

from keras_lnn.errors import KerasLnnError
from keras_lnn.models.blocks import ENCODERS
from keras_lnn.models.registry import get_architecture


def slice_encoder(name, n_outputs=1):
    """The per-slice convolutional encoder `name` ("E2", "E4a" or "E4b") as one layer.

    Returns a `SliceWise` layer mapping `(batch, slices, S, S, 1)` to
    `(batch, slices, features)`.
    """
    import keras

    from keras_lnn import layers as lnn_layers

    steps = [step.layer(n_outputs) for step in ENCODERS[name]]
    return lnn_layers.SliceWise(keras.Sequential([*steps, keras.layers.Flatten()], name=name), name=f"encoder_{name}")


def validate_model(name, n_classes=2):
    """Returns the architecture, or raises KerasLnnError if it cannot have `n_classes` outputs."""
    architecture = get_architecture(name)
    n_outputs = 1 if n_classes == 2 else n_classes
    for step in architecture.head:
        try:
            getattr(step, "validate", lambda n: None)(n_outputs)
        except KerasLnnError as error:
            raise KerasLnnError(f"{architecture.name} cannot be built with {n_classes} classes: {error}") from None
    return architecture


def create_model(name, input_size=28, n_classes=2):
    """Builds the registered model `name` as a Keras functional model.

    Args:
        name: a registered model name (see `list_models`).
        input_size: edge length S of the `(S, S, S, 1)` input volumes (28 or 64).
        n_classes: 2 for a binary task (sigmoid output `(batch, 1)`), more for
            a multi-class one (softmax output `(batch, n_classes)`).

    Returns:
        An uncompiled `keras.Model` taking raw 0-255 volumes.

    Example:

    >>> model = create_model("CNNExp2N4")
    >>> model.count_params()
    13739
    """
    import keras

    architecture = validate_model(name, n_classes)
    n_outputs = 1 if n_classes == 2 else n_classes
    head = [step.layer(n_outputs) for step in architecture.head]
    volume = keras.Input((input_size, input_size, input_size, 1), name="volume")
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(volume)
    x = slice_encoder(architecture.encoder)(x)
    for layer in head:
        x = layer(x)
    activation = "sigmoid" if n_outputs == 1 else "softmax"
    probability = keras.layers.Activation(activation, name="probability")(x)
    return keras.Model(volume, probability, name=architecture.name)


def count_params(model):
    """(trainable, non_trainable) parameter counts, as `model.summary()` prints them."""
    def total(weights):
        return sum(math.prod(w.shape) for w in weights)

    return total(model.trainable_weights), total(model.non_trainable_weights)
