"""The shipped line reader as users meet it: the predict JSON, and each kind of error it must not make.

Fixtures are numbers written with MNIST *test* digits (never trained on),
placed as people write them and photographed (dark ink on lit paper, noise,
JPEG): a 0 with a gap in its stroke, a 4 whose top is open, digits that touch,
a widely spaced number. Today's segmenting reader splits, merges or rejects
these; the line reader must read them.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image

from digitlab.data import load_mnist
from digitlab.recognize import Recognizer, find_line_reader

SCALE = 4  # MNIST's 28 px digits drawn 112 px tall


@lru_cache(maxsize=1)
def _reader() -> Recognizer:
    if find_line_reader() is None:
        pytest.skip("no line reader is installed (models/line-reader, bundled in the package)")
    return Recognizer(reader="line")


@lru_cache(maxsize=1)
def _test_digits() -> tuple[np.ndarray, np.ndarray]:
    (_, _), (images, labels) = load_mnist()
    return images, labels


def _digit(label: int, which: int = 0) -> np.ndarray:
    images, labels = _test_digits()
    return images[np.flatnonzero(labels == label)[which]].copy()


def _photo(digits: list[np.ndarray], gaps: list[int], seed: int = 0) -> tuple[bytes, list[tuple[int, int]]]:
    """The digits side by side (gaps in pixels between their ink, negative: overlapping) as a JPEG photo.

    Also returns each digit's column range in the photo, to check the boxes.
    """
    rng = np.random.default_rng(seed)
    glyphs = []
    for digit in digits:
        columns = np.flatnonzero(digit.max(axis=0) > 0)
        crop = digit[:, columns[0]:columns[-1] + 1]
        size = (crop.shape[1] * SCALE, 28 * SCALE)
        glyphs.append(np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC), np.float32) / 255)
    width = sum(glyph.shape[1] for glyph in glyphs) + sum(gaps) + 2 * 28 * SCALE
    ink = np.zeros((3 * 28 * SCALE, width), np.float32)
    x, spans = 28 * SCALE, []
    for glyph, gap in zip(glyphs, [*gaps, 0]):
        region = ink[28 * SCALE:56 * SCALE, x:x + glyph.shape[1]]
        np.maximum(region, glyph, out=region)
        spans.append((x, x + glyph.shape[1]))
        x += glyph.shape[1] + gap
    ys, xs = np.mgrid[0:ink.shape[0], 0:ink.shape[1]].astype(np.float32)
    paper = 0.92 - 0.12 * xs / ink.shape[1] - 0.05 * ys / ink.shape[0]
    gray = paper * (1 - 0.85 * np.clip(ink, 0, 1)) + rng.normal(0, 0.015, ink.shape)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8)).convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue(), spans


def _with_gap(digit: np.ndarray, rows: slice, columns: slice) -> np.ndarray:
    gapped = digit.copy()
    gapped[rows, columns] = 0
    return gapped


def _read(digits: list[np.ndarray], gaps: list[int]) -> dict:
    data, _ = _photo(digits, gaps)
    return _reader().read(data).to_json()


@pytest.mark.parametrize("which", range(3))
def test_a_zero_with_a_gap_in_its_stroke_is_one_digit(which):
    zero = _digit(0, which)
    rows = np.flatnonzero(zero.max(axis=1) > 0)
    top = rows[0]
    gapped = _with_gap(zero, slice(top, top + 6), slice(12, 16))  # the top of the loop cut open
    assert _read([_digit(7), gapped, _digit(9), _digit(1)], [20, 20, 20])["prediction"] == "7091"


@pytest.mark.parametrize("which", range(3))
def test_a_four_with_an_open_top_is_a_four(which):
    four = _digit(4, which)
    rows = np.flatnonzero(four.max(axis=1) > 0)
    opened = _with_gap(four, slice(rows[0], rows[0] + 4), slice(0, 28))  # the tips of both strokes gone: open wide
    assert _read([_digit(8), opened, _digit(5), opened], [24, 24, 24])["prediction"] == "8454"


@pytest.mark.parametrize("overlap", [0, 6, 14])
def test_touching_digits_are_read_as_two(overlap):
    assert _read([_digit(6), _digit(6, 1), _digit(4)], [-overlap, -overlap])["prediction"] == "664"


@pytest.mark.parametrize("spacing", [60, 120, 200])
def test_a_widely_spaced_number_is_read_not_rejected(spacing):
    result = _read([_digit(7), _digit(1), _digit(6), _digit(0)], [spacing] * 3)
    assert result["prediction"] == "7160"


def test_the_json_is_the_predict_contract_with_a_box_per_digit():
    digits = [_digit(2), _digit(0), _digit(2, 1), _digit(6)]
    data, spans = _photo(digits, [30, 30, 30])
    result = _reader().read(data).to_json()
    assert set(result) == {"prediction", "confidence", "digits"}
    assert result["prediction"] == "2026" and 0.0 < result["confidence"] <= 1.0
    width, height = Image.open(io.BytesIO(data)).size
    for digit, (start, end), text in zip(result["digits"], spans, "2026"):
        assert set(digit) == {"digit", "confidence", "box", "probabilities"}
        assert digit["digit"] == int(text) and len(digit["probabilities"]) == 10
        assert sum(digit["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert int(np.argmax(digit["probabilities"])) == digit["digit"]
        x0, y0, x1, y1 = digit["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        # The box covers most of the digit it reads, and not its neighbours.
        shared = min(x1, end) - max(x0, start)
        assert shared >= 0.7 * (end - start) and (x1 - x0) <= 1.5 * (end - start) + 20


def test_blank_paper_and_a_scribble_are_refused():
    blank, _ = _photo([], [])  # lit paper, noise and JPEG, no ink
    assert _reader().read(blank).prediction == ""
    canvas = Image.new("L", (28, 28), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(canvas).line([(2, 20), (8, 6), (14, 22), (20, 5), (26, 21)], fill=255, width=2)
    scribble = np.asarray(canvas)
    result = _reader().read(_photo([scribble, scribble, scribble], [0, 0])[0])
    assert result.prediction == ""


def test_auto_reads_a_lone_digit_with_the_classifier_and_a_number_with_the_line_reader():
    from digitlab.recognize import DigitReading, ReadResult
    from digitlab.recognize.recognizer import combined_reading

    def reading(text: str, refused: bool = False, confidence: float = 0.9) -> ReadResult:
        digits = [DigitReading(int(c), confidence, (0, 0, 1, 1), [0.1] * 10, np.zeros((28, 28))) for c in text]
        return ReadResult("" if refused else text, confidence, digits)

    photo, scan = False, True  # a photo, or an image of one digit (recognizer.one_digit_image)
    # One digit each: the more confident reading.
    assert combined_reading(reading("7", confidence=0.95), reading("1"), photo).prediction == "7"
    assert combined_reading(reading("7"), reading("1", confidence=0.95), photo).prediction == "1"
    assert combined_reading(reading("7"), reading("1", refused=True, confidence=0.95), photo).prediction == "7"
    assert combined_reading(reading("7"), reading(""), scan).prediction == "7"  # a scan the line reader missed
    assert combined_reading(reading("7"), reading(""), photo).prediction == ""  # a photo of no number: refused
    assert combined_reading(reading("7"), reading("71"), scan).prediction == "71"  # the line reader saw two
    assert combined_reading(reading("12"), reading("102"), photo).prediction == "102"  # a number: the line's
    assert combined_reading(reading("7", refused=True), reading(""), scan).prediction == ""  # refused: the line's

    from digitlab.recognize.recognizer import LONE_DIGIT_IMAGE_SIDE, one_digit_image
    from digitlab.vision import analyze
    from digitlab.synth import render_mnist_drawing

    seven = _digit(7)
    small = Image.fromarray(255 - seven).resize((LONE_DIGIT_IMAGE_SIDE, LONE_DIGIT_IMAGE_SIDE))
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    assert one_digit_image(analyze(render_mnist_drawing(seven, 200)))  # a drawing: the canvas path
    assert one_digit_image(analyze(buffer.getvalue()))  # a small scan
    assert not one_digit_image(analyze(_photo([seven, _digit(1)], [30])[0]))  # a photo
    auto = Recognizer()
    assert auto.info["reader"] == "auto" and auto.line_reader is not None
    data, _ = _photo([_digit(7), _digit(1), _digit(6), _digit(0)], [-6, 30, 30])
    assert auto.read(data).prediction == _reader().read(data).prediction == "7160"


def test_debug_images_show_the_line_reader_s_own_digits(tmp_path):
    data, _ = _photo([_digit(3), _digit(4), _digit(4, 1)], [-8, -8])  # touching: fewer crops than digits read
    result = _reader().read(data, debug_dir=tmp_path / "debug")
    written = sorted(path.name for path in (tmp_path / "debug").glob("6-digit-*.png"))
    assert written == [f"6-digit-{index + 1}-{digit.digit}.png" for index, digit in enumerate(result.digits)]
    assert (tmp_path / "debug" / "4c-line-strip.png").is_file()
    assert str(list(result.digits[0].box)) in (tmp_path / "debug" / "result.txt").read_text()


def test_a_strip_is_read_as_cut_and_moved_a_row_up_and_down_averaged():
    from digitlab.formats import read_json
    from digitlab.recognize.line_reader import ROW_SHIFTS, LineReader

    path = find_line_reader()
    reader = LineReader(path)
    strip = np.zeros((32, 96), np.float32)
    strip[6:26, 20:30] = 1.0  # a bar, and a ring beside it
    strip[8:24, 50:66] = 1.0
    strip[12:20, 54:62] = 0.0
    moved = [np.roll(strip, rows, axis=0) for rows in ROW_SHIFTS]  # the ink is clear of the edges
    expected = reader.model_logits(np.stack(moved)).mean(axis=0)
    assert np.allclose(reader.logits(strip), expected, atol=1e-6)
    assert np.allclose(LineReader(path, row_shifts=(0,)).logits(strip), reader.model_logits(strip[None])[0])
    # The card's temperature and threshold were fitted on strips read this way.
    assert tuple(read_json(path.parent / "card.json")["row_shifts"]) == ROW_SHIFTS
