"""Where two touching digits meet: the cheapest straight cut through a piece of ink that leaves two digits.

Usage:

    junction = find_junction(mask, stroke)       # None when no cut leaves two digit-like sides
    junction = find_junction(mask, stroke, max_crossings=1)  # only cuts that cross one stroke
    junction.strokes, junction.crossings         # ink the cut crosses (stroke widths), strokes crossed
    left, right = junction.sides(mask)           # the two halves, bool masks of mask's shape

Why: two handwritten digits that touch are one connected piece. Where they meet,
a cut crosses one stroke (a touching point, one shared stroke end), while any
cut through a single digit with both sides tall crosses it at least twice (a 0's
top and bottom, an 8's loops); overlapping digits are crossed twice, but over
little ink. The cut may lean like the handwriting (slanted writing makes
neighbours overlap in x, so a vertical cut would cross both). Each side must have ink in most rows and hold a fair share of the ink:
that rules out the cheap cuts inside one digit (a 4's arm above its bar, a 7's
bar, the flag of a 1).

segment.py uses it only on pieces already wide enough to hold two digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Cut slants tried, as x shift per row: 0 is vertical, ±0.4 leans ≈22° like slanted writing.
SHEARS = np.linspace(-0.4, 0.4, 9)
# Cuts are tried between these fractions of the (sheared) width: a digit is not a sliver.
INNER_FROM, INNER_TO = 0.2, 0.8
# Each side has ink in at least this fraction of the piece's rows and holds this share of its ink.
MIN_SIDE_HEIGHT = 0.7
MIN_SIDE_INK = 0.25


@dataclass
class Junction:
    """A straight cut: ink with sheared x = x - shear·(y - center_row) < column is the left side."""

    shear: float
    column: int
    offset: int  # the smallest sheared x, so that columns start at 0
    strokes: float  # ink on the cut, in stroke widths
    crossings: int  # separate strokes the cut crosses

    def sides(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mask split along the cut into (left, right); the cut's own pixels go to the right."""
        sheared = _sheared_columns(mask.shape, self.shear) - self.offset
        left = mask & (sheared < self.column)
        return left, mask & ~left


def _sheared_columns(shape: tuple[int, int], shear: float) -> np.ndarray:
    """Each pixel's column after shearing rows by `shear` around the middle row (int array of `shape`)."""
    height, width = shape
    rows = np.arange(height)[:, None]
    return np.round(np.arange(width)[None, :] - shear * (rows - (height - 1) / 2)).astype(np.intp)


def _rows_covered(columns: np.ndarray, rows: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cut column c: how many rows hold ink left of c, and how many right of c.

    Rows covered, not the extent from top to bottom: two stray ends at the top and
    the bottom of a digit span its height but cover few rows, while a digit's
    connected strokes cover every row between its top and its bottom.
    """
    leftmost = np.full(height, width)
    rightmost = np.full(height, -1)
    np.minimum.at(leftmost, rows, columns)
    np.maximum.at(rightmost, rows, columns)
    # A row has ink left of c when its leftmost ink is < c: a cumulative count over c.
    left = np.cumsum(np.bincount(leftmost[leftmost < width] + 1, minlength=width + 1))[:width]
    # …and right of c when its rightmost ink is > c.
    right = np.cumsum(np.bincount(rightmost[rightmost >= 0], minlength=width)[::-1])[::-1]
    right = np.concatenate([right[1:], [0]])
    return left, right


def _crossings(rows: np.ndarray, columns: np.ndarray, height: int, width: int) -> np.ndarray:
    """Per (sheared) column: how many separate runs of ink it holds; a one-pixel gap (a jagged edge) is no gap."""
    sheared = np.zeros((height + 2, width), dtype=bool)
    sheared[rows + 2, columns] = True
    starts = sheared[2:] & ~sheared[1:-1] & ~sheared[:-2]
    return starts.sum(axis=0)


def _best_cut_for_shear(rows: np.ndarray, cols: np.ndarray, height: int, shear: float,
                        stroke: float, max_crossings: int) -> Junction | None:
    """The cheapest admissible cut at one slant, or None."""
    sheared = np.round(cols - shear * (rows - (height - 1) / 2)).astype(np.intp)
    offset = int(sheared.min())
    sheared -= offset
    width = int(sheared.max()) + 1
    on_cut = np.bincount(sheared, minlength=width)
    crossings = _crossings(rows, sheared, height, width)
    ink = on_cut.cumsum()
    total = ink[-1]
    left_rows, right_rows = _rows_covered(sheared, rows, width, height)
    candidates = np.arange(max(1, int(INNER_FROM * width)), min(width - 1, int(np.ceil(INNER_TO * width))))
    if candidates.size == 0:
        return None
    left_ink = ink[candidates - 1] / total
    right_ink = 1.0 - ink[candidates] / total
    left_height = left_rows[candidates] / height
    right_height = right_rows[candidates] / height
    admissible = ((crossings[candidates] <= max_crossings)
                  & (left_ink >= MIN_SIDE_INK) & (right_ink >= MIN_SIDE_INK)
                  & (left_height >= MIN_SIDE_HEIGHT) & (right_height >= MIN_SIDE_HEIGHT))
    if not admissible.any():
        return None
    costs = np.where(admissible, on_cut[candidates], np.iinfo(np.intp).max)
    best = int(np.argmin(costs))
    column = int(candidates[best])
    return Junction(float(shear), column, offset, float(on_cut[column] / max(stroke, 1.0)), int(crossings[column]))


def find_junction(mask: np.ndarray, stroke: float, max_crossings: int | None = None) -> Junction | None:
    """The cut through `mask` crossing the least ink (slanted or not) that leaves two digit-like sides.

    With `max_crossings`, only cuts crossing at most that many separate strokes count.
    """
    limit = np.iinfo(np.intp).max if max_crossings is None else max_crossings
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return None
    best = None
    for shear in SHEARS:
        junction = _best_cut_for_shear(rows, cols, mask.shape[0], shear, stroke, limit)
        # Ties go to the straighter cut (SHEARS is not ordered by slant; compare explicitly).
        if junction is not None and (best is None or junction.strokes < best.strokes
                                     or (junction.strokes == best.strokes and abs(shear) < abs(best.shear))):
            best = junction
    return best
