"""The models manifest: every model `digitlab models pull` can fetch, each file with its SHA-256 and size.

Usage:

    manifest = read_manifest()                       # the one in the package (models_manifest.json)
    manifest["models"]["reader"]["files"]            # {"card.json": {"sha256": ..., "bytes": ...}, ...}
    manifest["models"][name].get("requires", [])     # a card-only ensemble: the shipped members it needs
    with_requirements(["ensemble"], manifest["models"])   # → its members first, then "ensemble"
    problem = file_problem(path, entry)              # None, or one sentence: size, checksum, not ONNX
    manifest = build_manifest(Path("models"))        # from a folder laid out like the repo's models/
    write_manifest(path, manifest)                   # atomic
    refresh_bundled(Path("models"), bundled_dir)     # copy BUNDLED_MODELS' ONNX file and card

The manifest travels inside the package, so a pull trusts only checksums the
installed version of digitlab was released with; a file from the network or a
folder is used only when its SHA-256 matches. When models/ changes, regenerate
it (and the bundled reader) with `python scripts/models_manifest.py`, from the
root of a clone; `--check` says whether they are up to date.
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats import rundir
from digitlab.formats.cards import CARD, ONNX_MODEL
from digitlab.formats.files import file_sha256, read_json, write_bytes_atomic, write_json_atomic

MANIFEST = "models_manifest.json"
MANIFEST_FORMAT = 1
# The models the package itself carries (as ONNX, with their cards): what `pip install digitlab` reads with.
BUNDLED_MODELS = ("reader", "line-reader")
BUNDLED_FILES = (ONNX_MODEL, CARD)
REGENERATE = "python scripts/models_manifest.py"
# ModelProto's field keys (field number << 3 | wire type) that may follow ir_version in an ONNX file.
_ONNX_FIELD_KEYS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA}


def read_manifest(path: str | Path | None = None) -> dict:
    """The manifest in the package (or at `path`): {"format": 1, "models": {name: {"files": {...}}}}."""
    if path is None:
        text = (importlib.resources.files("digitlab.formats") / MANIFEST).read_text(encoding="utf-8")
        source = f"the package's {MANIFEST}"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        manifest = json.loads(text)
        models = manifest["models"]
        if manifest.get("format") != MANIFEST_FORMAT or not all("files" in model for model in models.values()):
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserError(f"{source} is not a digitlab models manifest (format {MANIFEST_FORMAT}); "
                        "reinstall digitlab.") from None
    return manifest


def looks_like_onnx(path: str | Path) -> bool:
    """Whether a file starts as an ONNX ModelProto does: ir_version (a small varint), then a model field."""
    with Path(path).open("rb") as handle:
        head = handle.read(16)
    if len(head) < 4 or head[0] != 0x08:
        return False
    index, version, shift = 1, 0, 0
    while index < len(head) and head[index] & 0x80:
        version |= (head[index] & 0x7F) << shift
        index, shift = index + 1, shift + 7
    if index >= len(head) - 1:
        return False
    version |= head[index] << shift
    return 1 <= version <= 64 and head[index + 1] in _ONNX_FIELD_KEYS


def file_problem(path: str | Path, entry: dict) -> str | None:
    """Why the file at `path` is not the manifest's `entry` (one sentence), or None when it is."""
    path = Path(path)
    size = path.stat().st_size
    if path.suffix == ".onnx" and not looks_like_onnx(path):
        return f"{path.name} is not an ONNX model"
    if size != entry["bytes"]:
        return f"{path.name} has {size:,} bytes where the manifest says {entry['bytes']:,} (cut short or another file)"
    found = file_sha256(path)
    if found != entry["sha256"]:
        return f"{path.name} has SHA-256 {found[:12]}…, the manifest says {entry['sha256'][:12]}… (another file)"
    return None


def build_manifest(models_dir: str | Path) -> dict:
    """The manifest of a folder laid out like the repo's models/: <name>/card.json and its model files."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise UserError(f"{models_dir} is not a folder; give the repository's models/ folder.")
    models = {}
    for folder in sorted(path for path in models_dir.iterdir() if path.is_dir() and not path.name.startswith(".")):
        if not (folder / CARD).is_file():
            continue
        files = {}
        for path in sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith(".")):
            if path.suffix == ".onnx" and not looks_like_onnx(path):
                raise UserError(f"{path} is not an ONNX model; export it again before listing it in the manifest.")
            files[path.name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        models[folder.name] = {"files": files}
        requires = _required_members(folder, models_dir)
        if requires:
            models[folder.name]["requires"] = requires
    if not models:
        raise UserError(f"{models_dir} holds no model folders (<name>/{CARD}); give the repository's models/ folder.")
    return {"format": MANIFEST_FORMAT, "regenerate": REGENERATE, "models": models}


def _required_members(folder: Path, models_dir: Path) -> list[str]:
    """The shipped models a card-only model (an ensemble stored as its members' names) is built from."""
    if any((folder / name).is_file() for name in (rundir.MODEL, ONNX_MODEL)):
        return []
    members = read_json(folder / CARD).get("members") or []
    names = [member.get("model") for member in members if isinstance(member, dict)]
    return [name for name in names if isinstance(name, str) and (models_dir / name / CARD).is_file()]


def with_requirements(names: list[str], models: dict) -> list[str]:
    """`names` with the models each requires (manifest "requires") placed before it, each once."""
    ordered: list[str] = []

    def add(name: str, seen: tuple[str, ...]) -> None:
        if name in ordered or name in seen:
            return
        for required in models[name].get("requires", []):
            add(required, seen + (name,))
        ordered.append(name)

    for name in names:
        add(name, ())
    return ordered


def write_manifest(path: str | Path, manifest: dict) -> None:
    write_json_atomic(path, manifest)


def refresh_bundled(models_dir: str | Path, bundled_dir: str | Path) -> list[Path]:
    """Copy BUNDLED_FILES of BUNDLED_MODELS from models_dir into bundled_dir (atomic); the paths written."""
    written = []
    for name in BUNDLED_MODELS:
        for file_name in BUNDLED_FILES:
            source = Path(models_dir) / name / file_name
            if not source.is_file():
                raise UserError(f"{source} does not exist; the package bundles {name}'s {file_name}.")
            target = Path(bundled_dir) / name / file_name
            write_bytes_atomic(target, source.read_bytes())
            written.append(target)
    return written
