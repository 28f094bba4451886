"""Every shipped model under models/ is intact and as good as its card says (full 10k test set)."""

from __future__ import annotations

import pytest

from digitlab.formats import file_sha256, shipped_models
from digitlab.models import load_keras_model
from digitlab.recognize import OnnxRuntime
from digitlab.evaluate import score_model

SHIPPED = shipped_models()


def test_card_fields_are_complete():
    required = {"training_command", "seed", "data_sha256", "test_accuracy", "per_class", "parameters",
                "file_bytes", "train_seconds", "sha256", "augmentation", "dataset", "architecture", "temperature"}
    for name, card in SHIPPED.items():
        assert required <= set(card), (name, required - set(card))
        # An ensemble is built from trained members; each member's card says how it was trained.
        commands = [member["training_command"] for member in card.get("members", [])] or [card["training_command"]]
        assert all(command.startswith("digitlab train") for command in commands), name


def test_fine_tuned_models_start_from_a_shipped_model_as_it_is_now():
    """`--init-from NAME` in a card's command is reproducible only if NAME still holds the same weights."""
    tuned = {name: card for name, card in SHIPPED.items() if card.get("init_from")}
    for name, card in tuned.items():
        start = card["init_from"]
        assert f"--init-from {start['model']}" in card["training_command"], name
        assert start["model"] in SHIPPED, (name, start["model"])
        assert SHIPPED[start["model"]]["sha256"] == start["sha256"], name
        assert card["extra_data"]["digits"] > 0, name


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_loads_and_reaches_its_card_accuracy(name):
    from digitlab.data import load_dataset

    card = SHIPPED[name]
    assert file_sha256(card["path"]) == card["sha256"], "model.keras differs from the one the card describes"
    dataset = load_dataset(card["dataset"])
    assert dataset.sha256 == card["data_sha256"]
    model = load_keras_model(card["path"])
    assert model.count_params() == card["parameters"]
    _, metrics = score_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
    # Identical on the machine that trained it; another CPU may flip a borderline image or two.
    assert metrics["error_count"] <= card["error_count"] + 2, (metrics["accuracy"], card["test_accuracy"])


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_onnx_twin_is_the_exported_model_and_as_accurate(name):
    """predict and serve run model.onnx: it must come from this model.keras and score as the card says."""
    from pathlib import Path

    from digitlab.data import load_dataset

    card = SHIPPED[name]
    onnx_path = Path(card["path"]).with_name(card["onnx"]["file"])
    assert file_sha256(onnx_path) == card["onnx"]["sha256"]
    runtime = OnnxRuntime(onnx_path)
    assert runtime.source_sha256 == card["sha256"], "model.onnx was exported from another model.keras"
    dataset = load_dataset(card["dataset"])
    predicted = runtime.predict(dataset.x_test.astype("float32") / 255.0).argmax(axis=1)
    assert int((predicted != dataset.y_test).sum()) <= card["error_count"] + 2
