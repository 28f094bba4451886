"""A shipped ensemble is its card: the members by name and SHA-256, found beside it in the models directory.

Usage:

    is_ensemble_card(path)          # models/ensemble/card.json → True (a path --model may resolve to)
    ensemble_members(path)          # → [models/deotte/model.keras, ...], each checked against the card

`digitlab ensemble A B C --name NAME` writes models/NAME/card.json and nothing
else: the ensemble is built from its members when it is used (digitlab.recognize
averages the members' runtimes; digitlab.models.load_keras_model builds one Keras
model for evaluate and export). Stored once, not as a copy of its members' weights.

The members are shipped models in the same models directory as the ensemble.
One that is missing, or whose model.keras is not the file the card names (its
SHA-256 differs), is a UserError: an average of other weights is not the
ensemble that was measured.
"""

from __future__ import annotations

from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats import rundir
from digitlab.formats.cards import CARD, ENSEMBLE
from digitlab.formats.files import file_sha256, read_json


def is_ensemble_card(path: str | Path) -> bool:
    """Whether a resolved --model path is an ensemble's card (single models resolve to model.keras or .onnx)."""
    return Path(path).name == CARD


def ensemble_members(card_path: str | Path) -> list[Path]:
    """The members' model.keras paths, in the card's order, each checked against the card's SHA-256."""
    card_path = Path(card_path)
    card = read_json(card_path, missing_hint="is it a shipped ensemble's folder?")
    members = card.get("members")
    if card.get("architecture") != ENSEMBLE or not isinstance(members, list) or len(members) < 2:
        raise UserError(f"{card_path} is not an ensemble's card; pass a model.keras, a model.onnx or a model folder.")
    folder = card_path.parent
    models_root = folder.parent  # the members are shipped beside the ensemble
    name = card.get("name") if isinstance(card.get("name"), str) and card.get("name") else folder.name
    paths = []
    for member in members:
        member_name = member.get("model") if isinstance(member, dict) else None
        if not isinstance(member_name, str) or not member_name or "/" in member_name or "\\" in member_name or member_name in (".", ".."):
            shown = repr(member_name if isinstance(member_name, str) else member)[:60]
            raise UserError(f"{card_path} names a member {shown} that is not a shipped model's name.")
        path = models_root / member_name / rundir.MODEL
        if not path.is_file():
            raise UserError(f"the ensemble {name!r} needs its member {member_name!r}, but {path} does not exist; "
                            f"put the shipped model {member_name} in {models_root} (an ensemble is stored "
                            "as its card and built from its members).")
        if file_sha256(path) != member.get("sha256"):
            raise UserError(f"the ensemble {name!r} was built from another {member_name!r}: {path} is not the file "
                            "its card names (SHA-256 differs); restore that model or rebuild the ensemble with "
                            "`digitlab ensemble`.")
        paths.append(path)
    return paths
