"""Stage 1b: a sheet of paper photographed on a darker table → the table painted over in the paper's tone.

Usage:

    gray = paper_only(gray)          # unchanged unless a bright sheet lies inside a darker surround
    ink_mask = without_border_bands(ink_mask)   # later, on the binarized ink: the table's band along a side

Why: the later stages take the image's outer frame for paper (polarity) and
whatever is darker than the local paper level for ink. A phone photo often shows
the table around the sheet: its frame is then table, the sheet looks like light
ink on a dark ground, or the table's band along the border looks like one huge
stroke, and nothing is read. Painting the table in the paper's own median tone
makes such a photo look like a scan of the sheet; the pixels inside the sheet
(the ink included) are not touched, so boxes and crops are unchanged. Marks in
the surround much darker than it (by more than the sheet is brighter than it,
or by a good part of the surround's own level) are kept too: a hard shadow
across the sheet can pass for the table, and the digits written in it must not
be painted away.

The sheet is the largest bright region of a thumbnail (Otsu's threshold), taken
only when it is big, clearly brighter than what surrounds it, leaves most of
the image's border to the surround, and ends in a sharp edge: a sheet filling
the frame, a shadow across it, a drawing or a chalkboard is left alone.

When the table shows along one or two sides only (the sheet then holds most
of the border) or as a thin strip, it stays, and the binarized ink holds it as
a band along the image's side: a band as tall as the digits passes for a row
of touching digits and pushes the real ones out. without_border_bands drops
the ink that runs along a side of the image (digits touch a side, if at all,
with a few stroke widths) and, at the border, ink far taller than the digits
clear of it (a wedge of shadow in a corner).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from digitlab.vision.threshold import InkMask, otsu_threshold

THUMBNAIL_SIDE = 128
# The sheet covers at least this fraction of the image…
MIN_SHEET_FRACTION = 0.2
# …the surround holds at least this fraction of the image's border pixels…
MIN_SURROUND_BORDER = 0.5
# …and the sheet's median is at least this much brighter than the surround's.
MIN_SHEET_CONTRAST = 0.15
# A sheet's edge is sharp: pixels between the two tones (the middle half of the contrast)
# lie within this many thumbnail pixels of the edge on average. A shadow or a gradient
# across the paper is a wide ramp of such tones, not a sheet.
MAX_EDGE_WIDTH = 2.0
# Thumbnail pixels of the sheet's edge left to the surround (the edge is a blend of both).
EDGE_MARGIN = 1
# Surround pixels darker than the surround's median by more than INK_CONTRAST times the sheet's contrast,
# or by more than SHADOWED_INK_RATIO of the surround's own level, are ink (in a shadow mistaken for the
# table), not table: they are kept, with INK_EDGE_PIXELS pixels around. Ink in a deep shadow is dark only
# relative to the shadowed paper (light divides both); a table's grain varies by a few percent. The ratio
# was chosen on validation photos (benchmarks/line_finding.py: lines found 91.8% -> 92.8%, 0.2 and 0.3 alike).
INK_CONTRAST, SHADOWED_INK_RATIO, INK_EDGE_PIXELS = 1.0, 0.3, 1
# Ink touching one side of the image over at least this fraction of its length is the table, the sheet's
# edge or a band of shadow, not a digit (chosen on validation photos of digitlab.synth.strips: a band
# along a side covers 0.5–1 of it, a digit cut by a tight crop a few stroke widths).
BORDER_CONTACT_FRACTION = 0.3
# A piece at the border more than TALL_PIECE_HEIGHTS times as tall as the typical piece clear of the border
# (pieces under SPECK_AREA_FRACTION of the largest one left out) is a wedge of shadow or the desk's corner.
# Chosen on validation photos (benchmarks/line_finding.py: 92.8% -> 93.2% of lines found; 1.5 gave 93.4%,
# within noise, and 2 keeps a tall digit cut by a tight crop).
TALL_PIECE_HEIGHTS, SPECK_AREA_FRACTION = 2.0, 0.04
# Both need at least this many pieces clear of the border (specks left out): with fewer, the ink at the
# border may be the digit itself, cut by a tight crop, and what is clear of it a loose piece of it (low-
# resolution scans, `benchmarks/readers_validation.py --photos 0 --scans 1000`: 90.1% read right with two,
# as without the border rules, 89.1% with one; lines found in validation photos, benchmarks/line_finding.py:
# 92.6% with two, 93.2% with one).
MIN_PIECES_INSIDE = 2
# Pieces that cannot be digits do not count among those that set a digit's height: a piece at least
# RULE_ASPECT times as wide as it is tall (a piece of a ruled or squared sheet's line) or shorter than
# the pipeline's smallest digit. On ruled paper the rules broken by the light are most of the pieces
# clear of the border, and a digit written on a rule that runs to the side (one piece with it) looked
# many rules tall: it went as a wedge of shadow.
RULE_ASPECT = 4


def sheet_mask(gray: np.ndarray) -> np.ndarray | None:
    """The sheet as a bool mask of `gray`'s thumbnail (holes filled, so ink is inside), or None if there is none."""
    height, width = gray.shape
    factor = min(1.0, THUMBNAIL_SIDE / max(height, width))
    size = (max(2, round(width * factor)), max(2, round(height * factor)))
    thumb = np.asarray(Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32), mode="F")
                       .resize(size, Image.Resampling.BOX))
    bright = thumb > otsu_threshold(np.clip(thumb, 0.0, 1.0))
    labels, count = ndimage.label(bright)
    if count == 0:
        return None
    largest = 1 + int(np.argmax(ndimage.sum_labels(bright, labels, index=range(1, count + 1))))
    sheet = ndimage.binary_fill_holes(labels == largest)
    border = np.concatenate([sheet[0], sheet[-1], sheet[1:-1, 0], sheet[1:-1, -1]])
    if sheet.mean() < MIN_SHEET_FRACTION or border.mean() > 1.0 - MIN_SURROUND_BORDER:
        return None
    paper, surround = float(np.median(thumb[sheet])), float(np.median(thumb[~sheet]))
    contrast = paper - surround
    if contrast < MIN_SHEET_CONTRAST:
        return None
    between = (thumb > surround + 0.25 * contrast) & (thumb < paper - 0.25 * contrast)
    edge_length = np.count_nonzero(sheet & ~ndimage.binary_erosion(sheet))
    if np.count_nonzero(between) > MAX_EDGE_WIDTH * edge_length:
        return None
    return ndimage.binary_erosion(sheet, iterations=EDGE_MARGIN)


def paper_only(gray: np.ndarray) -> np.ndarray:
    """`gray` with the surround of a photographed sheet painted in the sheet's median tone (a copy), else `gray`."""
    sheet = sheet_mask(gray)
    if sheet is None or not sheet.any():
        return gray
    height, width = gray.shape
    # The thumbnail's mask at full size (nearest: a sheet's outline needs no smoothing).
    rows = np.minimum((np.arange(height) * sheet.shape[0]) // height, sheet.shape[0] - 1)
    cols = np.minimum((np.arange(width) * sheet.shape[1]) // width, sheet.shape[1] - 1)
    inside = sheet[rows[:, None], cols[None, :]]
    paper, surround = float(np.median(gray[inside])), float(np.median(gray[~inside]))
    dark = (gray < surround - INK_CONTRAST * (paper - surround)) | (gray < (1.0 - SHADOWED_INK_RATIO) * surround)
    ink = ndimage.binary_dilation(dark, iterations=INK_EDGE_PIXELS)
    painted = gray.copy()
    painted[~inside & ~ink] = paper
    return painted


def without_border_bands(ink_mask: InkMask, min_height: float = 0) -> InkMask:
    """`ink_mask` without the pieces at the image's border that are no digits (see the module doc).

    A piece touching the border goes when it runs along a side (the table, the
    sheet's edge), or when it is much taller than the pieces clear of the border
    (a wedge of shadow in a corner, which would make every digit look small to
    segmentation). Unchanged when nothing touches the border, and unless at
    least MIN_PIECES_INSIDE pieces clear of the border remain (a tight crop of a
    digit is ink at the border, perhaps beside a loose piece of it).
    """
    mask = ink_mask.full()
    if not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()):
        return ink_mask
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    # Per label (index 0 is paper): whether it touches the border, and whether it runs along a side.
    at_border, bands = np.zeros(count + 1, dtype=bool), np.zeros(count + 1, dtype=bool)
    for side in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touching = np.bincount(side, minlength=count + 1)
        at_border |= touching > 0
        bands |= touching >= BORDER_CONTACT_FRACTION * side.size
    at_border[0] = bands[0] = False
    pieces = ndimage.find_objects(labels)
    heights = np.array([0] + [rows.stop - rows.start for rows, _ in pieces])
    areas = np.bincount(labels.ravel(), minlength=count + 1)
    widths = np.array([0] + [columns.stop - columns.start for _, columns in pieces])
    inside = np.flatnonzero(~at_border[1:]) + 1
    # Pieces of rules and pieces shorter than `min_height` (the smallest digit) left out.
    inside = inside[(widths[inside] < RULE_ASPECT * heights[inside]) & (heights[inside] >= min_height)]
    if inside.size:  # specks left out
        inside = inside[areas[inside] >= SPECK_AREA_FRACTION * areas[inside].max()]
    if inside.size < MIN_PIECES_INSIDE:
        # A digit cut by a tight crop (a scan filling its frame) beside a loose piece of it: left alone.
        return ink_mask
    # The pieces clear of the border set what a digit's height is here.
    bands |= at_border & (heights > TALL_PIECE_HEIGHTS * float(np.median(heights[inside])))
    if not bands.any():
        return ink_mask
    kept = mask & ~bands[labels]
    rows = np.flatnonzero(kept.any(axis=1))
    if rows.size == 0:
        return ink_mask
    columns = np.flatnonzero(kept.any(axis=0))
    top, left = int(rows[0]), int(columns[0])
    crop = kept[top:int(rows[-1]) + 1, left:int(columns[-1]) + 1]
    return InkMask(crop, top, left, ink_mask.shape, ink_mask.threshold)
