"""Import Keras once, without TensorFlow's C++ start-up chatter on the terminal.

Usage:

    from digitlab.models import import_keras
    keras = import_keras()

TensorFlow 2.21 writes absl/oneDNN notices to file descriptor 2 while it loads,
before TF_CPP_MIN_LOG_LEVEL takes effect. We capture stderr during the import,
drop the known notices and pass everything else through, so no real warning or
error is lost.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile

# Lines TensorFlow prints on every start that a digitlab user cannot act on.
_KNOWN_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations are on|"
    r"cpu_feature_guard|This TensorFlow binary is optimized|To enable the following instructions|"
    r"rebuild TensorFlow with the appropriate compiler flags"
)


def choose_backend(config) -> None:
    """Before Keras is imported: use JAX where the fast engine will train, unless the user chose a backend.

    Augmented training runs model.fit over tf.data, which is faster on TensorFlow.
    """
    wants_fast = config.engine == "fast" or (config.engine == "auto" and not config.augment)
    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules or not wants_fast:
        return
    if importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"


def import_keras():
    """Import and return `keras` (its backend included), filtering start-up noise."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401  (the backend loads here)
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines()
                if line.strip() and not _KNOWN_NOISE.search(line)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)
    return sys.modules["keras"]


def keras_without_tensorflow() -> None:
    """Make Keras (on a non-TensorFlow backend) behave as if TensorFlow were not installed.

    Keras probes `tensorflow` lazily in many places (seeding, serialization) and
    importing it costs seconds. Keras supports running without TensorFlow, so we
    answer its probe "not available" for the rest of the process. Only for the
    fast engine: tf.data-based augmentation does need TensorFlow.
    """
    keras = import_keras()
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return
    from keras.src.utils import module_utils  # Keras is loaded already (import_keras above)

    module_utils.tensorflow._available = False
