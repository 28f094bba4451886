"""Learning-rate schedules: cosine decays to 1 % of the rate; one cycle warms up, peaks, then anneals to 0."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.train import learning_rate_schedule


def _rates(schedule, steps: int) -> np.ndarray:
    return np.array([float(schedule(step)) for step in range(steps + 1)])


def test_cosine_decays_from_the_rate_to_one_percent():
    rates = _rates(learning_rate_schedule("cosine", 0.003, 100), 100)
    assert rates[0] == pytest.approx(0.003)
    assert rates[-1] == pytest.approx(0.00003, rel=1e-3)
    assert np.all(np.diff(rates) <= 1e-12)


def test_one_cycle_warms_up_over_a_fifth_then_anneals_to_zero():
    rates = _rates(learning_rate_schedule("one_cycle", 0.01, 100), 100)
    peak = int(np.argmax(rates))
    assert peak == 20 and rates[peak] == pytest.approx(0.01)
    assert rates[0] == pytest.approx(0.0005)
    assert np.all(np.diff(rates[:peak + 1]) > 0) and np.all(np.diff(rates[peak:]) <= 1e-12)
    assert rates[-1] == pytest.approx(0.0, abs=1e-9)


def test_unknown_schedule_is_an_error():
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        learning_rate_schedule("linear", 0.01, 10)
