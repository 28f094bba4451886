"""Data augmentation for training: random rotation, shift, zoom and stroke width.

Usage:

    dataset = augmented_dataset(images, one_hot_labels, batch_size=128, seed=42, config=config)
    model.fit(dataset, validation_data=(val_images, val_labels), ...)

Real handwriting, once digitlab.vision has cropped and centred it the MNIST way,
still differs from MNIST in slant, position, size and pen width; showing the
model such variations in training is what makes it read photos and scans. The
pipeline runs in tf.data (TensorFlow is always installed with digitlab), so the
saved model holds no augmentation layers and exports cleanly.
"""

from __future__ import annotations

import numpy as np

from digitlab.formats import RunConfig


def stroke_width_jitter(batch, seed: int, strength: float):
    """Randomly thicken or thin strokes: blend each image towards its 3×3 dilation or erosion."""
    import tensorflow as tf  # heavy: tf.data augmentation runs on TensorFlow only when a recipe augments

    batch_size = tf.shape(batch)[0]
    dilated = tf.nn.max_pool2d(batch, ksize=3, strides=1, padding="SAME")
    eroded = -tf.nn.max_pool2d(-batch, ksize=3, strides=1, padding="SAME")
    # One draw per image: how far to move (0..strength) and in which direction.
    amount = tf.random.uniform([batch_size, 1, 1, 1], 0.0, strength, seed=seed)
    thicker = tf.random.uniform([batch_size, 1, 1, 1], seed=seed + 1) < 0.5
    target = tf.where(thicker, dilated, eroded)
    return batch + amount * (target - batch)


def augmentation_model(config: RunConfig):
    """The geometric part as Keras preprocessing layers (they run inside tf.data)."""
    import keras  # heavy: Keras' preprocessing layers, loaded when a recipe augments
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomRotation(config.rotation_degrees / 360.0, fill_mode="constant", seed=config.seed),
            layers.RandomZoom(config.zoom_fraction, fill_mode="constant", seed=config.seed + 1),
            layers.RandomTranslation(
                config.shift_fraction, config.shift_fraction, fill_mode="constant", seed=config.seed + 2
            ),
        ],
        name="augmentation",
    )


def augmented_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, config: RunConfig):
    """Shuffled, batched, augmented training batches of (n, 28, 28) float images in [0, 1]."""
    import tensorflow as tf  # heavy: tf.data augmentation runs on TensorFlow only when a recipe augments

    geometric = augmentation_model(config)

    def augment(batch_images, batch_labels):
        batch = tf.expand_dims(batch_images, -1)
        batch = geometric(batch, training=True)
        batch = stroke_width_jitter(batch, config.seed + 3, config.stroke_jitter)
        return tf.clip_by_value(tf.squeeze(batch, -1), 0.0, 1.0), batch_labels

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    dataset = dataset.shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
