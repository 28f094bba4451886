"""Apply a fitted calibration temperature to a model's probabilities (no SciPy, no scikit-learn).

Usage:

    calibrated = apply_temperature(probabilities, temperature=1.34)

A network trained with cross-entropy is often over-confident; temperature
scaling divides the logits by one number T fitted on held-out data
(digitlab.evaluate.fit_temperature). It changes confidences, never which digit
wins. Applying it is all the reader needs, so it lives here, in the lean install.
"""

from __future__ import annotations

import numpy as np

# Probabilities are clipped before the log so a saturated softmax stays finite.
_EPSILON = 1e-12


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax probabilities rescaled as if the logits had been divided by `temperature`."""
    # Plain NumPy rather than scipy.special.softmax: this runs on every request
    # of the web app, and scipy's generic version costs ~50 µs per call.
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), _EPSILON, 1.0)) / temperature
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)
