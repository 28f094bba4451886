"""Stage 8: the line of digits as one strip of fixed height, for the line reader.

Usage:

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
