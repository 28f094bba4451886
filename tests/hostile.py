"""Shared by the hostile-file tests: damaged-file builders and the one-sentence assertion.

    code, out, err = run(capsys, "data", "verify")      # digitlab.cli.main in this process
    assert_one_sentence((code, out, err), cache_path)  # exit ≠ 0, one stderr line naming the file
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digitlab.cli.main import main

RANDOM = np.random.default_rng(20260101)
GARBAGE = RANDOM.integers(0, 256, 4096, dtype=np.uint8).tobytes()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_sentence(result: tuple[int, str, str], *names) -> str:
    """Exit status not 0, exactly one line on stderr (the error), naming each of `names`; that line."""
    code, out, err = result
    assert code != 0, out
    assert "Traceback" not in err + out
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("digitlab: error: "), err
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def digit_image(mode: str = "L", size: tuple[int, int] = (60, 60)) -> Image.Image:
    """A dark vertical stroke on white paper: the reader reads it as 1."""
    image = Image.new("L", size, 255)
    ImageDraw.Draw(image).line([(size[0] // 2, 10), (size[0] // 2, size[1] - 10)], fill=0, width=5)
    return image if mode == "L" else image.convert(mode)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def zip_of(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PNG = encoded(digit_image(), "PNG")
REPO_MODELS = Path(__file__).resolve().parents[1] / "models"  # the clone's shipped models
KERAS = (REPO_MODELS / "mlp" / "model.keras").read_bytes()
ONNX = (REPO_MODELS / "mlp" / "model.onnx").read_bytes()


def damages(good: bytes) -> dict[str, bytes]:
    """The ways any file arrives broken: empty, cut short at a few sizes, random bytes, another kind renamed."""
    return {
        "empty": b"", "truncated-1": good[:1], "truncated-64": good[:64], "truncated-half": good[: len(good) // 2],
        "garbage": GARBAGE, "png-renamed": PNG, "zip-of-text": zip_of({"readme.txt": "not a model"}),
    }
