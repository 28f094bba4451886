"""Recipes at full size: the tutorial (60k images, 10 epochs, ≥ 97.5 %, about 1–2 min) and `quick` (≥ 99 %)."""

from __future__ import annotations

import pytest

from digitlab.formats import RunConfig
from digitlab.pipeline import run_pipeline


@pytest.mark.slow
def test_tutorial_recipe_reaches_tutorial_accuracy(tmp_path):
    result = run_pipeline(RunConfig(runs_dir=str(tmp_path), command="pytest full-size"), verbose=0)
    metrics = result.metrics
    assert metrics["n_train"] == 60_000 and metrics["n_test"] == 10_000
    assert metrics["epochs_run"] == 10
    assert metrics["test_accuracy"] >= 0.975, metrics["test_accuracy"]
    assert metrics["reload_identical"] is True
    assert metrics["reload_accuracy"] == metrics["test_accuracy"]
    # The tutorial's two classic confusions should be among the top few pairs.
    top_pairs = {pair["pair"] for pair in metrics["confused_pairs"][:6]}
    assert top_pairs & {"4↔9", "3↔8", "7↔9", "2↔7", "3↔5"}, top_pairs


@pytest.mark.slow
def test_quick_recipe_reaches_99_percent_in_one_epoch(tmp_path):
    from digitlab.models import model_recipe

    config = RunConfig(model="quick", runs_dir=str(tmp_path), command="pytest full-size quick", **model_recipe("quick"))
    metrics = run_pipeline(config, verbose=0).metrics
    assert metrics["epochs_run"] == 1 and metrics["n_train"] == 60_000
    assert metrics["test_accuracy"] >= 0.99, metrics["test_accuracy"]
    assert metrics["reload_identical"] is True
