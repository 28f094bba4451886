"""Touching digits on hand-made masks: where two digits meet, and what is not a meeting point."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digitlab.vision.junction import find_junction
from digitlab.vision.preprocess import stroke_width
from digitlab.vision.segment import JUNCTION_STROKES, segment_digits

STROKE = 6


def drawn(size, *shapes) -> np.ndarray:
    """A bool mask of `size` (width, height) with each shape(draw) drawn in it."""
    image = Image.new("L", size, 0)
    draw = ImageDraw.Draw(image)
    for shape in shapes:
        shape(draw)
    return np.asarray(image) > 127


def ring(x0, y0, x1, y1):
    """A 0: an ellipse STROKE px thick all round (PIL's outline is thinner at the top and bottom)."""
    def shape(draw):
        draw.ellipse((x0, y0, x1, y1), fill=255)
        draw.ellipse((x0 + STROKE, y0 + STROKE, x1 - STROKE, y1 - STROKE), fill=0)
    return shape


def bridge(x0, x1, y):
    """A short stroke joining two digits at height y: where they touch."""
    return lambda draw: draw.rectangle((x0, y - STROKE // 2, x1, y + STROKE // 2), fill=255)


def eight(x0, x1, y0, y1):
    """An 8: two rings stacked, touching in the middle."""
    middle = (y0 + y1) // 2
    return lambda draw: (ring(x0, y0, x1, middle + STROKE // 2)(draw), ring(x0, middle - STROKE // 2, x1, y1)(draw))


def test_two_digits_joined_by_a_short_stroke_are_cut_there():
    mask = drawn((110, 100), ring(10, 10, 50, 90), ring(60, 10, 100, 90), bridge(48, 62, 50))
    junction = find_junction(mask, stroke_width(mask), max_crossings=1)
    assert junction is not None and junction.crossings == 1 and junction.strokes <= 1.5
    left, right = junction.sides(mask)
    assert (left | right).sum() == mask.sum() and not (left & right).any()
    # Each side is one ring, give or take the bridge.
    assert np.flatnonzero(left.any(axis=0)).max() <= 62 and np.flatnonzero(right.any(axis=0)).min() >= 48
    assert left[:, :45].sum() == mask[:, :45].sum() and right[:, 65:].sum() == mask[:, 65:].sum()


def test_a_single_zero_has_no_cut_crossing_one_stroke():
    mask = drawn((100, 100), ring(10, 10, 80, 90))
    assert find_junction(mask, stroke_width(mask), max_crossings=1) is None
    junction = find_junction(mask, stroke_width(mask))
    assert junction is None or junction.crossings >= 2


def test_a_four_is_not_cut_between_its_arm_and_its_stem():
    """The cut right of a 4's arm crosses only the bar, but the arm's side has no ink in the lower rows."""
    def four(draw):
        draw.line([(20, 10), (10, 60), (70, 60)], fill=255, width=STROKE)  # arm and bar
        draw.line([(55, 10), (55, 95)], fill=255, width=STROKE)              # stem

    mask = drawn((90, 100), four)
    junction = find_junction(mask, stroke_width(mask), max_crossings=1)
    assert junction is None or junction.strokes > JUNCTION_STROKES  # (a cut along the stem is long)


def test_slanted_touching_strokes_are_cut_along_the_slant():
    """Two slanted strokes joined at the bottom: every vertical cut between them crosses two strokes."""
    def slanted_pair(draw):
        draw.line([(40, 10), (10, 90)], fill=255, width=STROKE)
        draw.line([(70, 10), (40, 90)], fill=255, width=STROKE)
        draw.line([(10, 90), (40, 90)], fill=255, width=STROKE)

    mask = drawn((90, 100), slanted_pair)
    junction = find_junction(mask, stroke_width(mask), max_crossings=1)
    assert junction is not None and junction.shear != 0 and junction.strokes <= 1.6


def test_touching_digits_in_a_line_are_split_at_their_junction():
    """A pair only ~1.6 digits wide (too narrow for the width rule) is cut where the bridge joins it."""
    mask = drawn((260, 100), ring(10, 10, 50, 90), ring(70, 10, 100, 90), ring(106, 10, 136, 90),
                 bridge(98, 108, 50), ring(160, 10, 200, 90), ring(210, 10, 250, 90))
    regions = segment_digits(mask)
    assert len(regions) == 5
    assert abs(regions[1].box[2] - 103) <= 6 and abs(regions[2].box[0] - 103) <= 6


def test_a_wide_single_digit_is_not_split_by_width_alone():
    """An 8 as wide as two digits: every cut crosses three or four strokes, so it stays whole."""
    mask = drawn((300, 100), ring(10, 10, 50, 90), eight(70, 170, 8, 92), ring(190, 10, 230, 90),
                 ring(250, 10, 290, 90))
    regions = segment_digits(mask)
    assert len(regions) == 4 and regions[1].box[0] == 70 and regions[1].width >= 100
