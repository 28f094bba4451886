"""A tilted line is leveled before segmentation (deskew.py); an italic digit is sheared upright (slant.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from digitlab.vision.deskew import MAX_TILT_DEGREES, MIN_TILT_DEGREES, line_angle, straighten
from digitlab.vision.pipeline import analyze
from digitlab.vision.slant import MAX_SLANT, MIN_SLANT, limit_slant, moment_slant


def boxes_along(slope: float, count: int = 5, size: int = 40, step: int = 60) -> list[tuple[int, int, int, int]]:
    """Digit boxes whose centers lie on y = 200 + slope · x."""
    boxes = []
    for index in range(count):
        center_x = 50 + index * step
        center_y = 200 + slope * center_x
        boxes.append((int(center_x - size / 2), int(center_y - size), int(center_x + size / 2), int(center_y + size)))
    return boxes


# --- the line's angle ----------------------------------------------------------------------------

@pytest.mark.parametrize("slope", [0.2, -0.3])
def test_line_angle_levels_a_tilted_line(slope):
    angle = line_angle(boxes_along(slope))
    assert angle == pytest.approx(math.degrees(math.atan(slope)), abs=1.0)


def test_line_angle_leaves_level_short_and_steep_lines_alone():
    assert line_angle(boxes_along(0.02)) == 0.0                       # below MIN_TILT_DEGREES
    assert line_angle(boxes_along(0.3, count=2)) == 0.0               # two pieces: baseline jitter, not tilt
    assert line_angle(boxes_along(0.3, step=15)) == 0.0               # bunched: too short to tell
    assert line_angle(boxes_along(1.5)) == 0.0                        # 56°: not a line of digits
    assert MIN_TILT_DEGREES < math.degrees(math.atan(0.2)) < MAX_TILT_DEGREES


def test_straighten_levels_the_ink_and_maps_boxes_back():
    ink = np.zeros((300, 400), dtype=np.float32)
    centers = [(60 + 70 * index, 120 + int(0.35 * 70 * index)) for index in range(4)]
    for x, y in centers:
        ink[y - 15:y + 15, x - 5:x + 5] = 1.0
    angle = math.degrees(math.atan(0.35))
    page = straighten(ink, (40, 90, 300, 250), angle, threshold=0.3)
    labels, count = ndimage.label(page.mask)
    assert count == 4
    centers_y = [center[0] for center in ndimage.center_of_mass(page.mask, labels, range(1, count + 1))]
    assert np.ptp(centers_y) < 3  # the bars' centers now lie on one row
    # A box around the leveled page maps back to a box holding all the original ink.
    x0, y0, x1, y1 = page.box_in_source((0, 0, page.mask.shape[1], page.mask.shape[0]))
    assert x0 <= 55 and y0 <= 105 and x1 >= 275 and y1 >= 208


def tilted_sevens(angle: float) -> np.ndarray:
    """Four 7-like marks (a level bar over an upright stem) in a row, dark on white, the page rotated by `angle`."""
    image = Image.new("L", (460, 300), 255)
    draw = ImageDraw.Draw(image)
    for index in range(4):
        x = 90 + 80 * index
        draw.rectangle((x, 110, x + 44, 120), fill=0)
        draw.rectangle((x + 34, 110, x + 44, 190), fill=0)
    return np.asarray(image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255))


def difference(first: np.ndarray, second: np.ndarray) -> float:
    """Mean absolute difference of two model inputs, at their best alignment within ±2 px."""
    return min(float(np.abs(np.roll(first, (dy, dx), axis=(0, 1)) - second).mean())
               for dy in range(-2, 3) for dx in range(-2, 3))


def test_analyze_levels_a_tilted_line_before_reading_it():
    gray = tilted_sevens(20)
    analysis = analyze(gray)
    assert len(analysis.digits) == 4
    assert analysis.tilt == pytest.approx(-20, abs=2)
    lefts = [digit.box[0] for digit in analysis.digits]
    assert lefts == sorted(lefts)
    # Boxes are in the original (tilted) image: each holds its mark's dark pixels.
    for digit in analysis.digits:
        x0, y0, x1, y1 = digit.box
        assert (gray[y0:y1, x0:x1] < 128).sum() >= 0.9 * (44 * 10 + 10 * 70)
    # The model sees each 7 as on a level page (unleveled, the difference is ≈ 0.047).
    level = analyze(tilted_sevens(0))
    assert level.tilt == 0.0 and len(level.digits) == 4
    for digit, level_digit in zip(analysis.digits, level.digits):
        assert difference(digit.model_input, level_digit.model_input) < 0.03


# --- slant ---------------------------------------------------------------------------------------

def sheared_bar(slope: float, height: int = 80) -> np.ndarray:
    """A 6 px wide bar whose x shifts by `slope` per row (slope < 0: italic, leaning forward)."""
    width = int(abs(slope) * height) + 20
    image = np.zeros((height, width), dtype=np.float32)
    for row in range(height):
        x = int(round(width / 2 + slope * (row - height / 2)))
        image[row, x - 3:x + 3] = 1.0
    return image


@pytest.mark.parametrize("slope", [-0.8, -0.3, 0.0, 0.5])
def test_moment_slant_measures_the_shear(slope):
    assert moment_slant(sheared_bar(slope)) == pytest.approx(slope, abs=0.03)


def test_limit_slant_shears_an_italic_digit_to_the_band_edge_only():
    italic = sheared_bar(-0.8)
    assert moment_slant(limit_slant(italic)) == pytest.approx(MIN_SLANT, abs=0.05)
    backwards = sheared_bar(0.6)
    assert moment_slant(limit_slant(backwards)) == pytest.approx(MAX_SLANT, abs=0.05)
    ordinary = sheared_bar(-0.1)
    assert limit_slant(ordinary) is ordinary  # within MNIST's usual slant: untouched


def test_a_tilted_line_keeps_a_last_digit_in_pieces_beside_it():
    """Leveling takes the page around the digits found, with room beside them (pipeline._line_area): a last
    digit too short for segmentation (a broken piece of it) still joins the line (line.line_boxes)."""
    angle = 12
    image = Image.new("L", (560, 340), 255)
    piece = Image.new("L", image.size, 255)
    draw = ImageDraw.Draw(image)
    for index in range(4):
        x = 90 + 80 * index
        draw.rectangle((x, 110, x + 44, 120), fill=0)
        draw.rectangle((x + 34, 110, x + 44, 190), fill=0)
    for canvas in (image, piece):                                      # 28 rows: under 0.4 of the 7s' 80
        ImageDraw.Draw(canvas).rectangle((420, 140, 428, 168), fill=0)
    gray = np.asarray(image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255))
    rows, columns = np.nonzero(np.asarray(piece.rotate(angle, fillcolor=255)) < 128)
    analysis = analyze(gray)
    assert analysis.tilt != 0.0 and len(analysis.digits) == 4
    x0, _, x1, _ = analysis.strip_box(0, analysis.line.width)
    assert x0 <= 100 and x1 >= columns.max()
