"""Stages 5–6: a binary ink mask → digit regions, left to right.

Usage:

    regions = segment_digits(mask)        # list[Region], ordered left to right
    region.box                            # (x0, y0, x1, y1) in mask pixels, x1/y1 exclusive
    region.mask                           # bool crop of the mask: only this digit's ink

Steps: connected components (8-connected, scipy.ndimage.label) → drop specks
(tiny next to the largest piece) and rules/underlines → merge pieces of one digit (a 5 whose top bar
came loose, a 7 drawn in two strokes: pieces that overlap strongly in x and are
close in y) → drop what is much shorter than the digits (dots, dashes,
underlines) → split a piece much wider than a digit (touching digits): in two
where the digits meet (junction.py), in more at the column-projection minima →
cut a piece about two digits wide where a clean junction shows two touching
digits → order by x.

Only one line of digits is read; text pages and noise (more than MAX_DIGITS
pieces) give no regions, so the reader answers "" rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from digitlab.vision.junction import find_junction
from digitlab.vision.preprocess import stroke_width

# Pieces smaller than this fraction of the largest piece's area are specks.
SPECK_AREA_FRACTION = 0.04
# After merging, a group shorter than this fraction of the tallest group is not a digit.
MIN_HEIGHT_FRACTION = 0.4
# Two pieces are one digit when their x-ranges overlap by this fraction of the narrower one…
MERGE_X_OVERLAP = 0.5
# …and the vertical gap between them is at most this fraction of the taller one.
MERGE_MAX_GAP = 0.5
# A group wider than SPLIT_ASPECT × its height is touching digits (a wide 2 or a
# slanted 0 reaches ≈ 1.4). Each part is as wide as the line's other digits, or
# DIGIT_ASPECT × height when there are none (MNIST: mean width ≈ 0.7 of height).
SPLIT_ASPECT = 1.5
DIGIT_ASPECT = 0.75
# In a line of several digits: split what is SPLIT_WIDTHS typical digits wide (and
# at least MIN_SPLIT_ASPECT × its height); a typical digit is at least MIN_DIGIT_ASPECT × height.
SPLIT_WIDTHS = 1.5
MIN_SPLIT_ASPECT = 1.1
MIN_DIGIT_ASPECT = 0.65
# Touching digits meet where a straight, possibly slanted cut crosses little ink
# (junction.py); a single digit's strokes cross any such cut at least twice. A group
# that width says is two digits is cut there only if that cut crosses at most
# WIDE_CUT_STROKES stroke widths of ink: wide single digits (a sprawling 2, a slanted
# 8 or 7) cut at 2.2 strokes or more, touching pairs mostly below 1.7.
WIDE_CUT_STROKES = 2.0
# A group narrower than that may still be two digits: it is cut if it is JUNCTION_WIDTHS
# times as wide as the line's wider digits (the 75th percentile of the others' widths,
# so a line's 1s do not make every other digit look wide), at least JUNCTION_ASPECT × its
# height, and a cut crosses one stroke over at most JUNCTION_STROKES stroke widths, or
# several (overlapping digits) over at most OVERLAP_STROKES.
JUNCTION_WIDTHS = 1.4
JUNCTION_ASPECT = 0.7
JUNCTION_STROKES = 2.0
OVERLAP_STROKES = 1.0
# All these were chosen on 900 synthetic lines (seeds 100,000–300,299; never the test
# seeds): 83 of their 97 touching pairs are cut, none of their ~3,400 single digits.
# A piece flatter than LINE_HEIGHT_FRACTION of the tallest piece and longer than
# LINE_LENGTH × its height is a rule or an underline.
LINE_HEIGHT_FRACTION = 0.25
LINE_LENGTH = 1.5
# More pieces than this is noise or a page of text, not a number.
MAX_DIGITS = 16
# Ink covering more than this fraction of the frame is not digits on paper.
MAX_INK_FRACTION = 0.45


@dataclass
class Region:
    """One digit: its box in mask pixels and the mask of its own ink inside that box."""

    box: tuple[int, int, int, int]  # (x0, y0, x1, y1), exclusive ends
    mask: np.ndarray  # bool (y1 - y0, x1 - x0)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    def padded(self, pad: int, shape: tuple[int, int]) -> tuple[tuple[slice, slice], np.ndarray]:
        """The box grown by `pad` pixels each way within an image of `shape`: its slices, and this mask in it."""
        x0, y0, x1, y1 = self.box
        height, width = shape
        top, left = max(0, y0 - pad), max(0, x0 - pad)
        bottom, right = min(height, y1 + pad), min(width, x1 + pad)
        mask = np.zeros((bottom - top, right - left), dtype=bool)
        mask[y0 - top:y1 - top, x0 - left:x1 - left] = self.mask
        return (slice(top, bottom), slice(left, right)), mask


@dataclass
class _Group:
    labels: list[int]
    x0: int
    y0: int
    x1: int
    y1: int
    area: int

    def absorb(self, other: "_Group") -> None:
        self.labels += other.labels
        self.x0, self.y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        self.x1, self.y1 = max(self.x1, other.x1), max(self.y1, other.y1)
        self.area += other.area


def _belong_together(a: _Group, b: _Group) -> bool:
    overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
    narrower = min(a.x1 - a.x0, b.x1 - b.x0)
    gap_y = max(a.y0, b.y0) - min(a.y1, b.y1)  # negative when they overlap in y
    taller = max(a.y1 - a.y0, b.y1 - b.y0)
    return overlap_x >= MERGE_X_OVERLAP * narrower and gap_y <= MERGE_MAX_GAP * taller


def merge_pieces(groups: list[_Group]) -> list[_Group]:
    """Merge pieces of one digit until no pair belongs together."""
    groups = sorted(groups, key=lambda group: -group.area)
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if _belong_together(groups[i], groups[j]):
                    groups[i].absorb(groups.pop(j))
                    merged = True
                    break
            if merged:
                break
    return groups


def _split_columns(mask: np.ndarray, parts: int) -> list[int]:
    """Cut positions (columns) for `parts` digits: projection minima near the even cuts."""
    width = mask.shape[1]
    projection = ndimage.uniform_filter1d(mask.sum(axis=0).astype(np.float64), size=3)
    cuts = [0]
    for index in range(1, parts):
        ideal = index * width / parts
        radius = max(1, int(0.3 * width / parts))
        low, high = max(cuts[-1] + 1, int(ideal - radius)), min(width - 1, int(ideal + radius) + 1)
        if low >= high:
            cuts.append(int(ideal))
            continue
        window = projection[low:high]
        # The lowest column; among equals, the one nearest the even cut.
        candidates = np.flatnonzero(window <= window.min() + 1e-9) + low
        cuts.append(int(candidates[np.argmin(np.abs(candidates - ideal))]))
    return cuts + [width]


def _tight_region(mask: np.ndarray, x_offset: int, y_offset: int) -> Region | None:
    rows, cols = np.nonzero(mask)
    if len(rows) == 0:
        return None
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    return Region((x_offset + x0, y_offset + y0, x_offset + x1, y_offset + y1), mask[y0:y1, x0:x1])


def split_touching(region: Region, digit_width: float | None = None) -> list[Region]:
    """Split a region much wider than one digit into round(width / expected width) parts.

    With `digit_width` (the line's typical single digit) a region is split when it
    is SPLIT_WIDTHS digits wide; alone, when it is SPLIT_ASPECT times as wide as tall.
    Two parts are cut where the digits meet, and only if they clearly do (WIDE_CUT_STROKES);
    more parts at the column-projection minima.
    """
    height = max(region.height, 1)
    if digit_width:
        if region.width <= max(SPLIT_WIDTHS * digit_width, MIN_SPLIT_ASPECT * height):
            return [region]
        expected_width = digit_width
    else:
        if region.width <= SPLIT_ASPECT * height:
            return [region]
        expected_width = DIGIT_ASPECT * height
    parts = max(2, int(round(region.width / max(expected_width, 1.0))))
    if parts == 2:
        return cut_at_junction(region, WIDE_CUT_STROKES)
    cuts = _split_columns(region.mask, parts)
    pieces = []
    for start, stop in zip(cuts[:-1], cuts[1:]):
        part = np.zeros_like(region.mask)
        part[:, start:stop] = region.mask[:, start:stop]
        piece = _tight_region(part, region.box[0], region.box[1])
        if piece is not None:
            pieces.append(piece)
    return pieces


def cut_at_junction(region: Region, max_strokes: float, max_strokes_one_crossing: float | None = None) -> list[Region]:
    """The region cut in two where digits meet; [region] when no cut is cheap enough.

    A cut qualifies if it crosses at most `max_strokes` stroke widths of ink, or a
    single stroke of at most `max_strokes_one_crossing` widths.
    """
    stroke = stroke_width(region.mask)
    junction = None
    if max_strokes_one_crossing is not None:
        junction = find_junction(region.mask, stroke, max_crossings=1)
        if junction is not None and junction.strokes > max_strokes_one_crossing:
            junction = None
    if junction is None:
        junction = find_junction(region.mask, stroke)
        if junction is not None and junction.strokes > max_strokes:
            junction = None
    if junction is None:
        return [region]
    pieces = [_tight_region(side, region.box[0], region.box[1]) for side in junction.sides(region.mask)]
    return [piece for piece in pieces if piece is not None]


def split_at_junction(region: Region, reference_width: float) -> list[Region]:
    """Two touching digits no wider than two digits → two regions (see JUNCTION_WIDTHS); else [region].

    `reference_width` is the width of the line's wider single digits.
    """
    if region.width < max(JUNCTION_WIDTHS * reference_width, JUNCTION_ASPECT * region.height):
        return [region]
    return cut_at_junction(region, OVERLAP_STROKES, JUNCTION_STROKES)


def _split_junctions(regions: list[Region]) -> list[Region]:
    """split_at_junction on every region of a line of two or more, each against the others' widths."""
    if len(regions) < 2:
        return regions
    widths = np.array([region.width for region in regions], dtype=np.float64)
    result = []
    for index, region in enumerate(regions):
        reference = float(np.percentile(np.delete(widths, index), 75))
        pieces = split_at_junction(region, reference)
        if len(pieces) > 1:  # three touching digits: each half may hold two
            pieces = [part for piece in pieces for part in split_at_junction(piece, reference)]
        result += pieces
    return result


_EIGHT_CONNECTED = np.ones((3, 3), dtype=int)
# Up to this many pieces, areas are counted inside each piece's box rather than over the whole image.
_BOX_AREA_PIECES = 32


def _areas(labels: np.ndarray, objects: list) -> np.ndarray:
    """Pixels per label (index 0 unused), as np.bincount(labels.ravel()) gives for labels 1..n."""
    if len(objects) > _BOX_AREA_PIECES:
        return np.bincount(labels.ravel(), minlength=len(objects) + 1)
    areas = np.zeros(len(objects) + 1, dtype=np.intp)
    for label, slices in enumerate(objects, start=1):
        if slices is not None:
            areas[label] = np.count_nonzero(labels[slices] == label)
    return areas


def segment_digits(mask: np.ndarray, image_pixels: int | None = None) -> list[Region]:
    """Binary ink mask → digit regions ordered left to right (empty for blank, noise or text).

    `mask` may be the box around the ink of a larger image of `image_pixels`
    pixels (the rest paper); boxes are then relative to the mask.
    """
    mask = np.asarray(mask, dtype=bool)
    ink_pixels = np.count_nonzero(mask)
    if not ink_pixels or ink_pixels / (image_pixels or mask.size) > MAX_INK_FRACTION:
        return []
    labels, count = ndimage.label(mask, structure=_EIGHT_CONNECTED)
    objects = ndimage.find_objects(labels)
    areas = _areas(labels, objects)
    groups = []
    largest = areas[1:].max()
    for label, slices in enumerate(objects, start=1):
        if slices is None or areas[label] < max(2, SPECK_AREA_FRACTION * largest):
            continue
        rows, cols = slices
        groups.append(_Group([label], cols.start, rows.start, cols.stop, rows.stop, int(areas[label])))
    if not groups or len(groups) > 4 * MAX_DIGITS:
        return []
    # Rules and underlines (flat, and longer than a digit is tall) would merge with
    # every digit above them; the loose bar of a 5 is flat too, but shorter.
    tallest = max(group.y1 - group.y0 for group in groups)
    groups = [group for group in groups
              if not (group.y1 - group.y0 < LINE_HEIGHT_FRACTION * tallest and group.x1 - group.x0 > LINE_LENGTH * tallest)]
    groups = merge_pieces(groups)
    tallest = max(group.y1 - group.y0 for group in groups)
    groups = [group for group in groups if (group.y1 - group.y0) >= MIN_HEIGHT_FRACTION * tallest]
    if len(groups) > MAX_DIGITS:
        return []

    regions = []
    for group in groups:
        crop = labels[group.y0:group.y1, group.x0:group.x1]
        own = crop == group.labels[0] if len(group.labels) == 1 else np.isin(crop, group.labels)
        regions.append(Region((group.x0, group.y0, group.x1, group.y1), own))
    # Touching digits are cut to the typical width of the line's other digits
    # (never narrower than MIN_DIGIT_ASPECT × height, so a line of 1s cannot shrink it).
    singles = [region.width for region in regions if region.width <= MIN_SPLIT_ASPECT * region.height]
    digit_width = None
    if singles and len(regions) > 1:
        typical_height = float(np.median([region.height for region in regions]))
        digit_width = max(float(np.median(singles)), MIN_DIGIT_ASPECT * typical_height)
    regions = [piece for region in regions for piece in split_touching(region, digit_width)]
    regions = _split_junctions(regions)
    if len(regions) > MAX_DIGITS:
        return []
    return sorted(regions, key=lambda region: (region.box[0] + region.box[2]) / 2)
