"""Damaged, hostile and unusual image files through `digitlab predict --json`, all in one call.

A file that cannot be read gives its own {"path", "error"} line with one
sentence naming it, the others are still read, and the exit status is 2; an
unusual but valid image (16-bit, palette, CMYK, animated, 1-bit) is read like
any other. Nothing reaches stderr and nothing raises.
"""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from digitlab.cli.main import main
from hostile import GARBAGE, KERAS, digit_image, encoded


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int) -> bytes:
    """A 1-bit PNG whose header declares width × height but whose data holds one row: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * (1 + width // 8), 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def animated_gif() -> bytes:
    frames = [digit_image(), digit_image().rotate(90)]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])


PNG, JPEG = encoded(digit_image(), "PNG"), encoded(digit_image("RGB"), "JPEG")
UNREADABLE = {
    "empty.png": b"",
    "truncated-header.png": PNG[:20],
    "truncated-half.png": PNG[: len(PNG) // 2],
    "truncated-half.jpg": JPEG[: len(JPEG) // 2],
    "truncated-header.jpg": JPEG[:20],
    "garbage.png": GARBAGE,
    "model-renamed.png": KERAS[:5000],
    "text.jpg": b"hello, I am a text file\n",
    "pdf.png": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
    "zero-width.png": png_declaring(0, 10),
    "bomb-10-gigapixels.png": png_declaring(100_000, 100_000),
    # Decoders digitlab leaves off (attack surface): a valid image in those formats is not read.
    "portable-pixmap.ppm": encoded(digit_image("RGB"), "PPM"),
    "silicon-graphics.sgi": encoded(digit_image("RGB"), "SGI"),
}
READABLE = {
    "16-bit.png": encoded(Image.fromarray(np.asarray(digit_image(), np.uint16) * 257), "PNG"),
    "palette.png": encoded(digit_image("P"), "PNG"),
    "cmyk.jpg": encoded(digit_image("CMYK"), "JPEG"),
    "cmyk.tif": encoded(digit_image("CMYK"), "TIFF"),
    "animated.gif": animated_gif(),
    "grey-alpha.png": encoded(digit_image("LA"), "PNG"),
    "1-bit.png": encoded(digit_image("1"), "PNG"),
    "float.tif": encoded(digit_image("F"), "TIFF"),
    "webp.webp": encoded(digit_image("RGB"), "WEBP"),
    "bitmap.bmp": encoded(digit_image(), "BMP"),
}


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> tuple[int, dict[str, dict], str]:
    """Exit status, the JSON record of every file by name, and stderr, of one `predict --json` over all of them."""
    folder = tmp_path_factory.mktemp("images")
    for name, data in {**UNREADABLE, **READABLE}.items():
        (folder / name).write_bytes(data)
    paths = [str(folder / name) for name in [*UNREADABLE, *READABLE]]
    capture = pytest.MonkeyPatch()
    out, err = io.StringIO(), io.StringIO()
    capture.setattr("sys.stdout", out)
    capture.setattr("sys.stderr", err)
    try:
        code = main(["predict", "--json", *paths])
    finally:
        capture.undo()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return code, {line["path"].rsplit("/", 1)[-1]: line for line in lines}, err.getvalue()


def test_unreadable_images_do_not_stop_the_others(records):
    code, by_name, err = records
    assert code == 2
    assert "Traceback" not in err and not err.strip(), err
    assert sorted(by_name) == sorted([*UNREADABLE, *READABLE])


@pytest.mark.parametrize("name", UNREADABLE)
def test_an_unreadable_image_is_one_sentence_naming_it(records, name):
    record = records[1][name]
    assert set(record) == {"path", "error"}, record
    assert name in record["error"] and record["error"].endswith(".") and "\n" not in record["error"]


@pytest.mark.parametrize("name", READABLE)
def test_an_unusual_but_valid_image_is_read(records, name):
    record = records[1][name]
    assert "error" not in record, record
    assert record["prediction"] == "1", record


def test_a_pixel_bomb_is_refused_from_its_header(records):
    assert "too many pixels" in records[1]["bomb-10-gigapixels.png"]["error"]
