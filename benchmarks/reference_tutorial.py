"""The reference: the Keras MNIST tutorial exactly as a user writes it (Keras on TensorFlow, model.fit).

Usage: python benchmarks/reference_tutorial.py [--seed 42]

The one difference from the tutorial's text is where the arrays come from:
`keras.datasets.mnist.load_data()` downloads from a host this machine cannot
reach, so the script reads digitlab's verified cache (`digitlab data fetch`)
with NumPy, which is as fast as Keras' own cached load. Prints one JSON line
with the fit time and test accuracy for benchmarks/training.py.
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
args = parser.parse_args()
keras.utils.set_random_seed(args.seed)

cache = Path(os.environ.get("DIGITLAB_CACHE", Path.home() / ".cache" / "digitlab")) / "mnist.npz"
with np.load(cache, allow_pickle=False) as data:
    (x_train, y_train), (x_test, y_test) = (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])

x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

model = keras.Sequential([
    keras.Input(shape=(28, 28)),
    layers.Flatten(),
    layers.Dense(128, activation="relu"),
    layers.Dropout(0.3),
    layers.Dense(64, activation="relu"),
    layers.Dropout(0.3),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])

started = time.perf_counter()
model.fit(x_train, y_train, epochs=10, batch_size=128, validation_split=0.1, verbose=0)
fit_seconds = time.perf_counter() - started

test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
model.save("/tmp/digitlab-reference-mlp.keras")
print(json.dumps({"fit_seconds": fit_seconds, "test_accuracy": test_accuracy, "test_loss": test_loss}))
