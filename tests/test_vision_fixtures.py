"""Helpers shared by the vision, recognizer and predict tests (no tests of its own).

`trained_model_path()` trains the tutorial MLP for 2 epochs on the full MNIST
training set (~10 s), once per test process, so the end-to-end tests do not
depend on which models happen to be shipped or in runs/. `mnist_sheet()` draws
real MNIST test digits the way a phone photo shows them: dark ink, enlarged,
on unevenly lit paper, noisy, JPEG-compressed.
"""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image


@lru_cache(maxsize=1)
def trained_model_path() -> Path:
    from digitlab.models import import_keras

    keras = import_keras()
    from digitlab.formats import RunConfig
    from digitlab.data import load_mnist
    from digitlab.models import create_model
    from digitlab.data import prepare_images, prepare_labels
    from digitlab.train import compile_model

    keras.utils.set_random_seed(0)
    (x_train, y_train), _ = load_mnist()
    model = create_model("mlp")
    compile_model(model, RunConfig(model="mlp"))
    model.fit(prepare_images(x_train), prepare_labels(y_train), epochs=2, batch_size=128, verbose=0)
    folder = Path(tempfile.mkdtemp(prefix="digitlab-test-model-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "model.keras"
    model.save(path)
    return path


@lru_cache(maxsize=1)
def recognizer():
    from digitlab.recognize import Recognizer

    return Recognizer(trained_model_path())


def mnist_digits(count: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MNIST test digits the test model reads right as 28×28 inputs (so the pipeline is what is tested)."""
    from digitlab.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    model = recognizer()
    images, labels = x_test[offset:offset + 400], y_test[offset:offset + 400]
    probabilities = model._probabilities(images.astype(np.float32) / 255.0)
    right = np.flatnonzero((probabilities.argmax(axis=1) == labels) & (probabilities.max(axis=1) > 0.95))
    return images[right[:count]], labels[right[:count]]


def mnist_sheet(images: np.ndarray, scale: int = 6, seed: int = 0, dark_ink: bool = True,
                jpeg: bool = True) -> bytes:
    """Digits side by side, enlarged, on lit paper with noise: the bytes of a JPEG (or PNG) photo."""
    rng = np.random.default_rng(seed)
    size = 28 * scale
    gap = size // 3
    width, height = len(images) * (size + gap) + 2 * size, size * 3
    ink = np.zeros((height, width), dtype=np.float32)
    for index, image in enumerate(images):
        big = np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
        x = size + index * (size + gap)
        ink[size:2 * size, x:x + size] = np.clip(big, 0, 1)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.95 - 0.3 * xs / width - 0.1 * ys / height
    paper = light * (1 - 0.85 * ink) if dark_ink else 0.1 + 0.8 * ink * light
    paper += rng.normal(0, 0.02, paper.shape)
    photo = Image.fromarray((np.clip(paper, 0, 1) * 255).astype(np.uint8), mode="L").convert("RGB")
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG" if jpeg else "PNG", quality=80)
    return buffer.getvalue()
