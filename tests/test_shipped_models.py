"""Every shipped model under models/ is intact and as good as its card says (full 10k test set)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from digitlab.formats import file_sha256, is_ensemble, is_line_reader, shipped_models
from digitlab.models import load_keras_model
from digitlab.recognize import OnnxRuntime, open_runtime
from digitlab.evaluate import score_model

# The digit classifiers; the line reader (it reads strips) has tests of its own (test_line_reader.py).
SHIPPED = {name: card for name, card in shipped_models().items() if not is_line_reader(card)}
SINGLES = sorted(name for name, card in SHIPPED.items() if not is_ensemble(card))
ENSEMBLES = sorted(name for name, card in SHIPPED.items() if is_ensemble(card))


def test_card_fields_are_complete():
    required = {"training_command", "seed", "data_sha256", "test_accuracy", "per_class", "parameters",
                "train_seconds", "augmentation", "dataset", "architecture", "temperature"}
    for name, card in SHIPPED.items():
        # A single model's card holds its file's checksum; an ensemble's, its members'.
        files = {"members", "runtime_parity"} if is_ensemble(card) else {"file_bytes", "sha256", "onnx"}
        assert required | files <= set(card), (name, (required | files) - set(card))
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


def test_an_ensemble_is_stored_once_as_its_card_naming_shipped_members():
    for name in ENSEMBLES:
        card = SHIPPED[name]
        folder = Path(card["path"]).parent
        assert sorted(path.name for path in folder.iterdir()) == ["card.json"], name
        for member in card["members"]:
            assert member["model"] in SINGLES, (name, member["model"])
            assert SHIPPED[member["model"]]["sha256"] == member["sha256"], (name, member["model"])


def test_shipped_keras_files_hold_no_optimizer_state():
    for name in SINGLES:
        with zipfile.ZipFile(SHIPPED[name]["path"]) as archive:
            assert not json.loads(archive.read("config.json")).get("compile_config"), name


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_loads_and_reaches_its_card_accuracy(name):
    from digitlab.data import load_dataset

    card = SHIPPED[name]
    if not is_ensemble(card):  # an ensemble's members are checked against its card as it is built
        assert file_sha256(card["path"]) == card["sha256"], "model.keras differs from the one the card describes"
    dataset = load_dataset(card["dataset"])
    assert dataset.sha256 == card["data_sha256"]
    model = load_keras_model(card["path"])
    assert model.count_params() == card["parameters"]
    _, metrics = score_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
    # Identical on the machine that trained it; another CPU may flip a borderline image or two.
    assert metrics["error_count"] <= card["error_count"] + 2, (metrics["accuracy"], card["test_accuracy"])


@pytest.mark.parametrize("name", SINGLES)
def test_shipped_onnx_twin_is_the_exported_model_and_as_accurate(name):
    """predict and serve run model.onnx: it must come from this model.keras and score as the card says."""
    from digitlab.data import load_dataset

    card = SHIPPED[name]
    onnx_path = Path(card["path"]).with_name(card["onnx"]["file"])
    assert file_sha256(onnx_path) == card["onnx"]["sha256"]
    runtime = OnnxRuntime(onnx_path)
    assert runtime.source_sha256 == card["sha256"], "model.onnx was exported from another model.keras"
    dataset = load_dataset(card["dataset"])
    predicted = runtime.predict(dataset.x_test.astype("float32") / 255.0).argmax(axis=1)
    assert int((predicted != dataset.y_test).sum()) <= card["error_count"] + 2


@pytest.mark.parametrize("name", ENSEMBLES)
def test_shipped_ensemble_runs_on_its_members_onnx_twins_and_is_as_accurate(name):
    """predict and serve run an ensemble as the mean of its members' model.onnx."""
    from digitlab.data import load_dataset

    card = SHIPPED[name]
    runtime = open_runtime(card["path"])
    assert runtime.name == "onnx" and runtime.parameters == card["parameters"]
    dataset = load_dataset(card["dataset"])
    predicted = runtime.predict(dataset.x_test.astype("float32") / 255.0).argmax(axis=1)
    assert int((predicted != dataset.y_test).sum()) <= card["error_count"] + 2
