"""Stage 4b: the printed lines of a ruled or squared sheet taken out of the ink mask.

Usage:

    cleaned = without_rules(ink_mask, min_height)   # an InkMask without its rules, or None when it has none

Why: the lines of a ruled or squared sheet are ink to the threshold. Light and
JPEG break them into hundreds of dashes, which segmentation takes for noise or
a page of text (more pieces than a number has), so nothing is read; and a digit
written on a line is one piece with it. The pipeline calls this only when
segmentation found no digit (pipeline.py), so a photo read today reads the same.

A rule is a thin band of rows (or, for a squared sheet, of columns) in which
the mask has ink in at least RULE_COVERAGE of the columns, running across
RULE_EXTENT of the sheet: a line across it, however broken. Its pixels go, except in the columns where ink lies
both just above and just below it: a stroke of a digit crossing the line keeps
its ink. (The strip the line reader reads is cut from the ink image, which
keeps everything; only where segmentation looks changes.)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from digitlab.vision.threshold import InkMask

# A rule has ink in at least RULE_COVERAGE of the mask's columns (rows, for the columns of a squared sheet),
# from one end to the other of at least RULE_EXTENT of them: rules broken by light and JPEG cover 0.3-0.9
# of the sheet's width, and run across it; a digit's stroke, however long, does not.
RULE_COVERAGE, RULE_EXTENT = 0.3, 0.6
# A rule is at most this many mask pixels thick (a printed line, widened by the threshold's 3×3 blur),
# and at most RULE_THICKNESS_FRACTION of the mask's side: a thicker band is a digit's bar or a shadow.
MAX_RULE_PIXELS, RULE_THICKNESS_FRACTION = 4, 0.05
# Rows looked at above and below a rule for a stroke that crosses it.
CROSSING_GAP = 1


def _bands(flags: np.ndarray) -> list[tuple[int, int]]:
    """The runs [start, stop) of True in a 1-D bool array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _clear_rows(mask: np.ndarray) -> int:
    """Clears the rule rows of `mask` (in place) but where a stroke crosses them; returns how many rules."""
    height = mask.shape[0]
    thickest = min(MAX_RULE_PIXELS, max(1, int(RULE_THICKNESS_FRACTION * height)))
    rules = 0
    for start, stop in _bands(mask.mean(axis=1) >= RULE_COVERAGE):
        inked = np.flatnonzero(mask[start:stop].any(axis=0))
        if stop - start > thickest or inked[-1] + 1 - inked[0] < RULE_EXTENT * mask.shape[1]:
            continue
        rules += 1
        above = mask[start - 1 - CROSSING_GAP] if start - 1 - CROSSING_GAP >= 0 else np.zeros(mask.shape[1], bool)
        below = mask[stop + CROSSING_GAP] if stop + CROSSING_GAP < height else np.zeros(mask.shape[1], bool)
        mask[start:stop, ~(above & below)] = False
    return rules


def without_rules(ink_mask: InkMask, min_height: float) -> InkMask | None:
    """`ink_mask` without the lines of a ruled or squared sheet, and then without the dots where a squared
    sheet's broken lines cross (pieces smaller than `min_height`, the smallest digit, both ways); None when
    it has no rule (noise is no squared sheet: its specks stay, and it stays unread)."""
    mask = ink_mask.mask.copy()
    if not _clear_rows(mask) + _clear_rows(mask.T):  # mask.T is a view: its rows are the mask's columns
        return None
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    dots = [index for index, (rows, columns) in enumerate(ndimage.find_objects(labels), start=1)
            if rows.stop - rows.start < min_height and columns.stop - columns.start < min_height]
    mask[np.isin(labels, dots)] = False
    return InkMask(mask, ink_mask.top, ink_mask.left, ink_mask.shape, ink_mask.threshold)
