"""Find and load trained models: shipped models, run directories and `.keras` files.

Usage:

    path = resolve_model_path(None)          # the best shipped model, else the newest run
    path = resolve_model_path(None, purpose="images")   # the default for reading photos and scans
    path = resolve_model_path("mlp")         # shipped model "mlp", else the newest mlp run
    path = resolve_model_path("runs/20261130T104512Z-mlp")   # a run dir or a .keras file
    model = load_keras_model(path)

Every failure is a UserError with one sentence saying what to do.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from digitlab import rundir
from digitlab.errors import UserError, error_reason

# Trained models shipped with the repository: models/<name>/model.keras + card.json.
SHIPPED_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def shipped_models(directory: Path = SHIPPED_MODELS_DIR) -> dict[str, dict]:
    """name → model card (with "path" added) for every shipped model."""
    found: dict[str, dict] = {}
    if not directory.is_dir():
        return found
    for card_path in sorted(directory.glob("*/card.json")):
        model_path = card_path.parent / rundir.MODEL
        if not model_path.is_file():
            continue
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        card["path"] = str(model_path)
        found[card_path.parent.name] = card
    return found


# The shipped model made for reading photos, scans and drawings (`train --extra-data`),
# chosen with benchmarks/realworld.py: what predict and serve use by default.
READER_MODEL = "reader"


def default_shipped_model(purpose: str = "mnist", directory: Path = SHIPPED_MODELS_DIR) -> dict | None:
    """The card of the default model for `purpose`, or None when no model is shipped.

    "mnist" (evaluate, export): the single model most accurate on the MNIST test set.
    "images" (predict, serve): the shipped READER_MODEL if there is one, else the
    "mnist" choice. Ensembles are never the default: they cost the sum of their
    members per image.
    """
    if purpose not in ("mnist", "images"):
        raise ValueError(f"purpose must be 'mnist' or 'images', got {purpose!r}")
    shipped = shipped_models(directory)
    if purpose == "images" and READER_MODEL in shipped:
        return shipped[READER_MODEL]
    singles = [card for card in shipped.values() if card.get("architecture") != "ensemble"]
    return max(singles, key=lambda card: card.get("test_accuracy", 0.0), default=None)


def resolve_model_path(spec: str | None, runs_dir: str | Path = "runs", purpose: str = "mnist") -> Path:
    """Turn a --model value (None, a shipped name, a run dir or a file) into a .keras path.

    None means the default shipped model for `purpose` (see default_shipped_model),
    else the newest run.
    """
    if spec is None:
        best = default_shipped_model(purpose)
        if best is not None:
            return Path(best["path"])
        latest = rundir.latest_run_dir(runs_dir)
        if latest is None:
            raise UserError(f"no trained model found in {runs_dir}/; run `digitlab run` first, or pass --model PATH.")
        return latest / rundir.MODEL

    candidate = Path(spec)
    if candidate.is_dir():
        if (candidate / rundir.MODEL).is_file():
            return candidate / rundir.MODEL
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
    raise UserError(
        f"no shipped model or finished run named {spec!r}; train one with `digitlab train --model {spec}`, "
        "or pass a .keras file or run directory."
    )


def load_keras_model(path: str | Path):
    """Load a .keras file, turning any failure into one clear sentence."""
    import keras

    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist.")
    if path.suffix != ".keras":
        raise UserError(f"{path} is not a .keras model file; digitlab saves models as model.keras.")
    if not zipfile.is_zipfile(path):
        # Keras would say "File not found" for a file that is there but is no zip archive.
        raise UserError(f"{path} is not a complete .keras file (a .keras file is a zip archive; this one is "
                        f"truncated or not a model); download or copy it again.")
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # Keras raises many types for a damaged archive.
        raise UserError(
            f"{path} could not be loaded as a Keras model ({error_reason(error)}); is the file complete?"
        ) from None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_value(model_path: str | Path, *lookups: tuple[str, ...], default=None):
    """A value from the JSON files beside a model: the first of `lookups` that exists.

    Each lookup is a file name followed by the keys to follow, e.g.
    ("card.json", "temperature") or ("metrics.json", "calibration", "temperature").
    Shipped models have card.json; run directories have config.json and metrics.json.
    """
    folder = Path(model_path).parent
    for file_name, *keys in lookups:
        try:
            value = json.loads((folder / file_name).read_text(encoding="utf-8"))
            for key in keys:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if value is not None:
            return value
    return default


def model_temperature(model_path: str | Path) -> float:
    """The calibration temperature of a model: from its card (shipped) or its run's metrics.json; else 1."""
    value = sidecar_value(model_path, ("card.json", "temperature"), (rundir.METRICS, "calibration", "temperature"))
    try:
        return float(value) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0
