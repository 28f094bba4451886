"""`digitlab ship` turns a finished full-size run into models/<name>/ with a complete card."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from digitlab.cli import main
from digitlab.errors import UserError
from digitlab.formats import file_sha256, resolve_model_path, shipped_models
from digitlab.export import ship_run


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    assert main(["train", "--model", "mlp", "--tiny", "--epochs", "1", "--quiet", "--runs-dir", str(runs_dir)]) == 0
    (run_dir,) = list(runs_dir.iterdir())
    return run_dir


def test_subset_runs_are_refused(finished_run, tmp_path):
    with pytest.raises(UserError, match="subset"):
        ship_run(finished_run, "mlp", models_dir=tmp_path)


def test_ship_writes_model_and_card(finished_run, tmp_path):
    full_run = tmp_path / "run"
    shutil.copytree(finished_run, full_run)
    config = json.loads((full_run / "config.json").read_text())
    config["limit_train"] = config["limit_test"] = None  # pretend it was a full-size run
    (full_run / "config.json").write_text(json.dumps(config))

    target = ship_run(full_run, "demo", models_dir=tmp_path / "models")
    card = json.loads((target / "card.json").read_text())
    assert card["sha256"] == file_sha256(target / "model.keras")
    assert card["parameters"] == 109_386 and card["architecture"] == "mlp"
    assert card["training_command"].startswith("digitlab train") and card["seed"] == 42
    assert card["augmentation"] is None
    assert len(card["data_sha256"]) == 4
    assert card["onnx"]["sha256"] == file_sha256(target / "model.onnx")
    assert card["onnx"]["parity_images"] == 10_000 and card["onnx"]["parity_max_abs_diff"] < 1e-4

    # Shipped without the optimizer's state: the same weights in about a third of the run's file.
    from digitlab.models import load_keras_model

    assert (target / "model.keras").stat().st_size < 0.5 * (full_run / "model.keras").stat().st_size
    shipped, trained = load_keras_model(target / "model.keras"), load_keras_model(full_run / "model.keras")
    assert all((a == b).all() for a, b in zip(shipped.get_weights(), trained.get_weights(), strict=True))
    with zipfile.ZipFile(target / "model.keras") as archive:
        assert not json.loads(archive.read("config.json")).get("compile_config")

    found = shipped_models(tmp_path / "models")
    assert set(found) == {"demo"} and found["demo"]["test_accuracy"] == card["test_accuracy"]


def test_unknown_model_names_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="no shipped model or finished run named 'nope'"):
        resolve_model_path("nope", runs_dir=tmp_path)
