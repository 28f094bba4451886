"""The CNN reference: keras-io's "Simple MNIST convnet" exactly as published (Keras on TensorFlow, model.fit).

Usage: python benchmarks/reference_convnet.py [--seed 42] [--epochs 15] [--stop-at 0.995]

https://keras.io/examples/vision/mnist_convnet/: two Conv2D/MaxPooling2D
blocks, dropout 0.5, Adam, batch 128, 15 epochs, validation_split 0.1. As in
reference_tutorial.py, the arrays come from digitlab's verified cache instead
of `keras.datasets.mnist.load_data()` (whose host this machine cannot reach).

Added for the time-to-accuracy benchmark: after every epoch a callback
measures test accuracy, and its time is taken off the training clock, so the
clock holds model.fit's own work (validation included, as in the recipe).
The run stops early once test accuracy reaches --stop-at. Prints one JSON line:
{"epochs": [{"epoch": 1, "train_seconds": ..., "test_accuracy": ...}, ...], ...}.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=42)
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--stop-at", type=float, default=1.0, help="stop once test accuracy reaches this")
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

cache = Path(os.environ.get("DIGITLAB_CACHE", Path.home() / ".cache" / "digitlab")) / "mnist.npz"
with np.load(cache, allow_pickle=False) as data:
    (x_train, y_train), (x_test, y_test) = (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])

# The keras-io example, from here on.
num_classes = 10
input_shape = (28, 28, 1)
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
batch_size = 128
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])


class TestAccuracyClock(keras.callbacks.Callback):
    """Test accuracy after each epoch; the seconds it takes are kept off the training clock."""

    def __init__(self):
        super().__init__()
        self.started = time.perf_counter()
        self.excluded = 0.0
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        paused = time.perf_counter()
        _, accuracy = self.model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        self.epochs.append({"epoch": epoch + 1, "train_seconds": paused - self.started - self.excluded,
                            "test_accuracy": float(accuracy)})
        if accuracy >= args.stop_at:
            self.model.stop_training = True
        self.excluded += time.perf_counter() - paused


clock = TestAccuracyClock()
model.fit(x_train, y_train, batch_size=batch_size, epochs=args.epochs, validation_split=0.1, verbose=0,
          callbacks=[clock])
print(json.dumps({"recipe": "keras-io mnist_convnet", "backend": keras.backend.backend(), "epochs": clock.epochs}))
