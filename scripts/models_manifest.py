"""Regenerate the models manifest and the bundled reader from the repository's models/ folder.

Usage (from anywhere in a clone; `make models-manifest` runs the first):

    python scripts/models_manifest.py            # write src/digitlab/formats/models_manifest.json
                                                 # and src/digitlab/bundled/<name>/ (model.onnx, card.json)
    python scripts/models_manifest.py --check    # exit 1 with one line if either is out of date

Run it whenever a file under models/ changes (a new model shipped, a model
re-exported or stored differently): the manifest's SHA-256 and sizes are what
`digitlab models pull` checks every file against, and the bundled reader must be
the shipped one. tests/test_models_pull.py runs `--check`, so a stale manifest
fails `make test` with this command in the message. A development tool for a
clone, not part of the installed package (it writes into src/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This clone's digitlab, whatever else the environment has installed.
sys.path.insert(0, str(ROOT / "src"))

from digitlab.errors import UserError  # noqa: E402
from digitlab.formats import (  # noqa: E402
    BUNDLED_MODELS,
    MANIFEST,
    build_manifest,
    file_sha256,
    read_manifest,
    refresh_bundled,
    write_manifest,
)
from digitlab.formats.manifest import BUNDLED_FILES  # noqa: E402

MODELS = ROOT / "models"
MANIFEST_PATH = ROOT / "src" / "digitlab" / "formats" / MANIFEST
BUNDLED_DIR = ROOT / "src" / "digitlab" / "bundled"


def stale(models_dir: Path = MODELS) -> list[str]:
    """What is out of date (empty when the manifest and the bundled models match models_dir)."""
    problems = []
    expected = build_manifest(models_dir)
    if not MANIFEST_PATH.is_file() or read_manifest(MANIFEST_PATH) != expected:
        problems.append(f"{MANIFEST_PATH.relative_to(ROOT)} does not match models/")
    for name in BUNDLED_MODELS:
        for file_name in BUNDLED_FILES:
            bundled = BUNDLED_DIR / name / file_name
            if not bundled.is_file() or file_sha256(bundled) != expected["models"][name]["files"][file_name]["sha256"]:
                problems.append(f"{bundled.relative_to(ROOT)} is not models/{name}/{file_name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether the manifest and bundle are current")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale()
            if problems:
                print(f"{'; '.join(problems)}: run `python scripts/models_manifest.py`.", file=sys.stderr)
                return 1
            print("The models manifest and the bundled models match models/.")
            return 0
        manifest = build_manifest(MODELS)
        write_manifest(MANIFEST_PATH, manifest)
        written = refresh_bundled(MODELS, BUNDLED_DIR)
    except UserError as error:
        print(f"models_manifest: error: {error}", file=sys.stderr)
        return 1
    files = sum(len(model["files"]) for model in manifest["models"].values())
    print(f"Wrote {MANIFEST_PATH.relative_to(ROOT)}: {len(manifest['models'])} models, {files} files; "
          f"bundled {', '.join(str(path.relative_to(ROOT)) for path in written)}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
