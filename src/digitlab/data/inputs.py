"""What a model takes: pixels scaled to [0, 1] and one-hot labels, as the tutorial prepares them.

Usage:

    x = prepare_images(x_train_uint8)     # float32 in [0, 1]
    y = prepare_labels(y_train)           # (n, 10) one-hot rows

Training, scoring, export parity checks and calibration all go through these,
so every stage feeds a model exactly what it was trained on.
"""

from __future__ import annotations

import numpy as np


def prepare_images(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 → float32 in [0, 1], as the tutorial divides by 255."""
    return images.astype("float32") / 255.0


def prepare_labels(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Integer labels → one-hot rows, as categorical cross-entropy expects.

    float64, exactly what keras.utils.to_categorical returns, so runs repeat
    the tutorial's numbers without importing Keras here.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    return np.eye(num_classes, dtype=np.float64)[labels]
