"""Import Keras once, without TensorFlow's C++ start-up chatter on the terminal.

Usage:

    from digitlab.backend import import_keras
    keras = import_keras()

TensorFlow 2.21 writes absl/oneDNN notices to file descriptor 2 while it loads,
before TF_CPP_MIN_LOG_LEVEL takes effect. We capture stderr during the import,
drop the known notices and pass everything else through, so no real warning or
error is lost.
"""

from __future__ import annotations

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
