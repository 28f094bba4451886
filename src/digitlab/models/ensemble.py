"""Ensembles: several trained models in one `.keras` file that averages their probabilities.

Usage:

    digitlab ensemble deotte deotte-s2 vgg --name ensemble     # → models/ensemble/
    model = build_ensemble([model_a, model_b, model_c])         # one keras.Model

An ensemble is an ordinary Keras model (the members are nested models, their
softmax outputs go through an Average layer), so everything that takes a model
takes it: `digitlab evaluate --model ensemble`, predict, serve, export to ONNX.
Members make different mistakes; averaging their probabilities corrects many
of them (An et al. 2020: simple-CNN ensembles reach 99.87–99.91 % on MNIST).

`ship_ensemble` measures the ensemble on the test set and fits its calibration
temperature on the validation split: the last 10 % of the training images,
which no member trained on (members must use the same validation split).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from digitlab import rundir
from digitlab.errors import UserError


def build_ensemble(members: list, name: str = "ensemble"):
    """One keras.Model whose output is the mean of the members' class probabilities."""
    import keras

    if len(members) < 2:
        raise UserError("an ensemble needs at least two members.")
    input_shapes = {tuple(member.input_shape[1:]) for member in members}
    if len(input_shapes) != 1:
        raise UserError(f"ensemble members take different inputs: {sorted(input_shapes)}.")
    inputs = keras.Input(shape=input_shapes.pop())
    outputs = []
    for index, member in enumerate(members, start=1):
        member.name = f"member_{index}_{member.name}"  # nested models need unique names to save
        outputs.append(member(inputs))
    return keras.Model(inputs, keras.layers.Average()(outputs), name=name)


def _member_record(spec: str, model_path: Path) -> dict:
    """What the card says about one member: where it came from and how it was made."""
    from digitlab.modelfiles import file_sha256, sidecar_value

    return {
        "model": spec,
        "sha256": file_sha256(model_path),
        "architecture": sidecar_value(model_path, ("card.json", "architecture"), (rundir.CONFIG, "model")),
        "training_command": sidecar_value(model_path, ("card.json", "training_command"), (rundir.CONFIG, "command")),
        "test_accuracy": sidecar_value(model_path, ("card.json", "test_accuracy"), (rundir.METRICS, "test_accuracy")),
        "validation_split": sidecar_value(
            model_path, ("card.json", "recipe", "validation_split"), (rundir.CONFIG, "validation_split")
        ),
        "train_seconds": sidecar_value(
            model_path, ("card.json", "train_seconds"), (rundir.METRICS, "train_seconds"),
            (rundir.METRICS, "timings_seconds", "train")
        ),
        "dataset": sidecar_value(model_path, ("card.json", "dataset"), (rundir.CONFIG, "dataset"), default="mnist"),
        "data_sha256": sidecar_value(model_path, ("card.json", "data_sha256"), (rundir.METRICS, "data", "sha256")),
    }


def ship_ensemble(member_specs: list[str], name: str, runs_dir: str = "runs", models_dir: Path | None = None) -> Path:
    """Build, measure and ship an ensemble of trained models as models_dir/name/ (model.keras, model.onnx, card)."""
    from digitlab.backend import import_keras
    from digitlab.config import RunConfig, validation_size
    from digitlab.data import load_dataset
    from digitlab.export import export_model
    from digitlab.modelfiles import SHIPPED_MODELS_DIR, file_sha256, load_keras_model, resolve_model_path
    from digitlab.pipeline import calibration_metrics
    from digitlab.runtimes import ONNX_FILE
    from digitlab.scoring import predict_probabilities, score_model

    import_keras()
    started = time.perf_counter()
    paths = [resolve_model_path(spec, runs_dir) for spec in member_specs]
    if len(set(path.resolve() for path in paths)) != len(paths):
        raise UserError("the same model is listed twice; an ensemble needs different members.")
    records = [_member_record(spec, path) for spec, path in zip(member_specs, paths)]
    datasets = {record["dataset"] for record in records}
    splits = {record["validation_split"] for record in records}
    if len(datasets) != 1 or len(splits) != 1 or None in splits:
        raise UserError("ensemble members must be trained on one dataset with the same validation split.")
    dataset = load_dataset(datasets.pop())
    split = splits.pop()
    model = build_ensemble([load_keras_model(path) for path in paths], name=name)

    test_probabilities, metrics = score_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
    # The same last training images Keras' validation_split held out from every member.
    n_validation = validation_size(len(dataset.x_train), RunConfig(validation_split=split))
    validation_probabilities = predict_probabilities(model, dataset.x_train[-n_validation:])
    calibration = calibration_metrics(
        validation_probabilities, dataset.y_train[-n_validation:], test_probabilities, dataset.y_test
    )

    target = Path(models_dir or SHIPPED_MODELS_DIR) / name
    target.mkdir(parents=True, exist_ok=True)
    model_path = target / rundir.MODEL
    model.save(model_path)
    exported = export_model(model_path, "onnx", target / ONNX_FILE)
    card = {
        "name": name,
        "architecture": "ensemble",
        "dataset": dataset.name,
        "training_command": "digitlab ensemble " + " ".join(member_specs) + f" --name {name}",
        "members": records,
        "seed": None,  # the members' cards hold their seeds and commands
        "recipe": {"combine": "mean of the members' probabilities", "validation_split": split},
        "augmentation": None,
        "test_accuracy": metrics["accuracy"],
        "test_loss": metrics["loss"],
        "error_count": metrics["error_count"],
        "n_test": metrics["n"],
        "per_class": metrics["per_class"],
        "confused_pairs": metrics["confused_pairs"][:5],
        "parameters": int(model.count_params()),
        "temperature": calibration["temperature"],
        "ece_calibrated": calibration["ece_calibrated"],
        "file_bytes": model_path.stat().st_size,
        "sha256": file_sha256(model_path),
        "onnx": {
            "file": ONNX_FILE, "sha256": exported.sha256, "file_bytes": exported.file_bytes,
            "parity_images": exported.parity_images, "parity_max_abs_diff": exported.parity_max_abs_diff,
        },
        # Training time of an ensemble is its members' training; building it takes seconds.
        "train_seconds": _sum_or_none(record["train_seconds"] for record in records),
        "build_seconds": round(time.perf_counter() - started, 1),
        "data_sha256": dataset.sha256,
    }
    (target / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return target


def _sum_or_none(values) -> float | None:
    values = list(values)
    return None if any(value is None for value in values) else float(np.sum(values))
