"""Confidence calibration: expected calibration error, reliability bins, temperature scaling.

Usage:

    temperature = fit_temperature(validation_probabilities, validation_labels)
    calibrated = apply_temperature(test_probabilities, temperature)
    expected_calibration_error(calibrated, test_labels)      # e.g. 0.004 = 0.4 %

A network trained with cross-entropy is often over-confident: of the answers
it gives with 99 % confidence, fewer than 99 % are right. Temperature scaling
(Guo et al. 2017) divides the logits by one number T fitted on held-out data;
it changes confidences, never which digit wins, so accuracy stays the same.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from digitlab.recognize import apply_temperature

# Probabilities are clipped before the log so a saturated softmax stays finite.
_EPSILON = 1e-12


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of `labels` (bounded to 0.05–20)."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("temperature scaling needs at least one held-out example")
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), _EPSILON, 1.0))
    rows = np.arange(len(labels))

    def negative_log_likelihood(temperature: float) -> float:
        return float(-log_softmax(logits / temperature, axis=1)[rows, labels].mean())

    result = minimize_scalar(negative_log_likelihood, bounds=(0.05, 20.0), method="bounded")
    return float(result.x)


def reliability_bins(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> list[dict]:
    """Per confidence bin: its range, how many answers fall in it, mean confidence and accuracy."""
    confidence = np.asarray(probabilities).max(axis=1)
    correct = np.asarray(probabilities).argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin i holds confidences in (edges[i], edges[i + 1]]; the top bin includes 1.0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    table = []
    for index in range(bins):
        members = which == index
        count = int(members.sum())
        table.append({
            "low": float(edges[index]),
            "high": float(edges[index + 1]),
            "count": count,
            "confidence": float(confidence[members].mean()) if count else None,
            "accuracy": float(correct[members].mean()) if count else None,
        })
    return table


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Σ over bins of (share of answers in the bin) × |accuracy − mean confidence|."""
    table = reliability_bins(probabilities, labels, bins)
    total = sum(row["count"] for row in table)
    return float(sum(row["count"] / total * abs(row["accuracy"] - row["confidence"]) for row in table if row["count"]))


def calibration_metrics(
    validation_probabilities: np.ndarray | None,
    validation_labels: np.ndarray,
    test_probabilities: np.ndarray,
    test_labels: np.ndarray,
) -> dict:
    """Temperature fitted on validation data; ECE and reliability bins on the test set."""
    if validation_probabilities is None:
        temperature, fitted_on = 1.0, "no validation split: not fitted"
    else:
        temperature = fit_temperature(validation_probabilities, validation_labels)
        fitted_on = f"fitted on {len(validation_labels):,} validation images"
    calibrated = apply_temperature(test_probabilities, temperature)
    return {
        "temperature": temperature,
        "fitted_on": fitted_on,
        "ece_uncalibrated": expected_calibration_error(test_probabilities, test_labels),
        "ece_calibrated": expected_calibration_error(calibrated, test_labels),
        "bins_uncalibrated": reliability_bins(test_probabilities, test_labels),
        "bins_calibrated": reliability_bins(calibrated, test_labels),
    }
