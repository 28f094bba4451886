"""How the line reader's training photos write a number: pens redrawn along the centre line, spacing by ink.

digitlab.synth.strips is what the line reader learns handwriting from; these
check the two ways it writes like people do, on glyphs whose geometry is known.
"""

from __future__ import annotations

import numpy as np
import pytest
from skimage.morphology import skeletonize

from digitlab.data.datasets import load_mnist
from digitlab.synth import strips


def _bar(height: int, width: int, rows: slice = slice(None)) -> np.ndarray:
    glyph = np.zeros((height, width), np.float32)
    glyph[rows, :] = 1.0
    return glyph


@pytest.mark.parametrize("stroke", [1.0, 3.0, 6.0])
def test_a_redrawn_stroke_is_as_wide_as_the_pen(stroke):
    glyph = np.zeros((60, 40), np.float32)
    glyph[5:55, 12:24] = 1.0  # a 12-pixel-wide upright stroke
    drawn = strips.redrawn(glyph, stroke)
    middle_rows = drawn[20:40]
    assert np.allclose(middle_rows.sum(axis=1), stroke, atol=0.6)
    assert drawn.max() == 1.0 and drawn[:, :8].max() == 0.0  # the pen follows the stroke's middle


def _stroke_width(glyph: np.ndarray) -> float:
    """Ink area over centre-line length: a stroke's mean width in pixels."""
    ink = glyph > 0.5
    return ink.sum() / max(1, skeletonize(np.pad(ink, 1)).sum())


def test_redrawn_mnist_digits_keep_their_shape_with_a_finer_pen():
    (images, _), _ = load_mnist()
    for image in images[:20]:
        thick = strips._mnist_glyph(image, 60, np.random.default_rng(1), stroke=None)
        fine = strips._mnist_glyph(image, 60, np.random.default_rng(1), stroke=0.04)
        assert fine.shape == thick.shape
        # The pen asked for (0.04 × 60 = 2.4 pixels), finer than MNIST's own strokes ...
        assert 1.8 < _stroke_width(fine) < 3.2 < _stroke_width(thick)
        # ... and all of it where the digit is: the same digit written with a finer pen.
        near = strips.ndimage.binary_dilation(thick > 0.05, iterations=2)
        assert fine[near].sum() >= 0.95 * fine.sum()


@pytest.fixture
def one_style(monkeypatch):
    """_line with one spacing style of a fixed gap, no slant; returns a function setting the measure."""
    monkeypatch.setattr(strips, "_slanted", lambda glyph, slant: glyph)

    def use(gap: float, by_ink: bool):
        monkeypatch.setattr(strips, "SPACING", {"fixed": (gap, gap)})
        monkeypatch.setattr(strips, "SPACING_WEIGHTS", (1.0,))
        monkeypatch.setattr(strips, "INK_SPACED_SHARE", 1.0 if by_ink else 0.0)
    return use


def _ink_columns(line: np.ndarray, rows: slice) -> np.ndarray:
    return np.flatnonzero((line[rows] > 0.3).any(axis=0))


def test_ink_spacing_puts_a_digit_under_a_seven_s_bar(one_style):
    height = 40
    seven = _bar(height, 30, slice(0, 6))  # a bar along the top
    seven[:, 0:6] = 1.0  # and a stem down its left side: room under the bar's right part
    low = np.zeros((height, 20), np.float32)
    low[20:, 0:6] = 1.0  # a digit whose ink is all low down, under the bar's reach
    one_style(0.0, by_ink=False)
    boxed, _ = strips._line([seven, low], height, np.random.default_rng(0))
    one_style(0.0, by_ink=True)
    inked, _ = strips._line([seven, low], height, np.random.default_rng(0))
    # Box to box, the second digit starts after the seven's box; ink to ink, it moves under the bar, as far
    # as MIN_ADVANCE lets it: its box starts halfway along the seven's.
    boxed_columns, inked_columns = _ink_columns(boxed, slice(None)), _ink_columns(inked, slice(None))
    assert boxed_columns[-1] - boxed_columns[0] + 1 == 30 + 6
    assert inked_columns[-1] - inked_columns[0] + 1 == 30


def test_ink_spacing_makes_strokes_touch_at_a_zero_gap_and_part_at_a_wide_one(one_style):
    height = 40
    left, right = _bar(height, 8), _bar(height, 8)
    for gap, empty_columns in ((0.0, 0), (0.5, 20)):
        one_style(gap, by_ink=True)
        line, style = strips._line([left, right], height, np.random.default_rng(3))
        assert style == "fixed"
        rows = slice(height, height + 10)  # rows both bars cover, whatever their baselines
        columns = _ink_columns(line, rows)
        between = columns[-1] - columns[0] + 1 - 16
        assert between == empty_columns


def test_ink_spacing_never_puts_a_digit_before_its_left_neighbour(one_style):
    height = 40
    wide = np.zeros((height, 30), np.float32)
    wide[:, :6] = wide[:, 24:] = 1.0  # two strokes with room between them
    narrow = _bar(height, 6)
    one_style(-0.6, by_ink=True)  # strokes asked to cross by more than the narrow digit is wide
    line, _ = strips._line([wide, narrow], height, np.random.default_rng(5))
    columns = _ink_columns(line, slice(None))
    wide_starts = columns[0]
    narrow_starts = next(column for column in columns if column >= wide_starts + 6)
    assert narrow_starts - wide_starts == int(strips.MIN_ADVANCE * 30)  # half the wide digit's width on
