"""The validation split, defined once: the last images of the training set, as Keras' validation_split takes them.

Usage:

    start = validation_start(60_000, 0.1)              # 54000: images [54000:] are held out
    (x_fit, y_fit), (x_val, y_val) = split_validation(x_train, y_train, 0.1)
    x_val, y_val = validation_images(x_train, y_train, 0.1)

Every model, calibration temperature, threshold and default in digitlab is
chosen on these images, never on the test set. Keras' `model.fit(...,
validation_split=f)` holds out the last `n - int(n * (1 - f))` images; the
fast engine, extra training digits, calibration and ensembles use the same
arithmetic from here, so all of them hold out the very same images.
"""

from __future__ import annotations

import numpy as np

# The tutorial's split: 10 % of the 60,000 MNIST training images.
DEFAULT_VALIDATION_SPLIT = 0.1


def validation_size(n_images: int, validation_split: float = DEFAULT_VALIDATION_SPLIT) -> int:
    """How many images Keras' validation_split holds out (it takes the last ones)."""
    return n_images - int(n_images * (1.0 - validation_split))


def validation_start(n_images: int, validation_split: float = DEFAULT_VALIDATION_SPLIT) -> int:
    """Index of the first held-out image: images[:start] train, images[start:] validate."""
    return n_images - validation_size(n_images, validation_split)


def split_validation(images: np.ndarray, labels: np.ndarray, validation_split: float = DEFAULT_VALIDATION_SPLIT):
    """((training images, labels), (validation images, labels)) as Keras' validation_split splits them."""
    start = validation_start(len(images), validation_split)
    return (images[:start], labels[:start]), (images[start:], labels[start:])


def validation_images(images: np.ndarray, labels: np.ndarray, validation_split: float = DEFAULT_VALIDATION_SPLIT):
    """(validation images, labels): the held-out part only."""
    return split_validation(images, labels, validation_split)[1]
