"""Ship a model under the models directory with its card and ONNX twin: a finished run, or an ensemble.

Usage:

    digitlab ship runs/20261130T110417Z-cnn --name cnn
    ship_run(Path("runs/..."), "cnn")                    # → models/cnn/model.keras, model.onnx, card.json
    digitlab ensemble deotte deotte-s43 vgg --name ensemble
    ship_ensemble(["deotte", "deotte-s43", "vgg"], "ensemble")

The card (digitlab.formats.cards) says how the model was made and how good it
is, so anyone can reproduce it (the exact command and seed) and check it (the
SHA-256 of the file, the test accuracy the test suite re-measures). The ONNX
twin is what predict and serve run; it is checked for parity on the test set.
An ensemble is measured here, with its calibration temperature fitted on the
validation split that no member trained on (members must share that split).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from digitlab.data import load_dataset, validation_images
from digitlab.errors import UserError
from digitlab.evaluate import calibration_metrics, predict_probabilities, score_model, validation_metrics
from digitlab.export.exporter import export_model
from digitlab.formats import (
    CARD,
    RunConfig,
    atomic_path,
    card_from_run,
    file_sha256,
    model_card,
    models_dir as default_models_dir,
    resolve_model_path,
    rundir,
    sidecar_value,
    with_onnx,
    write_card,
)
from digitlab.models import build_ensemble, import_keras, load_keras_model
from digitlab.recognize import ONNX_FILE


def ship_run(run_dir: Path, name: str, models_dir: Path | None = None) -> Path:
    """Save the run's model (without optimizer state) as models_dir/name/model.keras, export model.onnx beside it,
    write its card; return the folder."""
    run_dir = Path(run_dir)
    source = run_dir / rundir.MODEL
    if not source.is_file() or not (run_dir / rundir.METRICS).is_file():
        raise UserError(f"{run_dir} has no {rundir.MODEL} and {rundir.METRICS}; ship a finished run.")
    if RunConfig.load(run_dir / rundir.CONFIG).limit_train:
        raise UserError(f"{run_dir} was trained on a subset (--limit-train/--tiny); ship full-size runs only.")
    target = Path(models_dir or default_models_dir()) / name
    target.mkdir(parents=True, exist_ok=True)
    save_without_optimizer(source, target / rundir.MODEL)
    card = card_from_run(run_dir, name, target / rundir.MODEL)
    exported = export_model(target / rundir.MODEL, "onnx", target / ONNX_FILE)
    write_card(target, with_onnx(card, exported))
    return target


def save_without_optimizer(source: Path, target: Path) -> None:
    """Write the model at `source` to `target` without its optimizer state; the weights are checked bit-identical.

    A run's model.keras keeps the Adam state (two moments per weight: about two thirds of
    the file), which only continuing that very training would use; `--init-from` starts a
    new optimizer, and reading digits needs the weights alone.
    """
    model = load_keras_model(source, compile=False)  # architecture and weights, no optimizer
    with atomic_path(target) as partial:
        model.save(partial)
        saved = load_keras_model(partial, compile=False)
        same = len(saved.weights) == len(model.weights) and all(
            np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(saved.weights, model.weights))
        if not same:
            raise UserError(f"{target} would not hold the same weights as {source}; nothing was written.")


def _member_record(spec: str, model_path: Path) -> dict:
    """What the card says about one member: where it came from and how it was made."""
    return {
        "model": spec,
        "sha256": file_sha256(model_path),
        "architecture": sidecar_value(model_path, (CARD, "architecture"), (rundir.CONFIG, "model")),
        "training_command": sidecar_value(model_path, (CARD, "training_command"), (rundir.CONFIG, "command")),
        "validation_accuracy": sidecar_value(model_path, (CARD, "validation_accuracy"),
                                             (rundir.METRICS, "validation_accuracy")),
        "test_accuracy": sidecar_value(model_path, (CARD, "test_accuracy"), (rundir.METRICS, "test_accuracy")),
        "validation_split": sidecar_value(
            model_path, (CARD, "recipe", "validation_split"), (rundir.CONFIG, "validation_split")
        ),
        "train_seconds": sidecar_value(
            model_path, (CARD, "train_seconds"), (rundir.METRICS, "train_seconds"),
            (rundir.METRICS, "timings_seconds", "train")
        ),
        "dataset": sidecar_value(model_path, (CARD, "dataset"), (rundir.CONFIG, "dataset"), default="mnist"),
        "data_sha256": sidecar_value(model_path, (CARD, "data_sha256"), (rundir.METRICS, "data", "sha256")),
    }


def ship_ensemble(member_specs: list[str], name: str, runs_dir: str = "runs", models_dir: Path | None = None) -> Path:
    """Build, measure and ship an ensemble of trained models as models_dir/name/ (model.keras, model.onnx, card)."""
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
    x_validation, y_validation = validation_images(dataset.x_train, dataset.y_train, split)
    validation_probabilities = predict_probabilities(model, x_validation)
    calibration = calibration_metrics(validation_probabilities, y_validation, test_probabilities, dataset.y_test)

    target = Path(models_dir or default_models_dir()) / name
    target.mkdir(parents=True, exist_ok=True)
    model_path = target / rundir.MODEL
    with atomic_path(model_path) as partial:
        model.save(partial)
    measured = {
        **validation_metrics(y_validation, validation_probabilities),
        "test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"], "error_count": metrics["error_count"],
        "n_test": metrics["n"], "per_class": metrics["per_class"], "confused_pairs": metrics["confused_pairs"],
    }
    card = model_card(
        name=name, architecture="ensemble", dataset=dataset.name,
        training_command="digitlab ensemble " + " ".join(member_specs) + f" --name {name}",
        members=records,
        seed=None,  # the members' cards hold their seeds and commands
        recipe={"combine": "mean of the members' probabilities", "validation_split": split},
        model_path=model_path, measured=measured, calibration=calibration, parameters=model.count_params(),
        # Training time of an ensemble is its members' training; building it takes seconds.
        train_seconds=_sum_or_none(record["train_seconds"] for record in records),
        build_seconds=round(time.perf_counter() - started, 1),
        data_sha256=dataset.sha256,
    )
    exported = export_model(model_path, "onnx", target / ONNX_FILE)
    write_card(target, with_onnx(card, exported))
    return target


def _sum_or_none(values) -> float | None:
    values = list(values)
    return None if any(value is None for value in values) else float(np.sum(values))
