"""Find trained models by name: shipped models, run directories and model files.

Usage:

    path = resolve_model_path(None)          # the default shipped model, else the newest run
    path = resolve_model_path(None, purpose="images")   # the default for reading photos and scans
    path = resolve_model_path("mlp")         # shipped model "mlp", else the newest mlp run
    path = resolve_model_path("runs/20261130T104512Z-mlp")   # a run dir or a .keras file
    path = resolve_model_path("reader")      # model.onnx when its folder has no model.keras (the bundled reader)
    path = resolve_model_path("ensemble")    # a shipped ensemble: its card.json (formats.ensembles)
    model_temperature(path)                  # its calibration temperature (card or metrics.json)
    sidecar_value(path, ("card.json", "dataset"), ("config.json", "dataset"))

Every failure is a UserError with one sentence saying what to do.
"""

from __future__ import annotations

import math
from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats import rundir
from digitlab.formats.cards import (
    CARD,
    ENSEMBLE,
    MODELS_DIR_ENVIRONMENT,
    is_ensemble,
    model_file,
    models_dir,
    read_card,
    shipped_models,
)
from digitlab.formats.files import read_json_or_none
from digitlab.formats.manifest import read_manifest

# The shipped model made for reading photos, scans and drawings (`train --extra-data`):
# what predict and serve use by default.
READER_MODEL = "reader"
PURPOSES = ("mnist", "images")


def default_shipped_model(purpose: str = "mnist", directory: Path | None = None) -> dict | None:
    """The card of the default model for `purpose`, or None when no model is shipped.

    "mnist" (evaluate, export): the single model with the highest accuracy on the
    validation split (the last 6,000 MNIST training images; never the test set),
    ties broken by the lower validation loss, among models with a model.keras
    (evaluate and export run Keras). "images" (predict, serve): the shipped
    READER_MODEL if there is one (bundled in the package, so there always is one
    in an installed digitlab), else the "mnist" choice. Ensembles are never the
    default: they cost the sum of their members per image.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be 'mnist' or 'images', got {purpose!r}")
    shipped = shipped_models(directory)
    if purpose == "images" and READER_MODEL in shipped:
        return shipped[READER_MODEL]
    singles = [card for card in shipped.values()
               if card.get("architecture") != "ensemble" and finite_number(card.get("validation_accuracy")) is not None
               and Path(card["path"]).name == rundir.MODEL]
    return max(singles, key=lambda card: (finite_number(card["validation_accuracy"]),
                                          -(finite_number(card.get("validation_loss")) or 0.0)), default=None)


def finite_number(value) -> float | None:
    """A figure read from a card or metrics file as a float; None when it is missing or no finite number.

    JSON from disk may hold a string, a list, NaN or 10**400 where a number belongs
    (a damaged or hand-edited file): those are None, never an exception.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def resolve_model_path(spec: str | None, runs_dir: str | Path = "runs", purpose: str = "mnist") -> Path:
    """Turn a --model value (None, a shipped name, a run dir or a file) into a model file's path.

    A shipped ensemble (a name or its folder) resolves to its card.json: it has no
    model file of its own, and is built from its members where it is used.
    None means the default shipped model for `purpose` (see default_shipped_model),
    else the newest run. A shipped model's path is its model.keras, or its
    model.onnx when that is all its folder holds (the bundled reader, or a pull
    of the ONNX files only); ONNX Runtime runs it.
    """
    if spec is None:
        best = default_shipped_model(purpose)
        if best is not None:
            return Path(best["path"])
        latest = rundir.latest_run_dir(runs_dir)
        if latest is None:
            raise UserError(f"no shipped model in {models_dir()}/ and no trained model in {runs_dir}/; fetch "
                            f"some with `digitlab models pull --all` (or set {MODELS_DIR_ENVIRONMENT} to a models "
                            "folder), run `digitlab run` first, or pass --model PATH.")
        return latest / rundir.MODEL

    candidate = Path(spec)
    if candidate.is_dir():
        if _is_ensemble_folder(candidate):
            return candidate / CARD
        found = model_file(candidate)
        if found is not None:
            return found
        if (candidate / CARD).is_file() and read_card(candidate).get("architecture") == ENSEMBLE:
            return candidate / CARD  # read_card says if the card is damaged; its members are checked where used
        raise UserError(f"{candidate} has no {rundir.MODEL}; did its training finish?")
    if candidate.is_file():
        return candidate
    shipped = shipped_models()
    if spec in shipped:
        return Path(shipped[spec]["path"])
    latest = rundir.latest_run_dir(runs_dir, spec)
    if latest is not None:
        return latest / rundir.MODEL
    if candidate.suffix or "/" in spec:
        raise UserError(f"model file {spec} does not exist.")
    if (models_dir() / spec / CARD).is_file():
        read_card(models_dir() / spec)  # a damaged card hides its model from shipped_models: say so
        if model_file(models_dir() / spec) is None:
            raise UserError(f"{models_dir() / spec} has a card but no model file; fetch it again with "
                            f"`digitlab models pull {spec}`.")
    if spec in read_manifest()["models"]:
        raise UserError(f"model {spec!r} is not installed in {models_dir()}; fetch it with "
                        f"`digitlab models pull {spec}`.")
    raise UserError(
        f"no shipped model or finished run named {spec!r}; train one with `digitlab train --model {spec}`, "
        "or pass a .keras file or run directory (`digitlab models` lists the shipped ones)."
    )


def _is_ensemble_folder(folder: Path) -> bool:
    card = read_json_or_none(folder / CARD)
    return card is not None and is_ensemble(card)


def sidecar_value(model_path: str | Path, *lookups: tuple[str, ...], default=None):
    """A value from the JSON files beside a model: the first of `lookups` that exists.

    Each lookup is a file name followed by the keys to follow, e.g.
    ("card.json", "temperature") or ("metrics.json", "calibration", "temperature").
    Shipped models have card.json; run directories have config.json and metrics.json.
    """
    folder = Path(model_path).parent
    for file_name, *keys in lookups:
        value = read_json_or_none(folder / file_name)  # None when absent or damaged: try the next lookup
        try:
            for key in keys:
                value = value[key]
        except (KeyError, TypeError, IndexError):
            continue
        if value is not None:
            return value
    return default


def model_temperature(model_path: str | Path) -> float:
    """The calibration temperature of a model: from its card (shipped) or its run's metrics.json; else 1.

    A value that is no positive finite number (a damaged or hand-edited card) counts as
    unknown: dividing logits by 0, a negative number or NaN would turn confidences into nonsense.
    """
    value = sidecar_value(model_path, (CARD, "temperature"), (rundir.METRICS, "calibration", "temperature"))
    temperature = finite_number(value)
    return temperature if temperature is not None and temperature > 0 else 1.0
