"""digitlab: handwritten digit recognition, from the classic Keras MNIST tutorial onwards.

Usage, the reader (the core install, `pip install digitlab`):

    import digitlab

    result = digitlab.read("photo.jpg")       # a path, bytes, a PIL image or a NumPy array
    result.prediction, result.confidence      # "2026", 0.97
    result.to_json()                          # the `digitlab predict --json` object, without "path"
    digitlab.read(canvas, model="deotte")     # another shipped model, a run dir or a model file

Usage, the tutorial (`pip install 'digitlab[train]'`):

    from digitlab.data import load_mnist
    from digitlab.formats import RunConfig
    from digitlab.pipeline import run_pipeline

    result = run_pipeline(RunConfig(model="mlp"))
    print(result.metrics["test_accuracy"], result.run_dir)

Importing this package is cheap: Keras (and its backend) is imported only by the
modules that train or load models.
"""

from __future__ import annotations

import os

# The one version source: pyproject.toml reads it (dynamic version), `digitlab --version`
# prints it, and installed metadata (importlib.metadata.version("digitlab")) is built from it.
__version__ = "0.1.0"

# Keras itself defaults to TensorFlow, the tutorial's stack; `digitlab train`
# picks JAX for its fast engine (digitlab.models.choose_backend). A user's
# KERAS_BACKEND always wins.
# TensorFlow's C++ layer prints start-up chatter (oneDNN, CPU features) and a
# harmless graph-version notice from tf.data at "error" level on every fit; none
# of it is actionable for a digitlab user, and real failures still raise Python
# exceptions. Set TF_CPP_MIN_LOG_LEVEL=0 to see it all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def read(image, model: str | None = None):
    """Read the digits in one image with a shipped model (the reader by default): a ReadResult.

    The model is loaded once per `model` value and kept for later calls. For many
    images, or options such as the reject threshold, use digitlab.recognize.Recognizer.
    """
    return _recognizer(model).read(image)


_RECOGNIZERS: dict = {}


def _recognizer(model: str | None):
    # Imported on the first read: `import digitlab` stays cheap, and every subpackage
    # imports this package first, so it must not import them at its top.
    from digitlab.recognize import Recognizer

    if model not in _RECOGNIZERS:
        _RECOGNIZERS[model] = Recognizer(model)
    return _RECOGNIZERS[model]
