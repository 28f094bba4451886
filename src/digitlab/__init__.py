"""digitlab: handwritten digit recognition, from the classic Keras MNIST tutorial onwards.

Usage:

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
