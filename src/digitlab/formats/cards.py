"""card.json: a shipped model's card, and where shipped models live (bundled, models directory).

Usage:

    models_dir()                               # $DIGITLAB_MODELS_DIR, else the per-user data dir
    bundled_models_dir()                       # the models inside the package (the default reader)
    shipped_models()                           # {"reader": {...card..., "path": ".../model.onnx",
                                               #              "location": "bundled"}, ...}
                                               # (an ensemble's "path" is its card.json: see formats.ensembles)
    card = card_from_run(run_dir, "cnn", models_dir() / "cnn" / "model.keras")
    write_card(folder, card)                   # atomic
    read_card(folder)

A card says how a model was made (command, seed, recipe, what it started
from) and how good it is (validation accuracy, which chooses defaults; test
figures, which are reported), so anyone can reproduce it and check it (the
SHA-256 of its files). `model_card` is the one builder: a shipped run and an
ensemble both go through it.

Shipped models come from two places. The package carries the default reader
model (model.onnx + card.json, package data found with importlib.resources), so
`pip install digitlab` reads digits with no download. The rest of the zoo lives in
the models directory, `$DIGITLAB_MODELS_DIR` or else the per-user data directory
(platformdirs: ~/.local/share/digitlab/models on Linux), filled by
`digitlab models pull`; a model there wins over a bundled one of the same name.
A model folder holds card.json and model.keras, model.onnx or both; nothing is
ever looked up through the source tree.
"""

from __future__ import annotations

import importlib.resources
import os
import platform
from pathlib import Path

import platformdirs

from digitlab.formats import rundir
from digitlab.formats.config import RunConfig
from digitlab.formats.files import file_sha256, read_json, write_json_atomic
from digitlab.formats.metrics import read_metrics
from digitlab.formats.tensorboard import run_training_seconds

CARD = "card.json"
ONNX_MODEL = "model.onnx"
ENSEMBLE = "ensemble"  # the architecture of a card that names members instead of holding a model file
LINE_READER_KIND = "line-reader"  # the "kind" of a line reader's card
MODELS_DIR_ENVIRONMENT = "DIGITLAB_MODELS_DIR"
# Where a shipped model was found (the "location" field shipped_models adds to its card).
BUNDLED, MODELS_DIR = "bundled", "models dir"
AUGMENTATION_FIELDS = ("rotation_degrees", "shift_fraction", "zoom_fraction", "stroke_jitter")
RECIPE_FIELDS = ("epochs", "batch_size", "learning_rate", "lr_schedule", "validation_split", "optimizer", "engine")


def models_dir() -> Path:
    """Where pulled and shipped models live: $DIGITLAB_MODELS_DIR, else the per-user data directory."""
    configured = os.environ.get(MODELS_DIR_ENVIRONMENT)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("digitlab", appauthor=False)) / "models"


def bundled_models_dir() -> Path | None:
    """The folder of models inside the installed package (digitlab/bundled/), or None when absent.

    Installed packages are directories on disk (wheels are unpacked), so the
    resource is a real path that ONNX Runtime can open.
    """
    folder = importlib.resources.files("digitlab") / "bundled"
    return folder if isinstance(folder, Path) and folder.is_dir() else None


def model_file(folder: str | Path) -> Path | None:
    """The model file of a shipped model's folder: model.keras, else model.onnx (ONNX Runtime only)."""
    for name in (rundir.MODEL, ONNX_MODEL):
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    return None


def read_card(folder: str | Path) -> dict:
    return read_json(Path(folder) / CARD, missing_hint="is it a shipped model's folder?")


def write_card(folder: str | Path, card: dict) -> Path:
    path = Path(folder) / CARD
    write_json_atomic(path, card)
    return path


def _models_in(directory: Path | None, location: str) -> dict[str, dict]:
    """name → card (with "path" and "location") for each model folder in `directory`."""
    found: dict[str, dict] = {}
    if directory is None or not directory.is_dir():
        return found
    for card_path in sorted(directory.glob(f"*/{CARD}")):
        if card_path.parent.name.startswith("."):  # hidden: a pull in progress
            continue
        try:
            card = read_card(card_path.parent)
        except Exception:  # noqa: BLE001 - one damaged card must not hide the other models
            continue
        if is_ensemble(card):
            model_path = card_path  # an ensemble is its card: built from its members where it is used
        else:
            model_path = model_file(card_path.parent)
        if model_path is None:
            continue
        card["path"] = str(model_path)
        card["location"] = location
        found[card_path.parent.name] = card
    return found


def shipped_models(directory: str | Path | None = None) -> dict[str, dict]:
    """name → model card, with "path" (its model.keras, else model.onnx) and "location" added.

    Without `directory`: the bundled models, then the models directory's (which
    win on a name clash). With `directory`: only the models in that folder.
    """
    if directory is not None:
        return _models_in(Path(directory), MODELS_DIR)
    return {**_models_in(bundled_models_dir(), BUNDLED), **_models_in(models_dir(), MODELS_DIR)}


def is_line_reader(card: dict) -> bool:
    """A line reader's card (digitlab.export.line_shipping): it reads strips of whole numbers, not digits."""
    return card.get("kind") == LINE_READER_KIND


def is_ensemble(card: dict) -> bool:
    return card.get("architecture") == ENSEMBLE and isinstance(card.get("members"), list)


def model_card(*, name: str, architecture: str, dataset: str, training_command: str, model_path: Path | None,
               measured: dict, calibration: dict, parameters: int, train_seconds: float | None,
               data_sha256: dict, seed: int | None = None, recipe: dict | None = None,
               augmentation: dict | None = None, **more) -> dict:
    """The card of a model file: how it was made, what it measured, its checksum.

    `measured` holds metrics.json's spelling: validation_accuracy (and _errors,
    n_validation, validation_loss where known), test_accuracy, test_loss,
    error_count, n_test, per_class, confused_pairs. `more` adds fields in order
    (init_from, extra_data, members, ...). model_path None (an ensemble, which
    is its card): no file_bytes and sha256 of its own; its members' are in `members`.
    """
    validation = {key: measured[key] for key in ("validation_accuracy", "validation_errors", "n_validation",
                                                 "validation_loss") if measured.get(key) is not None}
    card = {
        "name": name, "architecture": architecture, "dataset": dataset, "training_command": training_command,
        "seed": seed, "recipe": recipe, "augmentation": augmentation,
        **more,
        **validation,
        "test_accuracy": measured["test_accuracy"],
        "test_loss": measured["test_loss"],
        "error_count": measured["error_count"],
        "n_test": measured["n_test"],
        "per_class": measured["per_class"],
        "confused_pairs": measured["confused_pairs"][:5],
        "parameters": int(parameters),
        # Confidences served by the Recognizer are softmax(logits / temperature).
        "temperature": calibration["temperature"],
        "ece_calibrated": calibration["ece_calibrated"],
        **({} if model_path is None else {"file_bytes": Path(model_path).stat().st_size,
                                          "sha256": file_sha256(model_path)}),
        "train_seconds": train_seconds,
        "machine": {"cpu_count": os.cpu_count(), "machine": platform.machine()},
        "data_sha256": data_sha256,
    }
    return card


def with_onnx(card: dict, exported) -> dict:
    """Record the ONNX twin (a digitlab.export ExportResult) that predict and serve run."""
    card["onnx"] = {
        "file": Path(exported.path).name, "sha256": exported.sha256, "file_bytes": exported.file_bytes,
        "parity_images": exported.parity_images, "parity_max_abs_diff": exported.parity_max_abs_diff,
    }
    return card


def _extra_data(config: dict, metrics: dict) -> dict | None:
    """What --extra-data added to training (None when nothing was)."""
    kinds = config.get("extra_data") or []
    if not kinds:
        return None
    return {"kinds": kinds, "photos": config["extra_photos"] if {"photos", "small"} & set(kinds) else None,
            "digits": metrics.get("extra_training_digits"),
            # Seconds spent making them (not in train_seconds); near 0 when they came from the cache.
            "seconds": metrics["timings_seconds"].get("extra_data")}


def _validation_figures(metrics: dict) -> dict:
    """metrics.json's validation figures; for runs made before they were recorded, the last epoch's
    val_accuracy (Keras and the fast engine measure it with the final weights)."""
    if metrics.get("validation_accuracy") is not None:
        return {}
    last = (metrics.get("final_history") or {}).get("val_accuracy")
    return {} if last is None else {"validation_accuracy": last}


def card_from_run(run_dir: str | Path, name: str, model_path: Path) -> dict:
    """The model card of a finished run (its config.json and metrics.json, condensed)."""
    run_dir = Path(run_dir)
    config = RunConfig.load(run_dir / rundir.CONFIG).to_dict()
    metrics = read_metrics(run_dir)
    return model_card(
        name=name, architecture=config["model"], dataset=config["dataset"], training_command=config["command"],
        seed=config["seed"], recipe={key: config[key] for key in RECIPE_FIELDS},
        augmentation={field: config[field] for field in AUGMENTATION_FIELDS} if config.get("augment") else None,
        # Fine-tuning: the model whose weights training started from (None: from scratch).
        init_from=metrics.get("init_from"), extra_data=_extra_data(config, metrics),
        model_path=model_path, measured={**metrics, **_validation_figures(metrics)},
        calibration=metrics["calibration"], parameters=metrics["parameters"],
        train_seconds=run_training_seconds(run_dir, metrics),  # across --resume
        data_sha256=metrics["data"]["sha256"], versions=metrics["versions"], run=run_dir.name,
    )
