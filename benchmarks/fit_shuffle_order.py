"""Does Keras' model.fit on TensorFlow shuffle differently in each epoch once a seed is set? (It does not.)

Usage:

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/fit_shuffle_order.py

Trains a one-layer model on 64 rows whose first feature is the row's index,
with `keras.utils.set_random_seed(42)` as digitlab's seeding does, and prints
the row indices of each epoch's first batch. With Keras 3.15 on TensorFlow the
three epochs print the same order: the permutation op inside the tf.data
pipeline restarts with every epoch's iterator. A run resumed from a checkpoint
therefore sees the orders the uninterrupted run saw (docs/training.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402 - after choosing the backend
import numpy as np  # noqa: E402

ROWS, BATCH, EPOCHS = 64, 32, 3


class FirstBatchOrder(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.orders: list[list[int]] = []

    def train_step(self, data):
        self.orders.append([int(index) for index in data[0][:8, 0]])
        return super().train_step(data)


def main() -> None:
    keras.utils.set_random_seed(42)
    inputs = keras.Input((2,))
    model = FirstBatchOrder(inputs, keras.layers.Dense(1)(inputs))
    model.compile("adam", "mse", run_eagerly=True)  # eager, so train_step sees the batch's values
    rows = np.stack([np.arange(ROWS), np.zeros(ROWS)], axis=1).astype("float32")
    model.fit(rows, np.zeros((ROWS, 1), "float32"), epochs=EPOCHS, batch_size=BATCH, verbose=0)
    steps = ROWS // BATCH
    for epoch in range(EPOCHS):
        print(f"epoch {epoch + 1}: first batch starts with rows {model.orders[epoch * steps]}")
    same = all(model.orders[epoch * steps] == model.orders[0] for epoch in range(EPOCHS))
    print(f"Keras {keras.__version__} on {keras.backend.backend()}: "
          f"{'the same order in every epoch' if same else 'a new order in each epoch'}")


if __name__ == "__main__":
    main()
