"""Ensembles: a Keras model averaging its members; `digitlab ensemble` stores one as its card only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.errors import UserError
from digitlab.formats import file_sha256, shipped_models
from digitlab.models import load_keras_model
from digitlab.recognize import EnsembleRuntime, OnnxRuntime, Recognizer, open_runtime


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


@pytest.fixture(scope="module")
def shipped_pair(two_runs, tmp_path_factory):
    """A models dir with the two runs shipped as "a" and "b", and the ensemble "duo" of them (its card only)."""
    from digitlab.export import ship_ensemble, ship_run

    _, run_dirs = two_runs
    root = tmp_path_factory.mktemp("models")
    for name, run_dir in zip("ab", run_dirs):
        full = tmp_path_factory.mktemp(f"run-{name}") / run_dir.name
        shutil.copytree(run_dir, full)
        config = json.loads((full / "config.json").read_text())
        config["limit_train"] = config["limit_test"] = None  # pretend it was a full-size run
        (full / "config.json").write_text(json.dumps(config))
        ship_run(full, name, models_dir=root)
    ship_ensemble(["a", "b"], "duo", models_dir=root)
    return root


def test_ship_ensemble_writes_only_a_measured_card(shipped_pair):
    root = shipped_pair
    target = root / "duo"
    assert sorted(path.name for path in target.iterdir()) == ["card.json"], "stored once: no copy of the members"
    card = json.loads((target / "card.json").read_text())
    assert card["architecture"] == "ensemble" and [member["model"] for member in card["members"]] == ["a", "b"]
    assert all(member["training_command"].startswith("digitlab train") for member in card["members"])
    assert [member["sha256"] for member in card["members"]] == [file_sha256(root / name / "model.keras")
                                                               for name in "ab"]
    assert "sha256" not in card and "onnx" not in card
    assert card["runtime_parity"]["images"] == 10_000 and card["runtime_parity"]["top1_agreement"] == 1.0
    assert card["parameters"] == 2 * 109_386 and card["temperature"] > 0
    assert shipped_models(root)["duo"]["path"] == str(target / "card.json")
    # The card's accuracy is the ensemble's built from its members, re-measured here on the same test set.
    from digitlab.evaluate import evaluate_saved_model

    assert evaluate_saved_model(str(target))["accuracy"] == pytest.approx(card["test_accuracy"])


def test_the_ensemble_runtime_averages_its_members(shipped_pair):
    root = shipped_pair
    images = np.random.default_rng(1).random((8, 28, 28), dtype=np.float32)
    runtime = open_runtime(root / "duo" / "card.json")
    assert isinstance(runtime, EnsembleRuntime) and runtime.name == "onnx" and runtime.parameters == 2 * 109_386
    members = [OnnxRuntime(root / name / "model.onnx") for name in "ab"]
    np.testing.assert_allclose(runtime.predict(images), np.mean([m.predict(images) for m in members], axis=0))
    keras_runtime = open_runtime(root / "duo" / "card.json", "keras")
    assert keras_runtime.name == "keras"
    np.testing.assert_allclose(keras_runtime.predict(images), runtime.predict(images), atol=1e-5)
    recognizer = Recognizer(root / "duo")
    assert recognizer.name == "duo" and recognizer.info["runtime"] == "onnx"
    assert recognizer.temperature == json.loads((root / "duo" / "card.json").read_text())["temperature"]


def test_ship_ensemble_refuses_what_it_cannot_store_as_a_card(shipped_pair, two_runs):
    from digitlab.export import ship_ensemble

    root = shipped_pair
    _, run_dirs = two_runs
    with pytest.raises(UserError, match="listed twice"):
        ship_ensemble(["a", "a"], "same", models_dir=root)
    with pytest.raises(UserError, match="shipped single models in .*ship it first"):
        ship_ensemble(["a", str(run_dirs[1])], "mixed", models_dir=root)
    with pytest.raises(UserError, match="ensemble members are shipped single models"):
        ship_ensemble(["a", "duo"], "nested", models_dir=root)
    with pytest.raises(UserError, match="is one of the members"):
        ship_ensemble(["a", "b"], "a", models_dir=root)
    assert sorted(path.name for path in root.iterdir()) == ["a", "b", "duo"]


def test_a_missing_or_changed_member_is_one_sentence(shipped_pair, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(shipped_pair, root)
    card = root / "duo" / "card.json"
    (root / "b" / "model.keras").unlink()
    with pytest.raises(UserError, match=r"the ensemble 'duo' needs its member 'b', but .* does not exist"):
        open_runtime(card)
    shutil.copyfile(root / "a" / "model.keras", root / "b" / "model.keras")
    with pytest.raises(UserError, match="the ensemble 'duo' was built from another 'b'"):
        open_runtime(card)
    with pytest.raises(UserError, match="built from another 'b'"):
        load_keras_model(card)
    # On the command line: one line, no traceback.
    from PIL import Image

    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    done = subprocess.run([sys.executable, "-m", "digitlab", "predict", "--model", "duo", str(tmp_path / "blank.png")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "DIGITLAB_MODELS_DIR": str(root)})
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "built from another 'b'" in done.stderr


def test_exporting_an_ensemble_writes_one_standalone_file_outside_the_models_dir(shipped_pair, tmp_path):
    from digitlab.export import default_export_path

    card = shipped_pair / "duo" / "card.json"
    assert default_export_path(card, "onnx") == Path("duo.onnx")
    done = subprocess.run([sys.executable, "-m", "digitlab", "export", "--model", "duo", "--parity-images", "500",
                           "--json"], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "DIGITLAB_MODELS_DIR": str(shipped_pair)})
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["path"] == "duo.onnx" and result["parity_top1_agreement"] == 1.0
    standalone = OnnxRuntime(tmp_path / "duo.onnx")
    assert standalone.source_sha256 == file_sha256(card)
    images = np.random.default_rng(2).random((8, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(standalone.predict(images), open_runtime(card).predict(images), atol=1e-5)
    assert sorted(path.name for path in (shipped_pair / "duo").iterdir()) == ["card.json"]


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
