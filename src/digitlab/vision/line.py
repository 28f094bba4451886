"""Stage 8: the line of digits as one strip of fixed height, for the line reader.

Usage:

    boxes = line_boxes(mask, digit_boxes)         # the line's extent: its main run of digits and the ink beside it
    strip = cut_strip(ink, boxes, threshold)      # None when there are no boxes
    strip.pixels                                  # (STRIP_HEIGHT, width) float32 in [0, 1], ink bright
    strip.source_box(x0, x1)                      # strip columns [x0, x1) → box in the ink image's pixels

The line reader (digitlab.recognize.line_reader) reads a whole number at once,
so it decides where one digit ends and the next begins; segmentation only has
to say where the line is. The strip is the ink image (illumination flattened,
ink bright) around the union of the digit-like pieces, scaled so that the
line's height spans CONTENT_HEIGHT rows, with a margin of paper all round, and
its ink level normalized: the model sees the same strip whatever the photo's
size, exposure or ink colour. Faint ink below the binarization threshold is
kept (scaled down), so a stroke with a small gap or a pale pencil line still
shows what the mask lost. Training strips (digitlab.synth.strips) are cut by
this very function from synthetic photos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

STRIP_HEIGHT = 32
# Rows the line's ink spans; the rest is margin above and below (ascending and descending strokes).
CONTENT_HEIGHT = 24
# Paper kept left and right of the line, in strip columns: the first and last digit are never cut.
SIDE_MARGIN = 8
# The model's frames are 4 columns wide, so a strip is a multiple of 4 wide.
WIDTH_MULTIPLE = 4
# Wider lines are scaled down to fit (8 widely spaced digits are about 400 columns).
MAX_STRIP_WIDTH = 640
# Ink this far below the binarization threshold counts as paper (scaled 0); faint strokes between it and
# the threshold keep part of their strength.
PAPER_FRACTION_OF_THRESHOLD = 0.5
# The ink level that maps to 1: this percentile of the pixels above the threshold.
INK_LEVEL_PERCENTILE = 90


# The line is its longest run of digits: digits further apart than this many digit heights are another run
# (a mark at the image's edge, a shadow's band) and stay out of the strip.
RUN_GAP_HEIGHTS = 4.0
# A digit whose middle is further than this many digit heights from the run's middle row is not on the line.
OFF_LINE_HEIGHTS = 0.75
# Ink beside the run that segmentation's filters dropped (a first digit in pieces, a small last digit) joins
# the line when it is this close (in digit heights), its middle on the line, at least MIN_PIECE_HEIGHT and at
# most MAX_PIECE_HEIGHT digit heights tall and MAX_PIECE_WIDTH wide (longer is a rule or an edge).
REACH_HEIGHTS = 0.8
MIN_PIECE_HEIGHT, MAX_PIECE_HEIGHT, MAX_PIECE_WIDTH = 0.3, 1.5, 2.0


def _main_run(boxes: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The boxes of the longest run of digits on one line (ties: the run with more ink area).

    With the image's `shape`, boxes touching its border are left out when
    others do not: digits rarely touch the border, while the band of a shadow's
    edge or a wedge of shadow read as ink always does. (A digit cut by a tight
    crop, next to the others, comes back in line_boxes as ink beside the run.)
    """
    if shape is not None:
        inside = (boxes[:, 0] > 0) & (boxes[:, 1] > 0) & (boxes[:, 2] < shape[1]) & (boxes[:, 3] < shape[0])
        if inside.any():
            boxes = boxes[inside]
    height = float(np.median(boxes[:, 3] - boxes[:, 1]))
    middles = (boxes[:, 1] + boxes[:, 3]) / 2
    if len(boxes) > 2:  # the line's row: the middle of the box in the middle (so that box always stays)
        line_row = np.sort(middles)[len(middles) // 2]
        boxes = boxes[np.abs(middles - line_row) <= OFF_LINE_HEIGHTS * height + 0.5 * (boxes[:, 3] - boxes[:, 1])]
    boxes = boxes[np.argsort(boxes[:, 0])]
    runs, current, right = [], [boxes[0]], boxes[0, 2]
    for box in boxes[1:]:
        if box[0] - right > RUN_GAP_HEIGHTS * height:
            runs.append(current)
            current = []
        current.append(box)
        right = max(right, box[2])
    runs.append(current)
    best = max(runs, key=lambda run: (len(run), sum((b[2] - b[0]) * (b[3] - b[1]) for b in run)))
    return np.array(best)


def line_boxes(mask: np.ndarray, boxes: list[tuple[int, int, int, int]], whole_image: bool = True
               ) -> list[tuple[int, int, int, int]]:
    """The line's boxes (x0, y0, x1, y1): the main run of `boxes` and the ink pieces of `mask` beside it.

    `whole_image`: `mask` is the whole image's (its border is the photo's), not
    a crop such as a leveled line's.

    The digits segmentation keeps are where the line is, but its filters may drop
    a digit at either end (broken in pieces, or small next to the others), and a
    stray mark far away would stretch the strip; the line reader decides the
    digits, so the strip is bounded by the line's ink instead.
    """
    if not boxes:
        return []
    run = _main_run(np.array(boxes, dtype=np.int64), mask.shape if whole_image else None)
    height = float(np.median(run[:, 3] - run[:, 1]))
    top, bottom = int(run[:, 1].min()), int(run[:, 3].max())
    left, right = int(run[:, 0].min()), int(run[:, 2].max())
    labels, _ = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    pieces = []
    for slices in ndimage.find_objects(labels):
        if slices is None:
            continue
        rows, columns = slices
        piece_height, piece_width = rows.stop - rows.start, columns.stop - columns.start
        if (MIN_PIECE_HEIGHT * height <= piece_height <= MAX_PIECE_HEIGHT * height
                and piece_width <= MAX_PIECE_WIDTH * height
                and top - 0.25 * height <= (rows.start + rows.stop) / 2 <= bottom + 0.25 * height):
            pieces.append((columns.start, rows.start, columns.stop, rows.stop))
    line = [tuple(int(value) for value in box) for box in run]
    grown = True
    while grown:  # each piece joined may bring the next one within reach
        grown = False
        for piece in pieces:
            reach = REACH_HEIGHTS * height
            outside = piece[2] > right or piece[0] < left
            if outside and piece[0] <= right + reach and piece[2] >= left - reach:
                line.append(piece)
                left, right = min(left, piece[0]), max(right, piece[2])
                grown = True
    return line


@dataclass
class LineStrip:
    """A line of digits cut out of an ink image, and how to map strip columns back to it."""

    pixels: np.ndarray  # (STRIP_HEIGHT, width) float32 in [0, 1], ink bright
    scale: float  # strip pixels per source pixel
    origin: tuple[float, float]  # (x, y) in source pixels of the strip's top-left corner
    source_shape: tuple[int, int]  # (height, width) of the source ink image

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    def source_box(self, x0: int, x1: int) -> tuple[int, int, int, int]:
        """Strip columns [x0, x1) → (x0, y0, x1, y1) in source pixels, rows cut to the ink in those columns."""
        columns = self.pixels[:, max(0, x0):max(x0 + 1, x1)]
        rows = np.flatnonzero(columns.max(axis=1) > 0.5) if columns.size else np.zeros(0, int)
        top, bottom = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, STRIP_HEIGHT)
        height, width = self.source_shape
        left, up = self.origin
        return (max(0, int(np.floor(left + x0 / self.scale))), max(0, int(np.floor(up + top / self.scale))),
                min(width, int(np.ceil(left + x1 / self.scale))), min(height, int(np.ceil(up + bottom / self.scale))))


def _ink_level(crop: np.ndarray, threshold: float) -> float:
    above = crop[crop > threshold]
    return float(np.percentile(above, INK_LEVEL_PERCENTILE)) if above.size else max(threshold, 1e-3)


def cut_strip(ink: np.ndarray, boxes: list[tuple[int, int, int, int]], threshold: float) -> LineStrip | None:
    """The ink around `boxes` (x0, y0, x1, y1 each, the line's pieces) as a LineStrip; None without boxes."""
    if not boxes:
        return None
    corners = np.array(boxes, dtype=np.float64)
    x0, y0 = corners[:, 0].min(), corners[:, 1].min()
    x1, y1 = corners[:, 2].max(), corners[:, 3].max()
    scale = CONTENT_HEIGHT / max(y1 - y0, 1.0)
    width = (x1 - x0) * scale + 2 * SIDE_MARGIN
    if width > MAX_STRIP_WIDTH:  # a very long line: smaller, centred vertically
        scale *= (MAX_STRIP_WIDTH - 2 * SIDE_MARGIN) / ((x1 - x0) * scale)
    columns = int(np.ceil(((x1 - x0) * scale + 2 * SIDE_MARGIN) / WIDTH_MULTIPLE)) * WIDTH_MULTIPLE
    left = (x0 + x1) / 2 - columns / scale / 2
    top = (y0 + y1) / 2 - STRIP_HEIGHT / scale / 2
    right, bottom = left + columns / scale, top + STRIP_HEIGHT / scale
    # The source region padded with paper where it runs past the image's edges.
    height, width_px = ink.shape
    pad_left, pad_top = int(np.ceil(max(0.0, -left))) + 1, int(np.ceil(max(0.0, -top))) + 1
    pad_right = int(np.ceil(max(0.0, right - width_px))) + 1
    pad_bottom = int(np.ceil(max(0.0, bottom - height))) + 1
    crop_left, crop_top = max(0, int(np.floor(left))), max(0, int(np.floor(top)))
    crop_right, crop_bottom = min(width_px, int(np.ceil(right))), min(height, int(np.ceil(bottom)))
    crop = np.asarray(ink[crop_top:crop_bottom, crop_left:crop_right], dtype=np.float32)
    floor = PAPER_FRACTION_OF_THRESHOLD * threshold
    level = max(_ink_level(crop, threshold), threshold + 1e-3)
    crop = np.clip((crop - floor) / (level - floor), 0.0, 1.0)
    padded = np.pad(crop, ((pad_top, pad_bottom), (pad_left, pad_right)))
    origin_x, origin_y = crop_left - pad_left, crop_top - pad_top
    region = (left - origin_x, top - origin_y, right - origin_x, bottom - origin_y)
    image = Image.fromarray(np.ascontiguousarray(padded), mode="F")
    pixels = np.asarray(image.resize((columns, STRIP_HEIGHT), Image.Resampling.BILINEAR, box=region),
                        dtype=np.float32)
    return LineStrip(np.clip(pixels, 0.0, 1.0), float(scale), (float(left), float(top)), (height, width_px))
