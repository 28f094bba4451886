"""Ship a model under the models directory with its card: a finished run (with its ONNX twin), or an ensemble.

Usage:

    digitlab ship runs/20261130T110417Z-cnn --name cnn
    ship_run(Path("runs/..."), "cnn")                    # → models/cnn/model.keras, model.onnx, card.json
    digitlab ensemble deotte deotte-s43 vgg --name ensemble
    ship_ensemble(["deotte", "deotte-s43", "vgg"], "ensemble")   # → models/ensemble/card.json

The card (digitlab.formats.cards) says how the model was made and how good it
is, so anyone can reproduce it (the exact command and seed) and check it (the
SHA-256 of the file, the test accuracy the test suite re-measures). A shipped
model.keras holds the weights without the optimizer's state. The ONNX twin is
what predict and serve run; it is checked for parity on the test set.

An ensemble is stored once, as its card: its members (shipped models in the
same models directory) by name and SHA-256, built into one model where it is
used (digitlab.formats.ensembles). It is measured here, with its calibration
temperature fitted on the validation split that no member trained on (members
must share that split), and the mean of the members' ONNX twins is checked
against the Keras ensemble on the test set.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from digitlab.data import load_dataset, prepare_images, validation_images
from digitlab.errors import UserError
from digitlab.evaluate import calibration_metrics, predict_probabilities, score_model, validation_metrics
from digitlab.export.exporter import PARITY_TOLERANCE, export_model
from digitlab.formats import (
    CARD,
    ENSEMBLE,
    RunConfig,
    atomic_path,
    card_from_run,
    file_sha256,
    is_ensemble,
    model_card,
    models_dir as default_models_dir,
    rundir,
    shipped_models,
    sidecar_value,
    staged_files,
    with_onnx,
    write_card,
)
from digitlab.models import build_ensemble, import_keras, load_keras_model
from digitlab.recognize import ONNX_FILE, open_runtime


def ship_run(run_dir: Path, name: str, models_dir: Path | None = None) -> Path:
    """Save the run's model (without optimizer state) as models_dir/name/model.keras, export model.onnx beside it,
    write its card; return the folder."""
    run_dir = Path(run_dir)
    source = run_dir / rundir.MODEL
    rundir.require_finished(run_dir, "ship a model")
    if RunConfig.load(run_dir / rundir.CONFIG).limit_train:
        raise UserError(f"{run_dir} was trained on a subset (--limit-train/--tiny); ship full-size runs only.")
    target = Path(models_dir or default_models_dir()) / name
    # All three files are made in a hidden staging folder beside the target and renamed in
    # together, the card last: a full disk or a failed export leaves an earlier copy as it was.
    with staged_files(target, last=(CARD,)) as staging:
        save_without_optimizer(source, staging / rundir.MODEL)
        card = card_from_run(run_dir, name, staging / rundir.MODEL)
        exported = export_model(staging / rundir.MODEL, "onnx", staging / ONNX_FILE)
        write_card(staging, with_onnx(card, exported))
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


def ship_ensemble(member_specs: list[str], name: str, models_dir: Path | None = None) -> Path:
    """Build and measure an ensemble of shipped models; write models_dir/name/card.json (its only file).

    The card names the members (shipped single models in models_dir) and their
    SHA-256; digitlab.recognize and digitlab.models build the ensemble from them
    where it is used.
    """
    import_keras()
    started = time.perf_counter()
    root = Path(models_dir or default_models_dir())
    target = root / name
    paths = _shipped_members(member_specs, name, root)
    records = [_member_record(spec, path) for spec, path in zip(member_specs, paths)]
    datasets = {record["dataset"] for record in records}
    splits = {record["validation_split"] for record in records}
    if len(datasets) != 1 or len(splits) != 1 or None in splits:
        raise UserError("ensemble members must be trained on one dataset with the same validation split.")
    dataset = load_dataset(datasets.pop())
    split = splits.pop()
    model = build_ensemble([load_keras_model(path, compile=False) for path in paths], name=name)

    test_probabilities, metrics = score_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
    # The same last training images Keras' validation_split held out from every member.
    x_validation, y_validation = validation_images(dataset.x_train, dataset.y_train, split)
    validation_probabilities = predict_probabilities(model, x_validation)
    calibration = calibration_metrics(validation_probabilities, y_validation, test_probabilities, dataset.y_test)
    parity = _runtime_parity(paths, dataset.x_test, test_probabilities, name)
    measured = {
        **validation_metrics(y_validation, validation_probabilities),
        "test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"], "error_count": metrics["error_count"],
        "n_test": metrics["n"], "per_class": metrics["per_class"], "confused_pairs": metrics["confused_pairs"],
    }
    card = model_card(
        name=name, architecture=ENSEMBLE, dataset=dataset.name,
        training_command="digitlab ensemble " + " ".join(member_specs) + f" --name {name}",
        members=records,
        seed=None,  # the members' cards hold their seeds and commands
        recipe={"combine": "mean of the members' probabilities", "validation_split": split},
        model_path=None,  # stored as this card; built from the members where it is used
        measured=measured, calibration=calibration, parameters=model.count_params(),
        # Training time of an ensemble is its members' training; building it takes seconds.
        train_seconds=_sum_or_none(record["train_seconds"] for record in records),
        build_seconds=round(time.perf_counter() - started, 1),
        data_sha256=dataset.sha256,
        runtime_parity=parity,
    )
    target.mkdir(parents=True, exist_ok=True)
    write_card(target, card)
    # An ensemble shipped before cards were enough kept copies of its members here.
    for leftover in (target / rundir.MODEL, target / ONNX_FILE):
        leftover.unlink(missing_ok=True)
    return target


def _shipped_members(member_specs: list[str], name: str, root: Path) -> list[Path]:
    """The members' model.keras paths: shipped single models in `root`, where the ensemble is stored beside them."""
    shipped = shipped_models(root)
    if len(set(member_specs)) != len(member_specs):
        raise UserError("the same model is listed twice; an ensemble needs different members.")
    if name in member_specs:
        raise UserError(f"--name {name} is one of the members; give the ensemble its own name.")
    if name in shipped and not is_ensemble(shipped[name]):
        raise UserError(f"{root / name} holds the shipped model {name}; give the ensemble another --name.")
    for spec in member_specs:
        if spec not in shipped or is_ensemble(shipped[spec]):
            raise UserError(f"ensemble members are shipped single models in {root}, and {spec!r} is not one; "
                            f"ship it first with `digitlab ship RUN --name NAME` (an ensemble is stored as a "
                            "card naming its members).")
    return [Path(shipped[spec]["path"]) for spec in member_specs]


def _runtime_parity(paths: list[Path], test_images: np.ndarray, expected: np.ndarray, name: str) -> dict:
    """How the mean of the members' ONNX twins (what predict and serve run) agrees with the Keras ensemble."""
    images = prepare_images(test_images)
    actual = np.mean([open_runtime(path, "onnx").predict(images) for path in paths], axis=0)
    max_diff = float(np.max(np.abs(actual - expected)))
    agreement = float(np.mean(actual.argmax(axis=1) == expected.argmax(axis=1)))
    if agreement < 1.0 or max_diff > PARITY_TOLERANCE:
        raise UserError(f"the members' ONNX files do not answer like ensemble {name}'s Keras members (top class "
                        f"agrees on {agreement:.2%}, probabilities differ by up to {max_diff:.2g}); export the "
                        "members again; nothing was written.")
    return {"runtime": "onnx", "images": len(images), "max_abs_diff": max_diff, "top1_agreement": agreement}


def _sum_or_none(values) -> float | None:
    values = list(values)
    return None if any(value is None for value in values) else float(np.sum(values))
