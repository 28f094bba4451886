"""Ensembles: one .keras model averaging its members; `digitlab ensemble` ships it with a card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.errors import UserError
from digitlab.formats import file_sha256
from digitlab.models import load_keras_model


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    for seed in ("1", "2"):
        # --engine keras keeps this process on the TensorFlow backend, which later in-process
        # tests of augmented (tf.data) training need; the fast engine would switch it to JAX.
        assert main(["train", "--model", "mlp", "--tiny", "--epochs", "1", "--seed", seed, "--quiet", "--engine", "keras",
                     "--runs-dir", str(runs_dir)]) == 0
    return runs_dir, sorted(runs_dir.iterdir())


def test_build_ensemble_averages_the_members_and_survives_saving(two_runs, tmp_path):
    from digitlab.models import build_ensemble

    _, run_dirs = two_runs
    members = [load_keras_model(run_dir / "model.keras") for run_dir in run_dirs]
    images = np.random.default_rng(0).random((16, 28, 28), dtype=np.float32)
    expected = np.mean([member.predict(images, verbose=0) for member in members], axis=0)
    ensemble = build_ensemble(members)
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)
    ensemble.save(tmp_path / "ensemble.keras")
    reloaded = load_keras_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), expected, atol=1e-6)
    with pytest.raises(UserError, match="at least two"):
        build_ensemble(members[:1])


def test_ship_ensemble_writes_a_measured_card(two_runs, tmp_path):
    from digitlab.export import ship_ensemble

    runs_dir, run_dirs = two_runs
    specs = [str(run_dir) for run_dir in run_dirs]
    target = ship_ensemble(specs, "duo", runs_dir=str(runs_dir), models_dir=tmp_path)
    card = json.loads((target / "card.json").read_text())
    assert card["architecture"] == "ensemble" and [member["model"] for member in card["members"]] == specs
    assert all(member["training_command"].startswith("digitlab train") for member in card["members"])
    assert card["sha256"] == file_sha256(target / "model.keras")
    assert card["onnx"]["sha256"] == file_sha256(target / "model.onnx")
    assert card["parameters"] == 2 * 109_386 and card["temperature"] > 0
    # The card's accuracy is the saved model's, re-measured here on the same test set.
    from digitlab.evaluate import evaluate_saved_model

    assert evaluate_saved_model(str(target / "model.keras"))["accuracy"] == pytest.approx(card["test_accuracy"])
    with pytest.raises(UserError, match="listed twice"):
        ship_ensemble([specs[0], specs[0]], "same", runs_dir=str(runs_dir), models_dir=tmp_path)


def test_the_default_model_is_the_best_single_model_on_validation_not_test(monkeypatch):
    from digitlab.formats import lookup

    cards = {
        "big": {"architecture": "ensemble", "validation_accuracy": 0.999, "test_accuracy": 0.999,
                "path": "models/big/model.keras"},
        # The test set never decides: "best" leads on validation although "other" leads on test.
        "best": {"architecture": "deotte", "validation_accuracy": 0.997, "test_accuracy": 0.995,
                 "path": "models/best/model.keras"},
        "other": {"architecture": "vgg", "validation_accuracy": 0.995, "test_accuracy": 0.998,
                  "path": "models/other/model.keras"},
        # A card without a validation figure cannot be chosen.
        "unmeasured": {"architecture": "cnn", "test_accuracy": 0.999, "path": "models/unmeasured/model.keras"},
    }
    monkeypatch.setattr(lookup, "shipped_models", lambda *args: cards)
    assert lookup.resolve_model_path(None) == Path("models/best/model.keras")
    # Equal validation accuracy: the lower validation loss wins.
    cards["other"].update(validation_accuracy=0.997, validation_loss=0.01)
    cards["best"]["validation_loss"] = 0.02
    assert lookup.resolve_model_path(None) == Path("models/other/model.keras")


def test_the_default_for_reading_images_is_the_shipped_reader(monkeypatch):
    from digitlab.formats import lookup

    cards = {
        "best": {"architecture": "deotte", "validation_accuracy": 0.997, "path": "models/best/model.keras"},
        "reader": {"architecture": "deotte", "validation_accuracy": 0.995, "path": "models/reader/model.keras"},
    }
    monkeypatch.setattr(lookup, "shipped_models", lambda *args: cards)
    assert lookup.resolve_model_path(None, purpose="images") == Path("models/reader/model.keras")
    assert lookup.resolve_model_path(None) == Path("models/best/model.keras")
    # Without a reader, images are read by the model most accurate on validation.
    del cards["reader"]
    assert lookup.resolve_model_path(None, purpose="images") == Path("models/best/model.keras")
