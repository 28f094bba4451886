"""Convolutional networks: the keras-io MNIST convnet, digitlab's VGG-style nets and Deotte's CNN.

Usage: `create_model("cnn")`, `create_model("vgg")`; `digitlab train --model vgg`.
Each builder is registered with its training recipe (epochs, augmentation, schedule).
"""

from __future__ import annotations

from digitlab.models.registry import register_model


def _image_input(input_shape: tuple[int, ...]):
    """A 28×28 input with a channel axis added, so models accept (n, 28, 28) arrays as the MLP does."""
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    inputs = keras.Input(shape=input_shape)
    features = layers.Reshape((*input_shape[:2], 1))(inputs) if len(input_shape) == 2 else inputs
    return inputs, features


# The augmenting CNN recipes train with model.fit on TensorFlow, whose oneDNN
# convolutions use both cores, as the shipped models were trained (so their cards'
# commands reproduce them). The fast engine (`--engine fast`, JAX) trains them too,
# its convolutions written as matrix multiplies (digitlab.train.fast.convolutions), at
# about TensorFlow's speed: between 0.4x and 1.4x its samples/s depending on the
# model and the run (benchmarks/training_throughput.py). `quick` uses it by default.
@register_model("cnn", epochs=15, engine="keras")
def cnn(input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10, dropout_rate: float = 0.5,
        widths: tuple[int, ...] = (32, 64)):
    """The keras-io "Simple MNIST convnet": two conv/pool blocks, dropout 0.5 (~99.2 %)."""
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    inputs, features = _image_input(input_shape)
    for filters in widths:
        features = layers.Conv2D(filters, kernel_size=3, activation="relu")(features)
        features = layers.MaxPooling2D(pool_size=2)(features)
    features = layers.Flatten()(features)
    features = layers.Dropout(dropout_rate)(features)
    outputs = layers.Dense(num_classes, activation="softmax")(features)
    return keras.Model(inputs, outputs, name="cnn")


def _conv_bn(features, filters: int, kernel_size: int = 3, strides: int = 1):
    """Convolution → batch norm → ReLU; the convolution needs no bias before batch norm."""
    from keras import layers  # (with Keras, above or already loaded)

    features = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(features)
    features = layers.BatchNormalization()(features)
    return layers.Activation("relu")(features)


@register_model(
    "vgg", epochs=30, batch_size=128, learning_rate=0.003, lr_schedule="cosine", augment=True, engine="keras"
)
def vgg(
    input_shape: tuple[int, ...] = (28, 28),
    num_classes: int = 10,
    widths: tuple[int, ...] = (32, 64, 128),
    depths: tuple[int, ...] = (1, 1, 1),
    dropout_rate: float = 0.4,
):
    """Compact VGG-style CNN with batch norm, trained with augmentation and a cosine schedule."""
    return _vgg_network("vgg", input_shape, num_classes, widths, depths, dropout_rate)


# A recipe for training time: `vgg` at half width, one epoch at batch 32 with a
# one-cycle learning rate. Chosen on the validation split (never the test set)
# among half-width vgg, a pooling CNN and an all-strided CNN at batch 16–128 and
# peak rates 0.005–0.02; batch 32 gave the most accurate single epoch for the
# same time per epoch as batch 128 (the fast engine's step is cheap at either).
# It reaches about 99.1 % (benchmarks/time_to_accuracy.py).
@register_model("quick", epochs=1, batch_size=32, learning_rate=0.01, lr_schedule="one_cycle", engine="auto")
def quick(input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10, dropout_rate: float = 0.2):
    """Half-width `vgg` for a fast start: one epoch to about 99 % in seconds on a CPU."""
    return _vgg_network("quick", input_shape, num_classes, (16, 32, 64), (1, 1, 1), dropout_rate)


def _vgg_network(name: str, input_shape: tuple[int, ...], num_classes: int, widths: tuple[int, ...],
                 depths: tuple[int, ...], dropout_rate: float):
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    inputs, features = _image_input(input_shape)
    # Stages at 28, 14 and 7 pixels. A strided 3×3 convolution, not pooling,
    # halves the resolution between stages: it learns what to keep, and costs
    # a quarter of a full-resolution convolution (CPU time is the budget here).
    for stage, (filters, depth) in enumerate(zip(widths, depths)):
        for _ in range(depth):
            features = _conv_bn(features, filters)
        if stage < len(widths) - 1:
            features = _conv_bn(features, filters, strides=2)
    features = layers.Flatten()(features)
    features = layers.Dropout(dropout_rate)(features)
    outputs = layers.Dense(num_classes, activation="softmax")(features)
    return keras.Model(inputs, outputs, name=name)


@register_model(
    "deotte", epochs=40, batch_size=128, learning_rate=0.003, lr_schedule="cosine", augment=True, engine="keras"
)
def deotte(input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10, dropout_rate: float = 0.4):
    """Chris Deotte's Kaggle MNIST CNN: stacked 3×3 convolutions, strided 5×5 downsampling, batch norm."""
    import keras  # heavy: a builder loads Keras when it runs
    from keras import layers  # (with Keras, above or already loaded)

    def conv(features, filters: int, kernel_size: int, **options):
        features = layers.Conv2D(filters, kernel_size, use_bias=False, **options)(features)
        features = layers.BatchNormalization()(features)
        return layers.Activation("relu")(features)

    # From "How to choose CNN Architecture MNIST" (Kaggle, 2018), whose single
    # models reach ~99.75 % with augmentation: 28 → 26 → 24 → 12 (strided 5×5)
    # → 10 → 8 → 4 → 1 (a 4×4 "valid" convolution ends in a 128-vector).
    inputs, features = _image_input(input_shape)
    for filters in (32, 64):
        features = conv(features, filters, 3)
        features = conv(features, filters, 3)
        features = conv(features, filters, 5, strides=2, padding="same")
        features = layers.Dropout(dropout_rate)(features)
    features = conv(features, 128, 4)
    features = layers.Flatten()(features)
    features = layers.Dropout(dropout_rate)(features)
    outputs = layers.Dense(num_classes, activation="softmax")(features)
    return keras.Model(inputs, outputs, name="deotte")
