"""Load a `.keras` model file, turning any failure into one clear sentence.

Usage:

    model = load_keras_model("models/vgg/model.keras")
    model = load_keras_model("models/ensemble/card.json")    # a shipped ensemble, built from its members
    check_keras_file("model.keras")                          # the cheap checks alone, before Keras is imported

A .keras file is untrusted input: it is always loaded in Keras' safe mode
(`safe_mode=True`), so a Lambda layer carrying Python bytecode, or any other
object that would run code while loading, is refused with one sentence rather
than executed. Nothing in digitlab turns safe mode off. A file that loads but
is no digit classifier (another input shape, not 10 classes) is refused too,
before it is asked to read anything.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from digitlab.errors import UserError, error_reason
from digitlab.formats import ensemble_members, is_ensemble_card, read_json
from digitlab.models.backend import import_keras
from digitlab.models.ensemble import build_ensemble

# What every digitlab model takes and gives: one 28×28 image (784 values, in any
# layout such as (28, 28) or (28, 28, 1)) → 10 class probabilities.
IMAGE_VALUES = 28 * 28
CLASSES = 10


def check_keras_file(path: str | Path) -> Path:
    """The checks that need no Keras: the file exists, is named .keras and is a zip archive; UserError if not."""
    path = Path(path)
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
    return path


def load_keras_model(path: str | Path, compile: bool = True):
    """Load a .keras file; a missing, truncated, foreign or unsafe file is a UserError (said before Keras loads).

    A shipped ensemble's card.json (what resolve_model_path gives for one) loads as
    one Keras model built from its members (build_ensemble), each checked against
    the card. compile=False loads the architecture and weights only: no optimizer,
    so saving the model again writes no optimizer state (digitlab.export ships models that way).
    """
    path = Path(path)
    if is_ensemble_card(path):
        members = [load_keras_model(member, compile=False) for member in ensemble_members(path)]
        name = read_json(path).get("name")
        return build_ensemble(members, name=name if isinstance(name, str) and name else path.parent.name)
    check_keras_file(path)
    keras = import_keras()  # heavy (seconds): only callers that run Keras models load it; start-up noise filtered

    try:
        # safe_mode=True is Keras' default; said here so that no default can ever change it.
        model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged archive.
        if "safe_mode" in str(error) or "unsafe_deserialization" in str(error):
            raise UserError(f"{path} was refused: it holds Python code (e.g. a Lambda layer), and digitlab loads "
                            ".keras files in Keras' safe mode, which never runs code from a file.") from None
        raise UserError(
            f"{path} could not be loaded as a Keras model ({_keras_reason(error)}); is the file complete?"
        ) from None
    check_digit_model(model, path)
    return model


def _keras_reason(error: Exception) -> str:
    """Keras' own reason: a nested layer's failure is wrapped in a paragraph ending "Exception encountered: ..."."""
    message = str(error)
    if "Exception encountered:" in message:
        inner = message.rsplit("Exception encountered:", 1)[1].strip()
        return error_reason(ValueError(inner)) if inner else error_reason(error)
    return error_reason(error)


def check_digit_model(model, path: str | Path) -> None:
    """UserError unless `model` takes one 28×28 image per row and gives 10 class scores."""
    try:
        input_shape, output_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError, TypeError):  # several inputs or outputs, or a model never built
        raise UserError(f"{path} is not a digit classifier (it has no single input and output); "
                        "pass a model digitlab trained.") from None
    if not _is_digit_shape(input_shape, output_shape):
        raise UserError(f"{path} is not a digit classifier: it takes {_shape(input_shape)} and gives "
                        f"{_shape(output_shape)}, where digitlab needs 28×28 images in and {CLASSES} classes out.")


def _is_digit_shape(input_shape: tuple, output_shape: tuple) -> bool:
    image = input_shape[1:]
    if not image or not all(isinstance(size, int) for size in image):
        return False
    values = 1
    for size in image:
        values *= size
    return values == IMAGE_VALUES and len(output_shape) == 2 and output_shape[1] == CLASSES


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("any" if size is None else str(size) for size in shape) + ")"
