"""Load a `.keras` model file, turning any failure into one clear sentence.

Usage:

    model = load_keras_model("models/vgg/model.keras")
    model = load_keras_model("models/ensemble/card.json")    # a shipped ensemble, built from its members
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from digitlab.errors import UserError, error_reason
from digitlab.formats import ensemble_members, is_ensemble_card, read_json
from digitlab.models.backend import import_keras
from digitlab.models.ensemble import build_ensemble


def load_keras_model(path: str | Path, compile: bool = True):
    """Load a .keras file; a missing, truncated or foreign file is a UserError (said before Keras loads).

    A shipped ensemble's card.json (what resolve_model_path gives for one) loads as
    one Keras model built from its members (build_ensemble), each checked against
    the card. compile=False loads the architecture and weights only: no optimizer,
    so saving the model again writes no optimizer state (digitlab.export ships models that way).
    """
    path = Path(path)
    if is_ensemble_card(path):
        members = [load_keras_model(member, compile=False) for member in ensemble_members(path)]
        return build_ensemble(members, name=read_json(path).get("name") or path.parent.name)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist.")
    if path.suffix == ".onnx":
        # A shipped model present only as ONNX (the reader bundled in the package, or an ONNX-only folder).
        raise UserError(f"{path} is an ONNX model and this command runs Keras; fetch the model's model.keras with "
                        f"`digitlab models pull {path.parent.name}`, or pass a .keras file.")
    if path.suffix != ".keras":
        raise UserError(f"{path} is not a .keras model file; digitlab saves models as model.keras.")
    if not zipfile.is_zipfile(path):
        # Keras would say "File not found" for a file that is there but is no zip archive.
        raise UserError(f"{path} is not a complete .keras file (a .keras file is a zip archive; this one is "
                        f"truncated or not a model); download or copy it again.")
    keras = import_keras()  # heavy (seconds): only callers that run Keras models load it; start-up noise filtered

    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many types for a damaged archive.
        raise UserError(
            f"{path} could not be loaded as a Keras model ({error_reason(error)}); is the file complete?"
        ) from None
