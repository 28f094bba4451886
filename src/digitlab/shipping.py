"""Ship a finished run as a named model under models/<name>/ with a model card.

Usage:

    digitlab ship runs/20261130T110417Z-cnn --name cnn
    ship_run(Path("runs/..."), "cnn")   # → models/cnn/model.keras + models/cnn/card.json

The card says how the model was made and how good it is, so anyone can
reproduce it (the exact command and seed) and check it (the SHA-256 of the
file, the test accuracy the test suite re-measures).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path

from digitlab import rundir
from digitlab.errors import UserError
from digitlab.export import export_model
from digitlab.modelfiles import SHIPPED_MODELS_DIR, file_sha256
from digitlab.runtimes import ONNX_FILE
from digitlab.training_time import run_training_seconds

AUGMENTATION_FIELDS = ("rotation_degrees", "shift_fraction", "zoom_fraction", "stroke_jitter")


def _extra_data(config: dict, metrics: dict) -> dict | None:
    """What --extra-data added to training (None when nothing was)."""
    kinds = config.get("extra_data") or []
    if not kinds:
        return None
    return {"kinds": kinds, "photos": config["extra_photos"] if {"photos", "small"} & set(kinds) else None,
            "digits": metrics.get("extra_training_digits"),
            # Seconds spent making them (not in train_seconds); near 0 when they came from the cache.
            "seconds": metrics["timings_seconds"].get("extra_data")}


def build_card(run_dir: Path, name: str, model_path: Path) -> dict:
    """The model card of a finished run (its config and metrics, condensed)."""
    config = json.loads((run_dir / rundir.CONFIG).read_text(encoding="utf-8"))
    metrics = json.loads((run_dir / rundir.METRICS).read_text(encoding="utf-8"))
    augmentation = {field: config[field] for field in AUGMENTATION_FIELDS} if config.get("augment") else None
    return {
        "name": name,
        "architecture": config["model"],
        "dataset": config["dataset"],
        "training_command": config["command"],
        "seed": config["seed"],
        "recipe": {
            key: config[key]
            for key in ("epochs", "batch_size", "learning_rate", "lr_schedule", "validation_split", "optimizer", "engine")
            if key in config
        },
        "augmentation": augmentation,
        # Fine-tuning: the model whose weights training started from (None: from scratch).
        "init_from": metrics.get("init_from"),
        "extra_data": _extra_data(config, metrics),
        "test_accuracy": metrics["test_accuracy"],
        "test_loss": metrics["test_loss"],
        "error_count": metrics["error_count"],
        "n_test": metrics["n_test"],
        "per_class": metrics["per_class"],
        "confused_pairs": metrics["confused_pairs"][:5],
        "parameters": metrics["parameters"],
        # Confidences served by the Recognizer are softmax(logits / temperature).
        "temperature": metrics["calibration"]["temperature"],
        "ece_calibrated": metrics["calibration"]["ece_calibrated"],
        "file_bytes": model_path.stat().st_size,
        "sha256": file_sha256(model_path),
        "train_seconds": run_training_seconds(run_dir, metrics),  # across --resume
        "machine": {"cpu_count": os.cpu_count(), "machine": platform.machine()},
        "versions": metrics["versions"],
        "data_sha256": metrics["data"]["sha256"],
        "run": run_dir.name,
    }


def ship_run(run_dir: Path, name: str, models_dir: Path = SHIPPED_MODELS_DIR) -> Path:
    """Copy the run's model into models_dir/name/, export model.onnx beside it, write its card; return the folder."""
    run_dir = Path(run_dir)
    source = run_dir / rundir.MODEL
    if not source.is_file() or not (run_dir / rundir.METRICS).is_file():
        raise UserError(f"{run_dir} has no {rundir.MODEL} and {rundir.METRICS}; ship a finished run.")
    if json.loads((run_dir / rundir.CONFIG).read_text(encoding="utf-8")).get("limit_train"):
        raise UserError(f"{run_dir} was trained on a subset (--limit-train/--tiny); ship full-size runs only.")
    target = Path(models_dir) / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / rundir.MODEL)
    card = build_card(run_dir, name, target / rundir.MODEL)
    # The ONNX twin is what predict and serve run (digitlab.runtimes); checked for parity on the test set.
    exported = export_model(target / rundir.MODEL, "onnx", target / ONNX_FILE)
    card["onnx"] = {
        "file": ONNX_FILE, "sha256": exported.sha256, "file_bytes": exported.file_bytes,
        "parity_images": exported.parity_images, "parity_max_abs_diff": exported.parity_max_abs_diff,
    }
    (target / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return target
