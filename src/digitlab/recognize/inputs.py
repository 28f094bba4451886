"""Which image files a command reads: files and folders as given (`predict`), or a list of paths (`batch`).

Usage:

    inputs = collect_inputs(["photo.jpg", "scans/"])     # ImageInput list: folders searched recursively
    inputs[0].path, inputs[0].shown                       # Path to open, the path as printed
    record = result_record(inputs[0].shown, result)      # the `predict --json` object for a ReadResult or ImageError

Folders are searched recursively for files with an image extension
(IMAGE_SUFFIXES), in sorted order; other files in a folder are skipped. A path
given explicitly is always read, whatever its extension, so a non-image file
named on the command line is reported. `digitlab predict --json` and
`digitlab batch` list files and write their records through here, so the two
give the same paths and the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from digitlab.vision import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class ImageInput:
    path: Path
    shown: str  # the path as printed


def collect_inputs(paths: list[str]) -> list[ImageInput]:
    """Expand folders (recursively, image extensions only, sorted); keep files and missing paths as given."""
    inputs = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(child for child in path.rglob("*")
                           if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES)
            inputs += [ImageInput(child, str(child)) for child in found]
        else:
            inputs.append(ImageInput(path, given))
    return inputs


def result_record(shown: str, result) -> dict:
    """The `predict --json` object of one input: path and the reading, or path and the error's one sentence."""
    if isinstance(result, ImageError):
        return {"path": shown, "error": str(result)}
    return {"path": shown, **result.to_json()}
