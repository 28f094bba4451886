"""The classic Keras tutorial MLP: Flatten → Dense 128 → Dropout → Dense 64 → Dropout → Dense 10.

Usage: `create_model("mlp")` (109,386 parameters for 28×28 inputs and 10 classes).
"""

from __future__ import annotations

from digitlab.models.registry import register_model


@register_model("mlp")
def mlp(
    input_shape: tuple[int, ...] = (28, 28),
    num_classes: int = 10,
    hidden_units: tuple[int, ...] = (128, 64),
    dropout_rate: float = 0.3,
):
    """The Keras tutorial's MLP: two ReLU layers (128, 64) with dropout 0.3, softmax output."""
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=input_shape))
    model.add(layers.Flatten())
    for units in hidden_units:
        model.add(layers.Dense(units, activation="relu"))
        model.add(layers.Dropout(dropout_rate))
    model.add(layers.Dense(num_classes, activation="softmax"))
    return model
