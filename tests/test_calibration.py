"""Temperature scaling recovers a known over-confidence; ECE and bins behave as defined."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.evaluate import expected_calibration_error, fit_temperature, reliability_bins
from digitlab.recognize import apply_temperature


def sampled(n: int = 4000, seed: int = 0):
    """Labels drawn from softmax(logits): those probabilities are calibrated by construction."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 10)) * 3
    calibrated = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in calibrated])
    return logits, calibrated, labels


def test_temperature_undoes_over_confidence():
    logits, calibrated, labels = sampled()
    sharpened = np.exp(2 * logits) / np.exp(2 * logits).sum(axis=1, keepdims=True)  # T = 2 too confident
    temperature = fit_temperature(sharpened, labels)
    assert temperature == pytest.approx(2.0, rel=0.1)
    fixed = apply_temperature(sharpened, temperature)
    assert expected_calibration_error(fixed, labels) < expected_calibration_error(sharpened, labels) / 3
    # Temperature scaling never changes which class wins.
    np.testing.assert_array_equal(fixed.argmax(axis=1), sharpened.argmax(axis=1))


def test_calibrated_probabilities_have_small_ece():
    _, calibrated, labels = sampled()
    assert expected_calibration_error(calibrated, labels) < 0.03


def test_ece_of_perfect_and_fully_wrong_answers():
    probabilities = np.eye(10)[[0, 1, 2, 3]]
    assert expected_calibration_error(probabilities, np.array([0, 1, 2, 3])) == 0.0
    assert expected_calibration_error(probabilities, np.array([1, 2, 3, 4])) == pytest.approx(1.0)


def test_reliability_bins_count_every_answer():
    _, calibrated, labels = sampled(500)
    bins = reliability_bins(calibrated, labels, bins=10)
    assert len(bins) == 10 and sum(row["count"] for row in bins) == 500
    assert bins[-1]["high"] == 1.0
    for row in bins:
        if row["count"]:
            assert row["low"] <= row["confidence"] <= row["high"]


def test_empty_validation_set_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        fit_temperature(np.zeros((0, 10)), np.zeros(0, dtype=int))


def test_model_temperature_comes_from_the_card_or_the_run(tmp_path):
    import json

    from digitlab.formats import model_temperature

    shipped, run, bare = (tmp_path / name for name in ("shipped", "run", "bare"))
    for folder in (shipped, run, bare):
        folder.mkdir()
    (shipped / "card.json").write_text(json.dumps({"temperature": 1.7}))
    (run / "metrics.json").write_text(json.dumps({"calibration": {"temperature": 0.8}}))
    assert model_temperature(shipped / "model.keras") == 1.7
    assert model_temperature(run / "model.keras") == 0.8
    assert model_temperature(bare / "model.keras") == 1.0
