"""What the pipeline does when segmentation first finds no digit: a ruled or squared sheet's lines taken out
(rules.py), ink paler than the contrast floor looked for (pipeline.py); and a digit written on a rule that
runs to the image's side is no wedge of shadow (page.py)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digitlab.vision.page import without_border_bands
from digitlab.vision.pipeline import FAINT_INK_CONTRAST, analyze
from digitlab.vision.rules import without_rules
from digitlab.vision.threshold import MIN_INK_CONTRAST, InkMask


def _ruled_mask() -> np.ndarray:
    """Three rules across a 120×300 mask, broken into dashes, and a 1 written across the middle rule."""
    mask = np.zeros((120, 300), dtype=bool)
    for row in (30, 60, 90):
        for left in range(0, 300, 9):
            mask[row:row + 2, left:left + 6] = True
    mask[40:80, 148:152] = True
    return mask


def test_without_rules_takes_the_lines_out_and_keeps_a_stroke_that_crosses_one():
    mask = _ruled_mask()
    cleaned = without_rules(InkMask(mask, 0, 0, mask.shape, 0.2), min_height=5).full()
    assert not cleaned[30:32].any() and not cleaned[90:92].any()      # the rules are gone…
    assert cleaned[40:80, 148:152].all()                               # …the 1 is whole, where it crosses one too
    assert not cleaned[60:62, :140].any()


def test_without_rules_is_none_without_a_rule_and_takes_dots_out_of_a_squared_sheet():
    digits = np.zeros((100, 200), dtype=bool)
    digits[30:70, 40:46] = digits[30:70, 90:120] = True                # a 1 and a blot
    dotted = digits.copy()
    dotted[5::20, 7::20] = True                                        # specks (noise, or where lines cross)
    assert without_rules(InkMask(digits, 0, 0, digits.shape, 0.2), min_height=5) is None
    assert without_rules(InkMask(dotted, 0, 0, dotted.shape, 0.2), min_height=5) is None
    squared = dotted.copy()
    squared[95:97, 10:190] = True                                      # one of the sheet's lines whole
    cleaned = without_rules(InkMask(squared, 0, 0, squared.shape, 0.2), min_height=5).full()
    assert np.array_equal(cleaned, digits)


def _ruled_photo() -> np.ndarray:
    """A sheet with 12 rules drawn as dashes as long as a stroke is wide times four (hundreds of pieces, as
    light and JPEG break them) and "47" in a fine pen, its 4 crossing the rule at y = 188."""
    image = Image.new("L", (480, 360), 225)
    draw = ImageDraw.Draw(image)
    for y in range(20, 360, 28):
        for x in range(0, 480, 16):
            draw.line([(x, y), (x + 11, y)], fill=100, width=2)
    draw.line([(200, 150), (185, 200), (225, 200)], fill=60, width=3)  # a 4…
    draw.line([(215, 160), (215, 225)], fill=60, width=3)
    draw.line([(250, 160), (290, 160), (265, 225)], fill=60, width=3)  # …and a 7
    return np.asarray(image, dtype=np.float32) / 255


def test_digits_on_a_ruled_sheet_broken_into_dashes_are_found(monkeypatch):
    import digitlab.vision.pipeline as pipeline

    analysis = analyze(_ruled_photo())
    assert len(analysis.digits) == 2 and analysis.line is not None
    x0, y0, x1, y1 = analysis.strip_box(0, analysis.line.width)
    assert x0 <= 185 and x1 >= 290 and y0 <= 155 and y1 >= 220
    # Without the second look the dashes hide them (segmentation takes the sheet for a page of text).
    monkeypatch.setattr(pipeline, "_second_look", lambda ink, background, ink_mask, gray, dark: (
        ink, background, ink_mask, []))
    assert not analyze(_ruled_photo()).digits


def test_a_digit_on_a_rule_that_runs_to_the_side_is_kept():
    """The rule's broken pieces clear of the border are no digits: they do not make the digit on it look tall."""
    mask = np.zeros((150, 300), dtype=bool)
    for row in (30, 120):
        for left in range(5, 290, 10):
            mask[row:row + 2, left:left + 6] = True                    # rules broken into dashes
    mask[75:77, 100:] = True                                           # a rule running to the right side…
    mask[50:90, 150:154] = mask[50:90, 180:205] = True                 # …with two digits on it
    kept = without_border_bands(InkMask(mask, 0, 0, mask.shape, 0.2), min_height=5).full()
    assert kept[50:90, 150:154].all() and kept[50:90, 180:205].all()


def _pale_number(contrast: float) -> np.ndarray:
    """"14" in pencil whose ink is `contrast` darker than the paper (as a fraction of the paper's brightness)."""
    paper = 0.85
    image = Image.new("F", (320, 200), paper)
    draw = ImageDraw.Draw(image)
    pencil = paper * (1 - contrast)
    draw.line([(120, 60), (120, 140)], fill=pencil, width=4)
    draw.line([(190, 60), (170, 115), (215, 115)], fill=pencil, width=4)
    draw.line([(205, 80), (205, 140)], fill=pencil, width=4)
    noise = np.random.default_rng(0).normal(0, 0.01, (200, 320))
    return np.clip(np.asarray(image) + noise, 0, 1).astype(np.float32)


def test_ink_paler_than_the_contrast_floor_is_found_when_nothing_else_is():
    pale = (FAINT_INK_CONTRAST + MIN_INK_CONTRAST) / 2
    analysis = analyze(_pale_number(pale))
    assert len(analysis.digits) == 2 and analysis.threshold < MIN_INK_CONTRAST and analysis.line is not None
    assert not analyze(_pale_number(FAINT_INK_CONTRAST / 2)).digits  # paler than that: nothing
    blank = np.clip(0.85 + np.random.default_rng(1).normal(0, 0.01, (200, 320)), 0, 1).astype(np.float32)
    assert not analyze(blank).digits
