"""Stage 5b: a tilted line of digits → the same line level, before it is segmented for good.

Usage:

    angle = line_angle(regions)                   # degrees; 0 when the line is level or too short to tell
    page = straighten(ink, box, angle, threshold)   # the ink in box, rotated level and re-thresholded
    page.ink, page.mask                           # what segmentation and to_mnist then use
    page.box_in_source((x0, y0, x1, y1))          # a box found on the level page → a box in `ink`

Why: a phone held at an angle tilts the whole line. Tilted digits overlap in x,
so a vertical cut between touching digits crosses both, and a tilted wide digit
(a slanted 8) looks like two; the model also sees each digit tilted by the
page's angle on top of the writer's own slant, beyond the ±12° it was trained
on. Leveling the line undoes both. The angle comes from the digits themselves
(a line through their centers), so a single digit is never rotated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

# The line needs at least this many pieces, spread over at least LINE_SPAN_HEIGHTS of
# their height, for its angle to mean something (baselines jitter by ~6 % of the height).
MIN_LINE_PIECES = 3
LINE_SPAN_HEIGHTS = 2.0
# Tilts smaller than this are left alone: rotating costs a resampling blur for no gain.
MIN_TILT_DEGREES = 3.0
# Beyond this the pieces are not one line of digits (a column, a scatter): no rotation.
MAX_TILT_DEGREES = 30.0
# Paper kept around the ink when it is rotated, in pixels (more than the 3×3 blur reaches).
ROTATION_MARGIN = 4


def line_angle(boxes: list[tuple[int, int, int, int]]) -> float:
    """The angle (degrees, PIL's counter-clockwise) that levels the line through the boxes' centers.

    A least-squares line through the centers, y = a + b x (image rows grow
    downwards, so b > 0 is a line falling to the right); rotating by atan(b)
    levels it. 0 when there are too few pieces, they span too little width, or
    the fit says they are not a line.
    """
    if len(boxes) < MIN_LINE_PIECES:
        return 0.0
    boxes_array = np.asarray(boxes, dtype=np.float64)
    centers_x = (boxes_array[:, 0] + boxes_array[:, 2]) / 2
    centers_y = (boxes_array[:, 1] + boxes_array[:, 3]) / 2
    height = float(np.median(boxes_array[:, 3] - boxes_array[:, 1]))
    if np.ptp(centers_x) < LINE_SPAN_HEIGHTS * height:
        return 0.0
    slope = np.polyfit(centers_x, centers_y, 1)[0]
    angle = float(np.degrees(np.arctan(slope)))
    if abs(angle) < MIN_TILT_DEGREES or abs(angle) > MAX_TILT_DEGREES:
        return 0.0
    return angle


@dataclass
class LevelPage:
    """The ink around the digits, rotated so the line is level, and how to map boxes back."""

    ink: np.ndarray  # float32, rotated crop of the ink
    mask: np.ndarray  # bool, the rotated ink thresholded at the page's threshold
    angle: float  # degrees, counter-clockwise
    source_center: tuple[float, float]  # (x, y) of the rotation center in the source ink image
    level_center: tuple[float, float]  # (x, y) of the same point in the level page
    source_shape: tuple[int, int]

    def box_in_source(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box on the level page → the axis-aligned box around it in the source image (clipped)."""
        x0, y0, x1, y1 = box
        corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64)
        theta = np.radians(self.angle)
        cos, sin = np.cos(theta), np.sin(theta)
        relative = corners - self.level_center
        # The inverse of PIL's rotation: x = cx + cos·u − sin·v, y = cy + sin·u + cos·v.
        source_x = self.source_center[0] + cos * relative[:, 0] - sin * relative[:, 1]
        source_y = self.source_center[1] + sin * relative[:, 0] + cos * relative[:, 1]
        height, width = self.source_shape
        return (max(0, int(np.floor(source_x.min()))), max(0, int(np.floor(source_y.min()))),
                min(width, int(np.ceil(source_x.max()))), min(height, int(np.ceil(source_y.max()))))


def straighten(ink: np.ndarray, box: tuple[int, int, int, int], angle: float, threshold: float) -> LevelPage:
    """Rotate the ink inside `box` (x0, y0, x1, y1: the digits) by `angle`; threshold it again as binarize does."""
    height, width = ink.shape
    x0, y0, x1, y1 = box
    top, bottom = max(0, y0 - ROTATION_MARGIN), min(height, y1 + ROTATION_MARGIN)
    left, right = max(0, x0 - ROTATION_MARGIN), min(width, x1 + ROTATION_MARGIN)
    crop = np.ascontiguousarray(ink[top:bottom, left:right], dtype=np.float32)
    level = Image.fromarray(crop, mode="F").rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    level_ink = np.clip(np.asarray(level, dtype=np.float32), 0.0, 1.0)
    # The same mask rule as threshold.binarize: a 3×3 mean above the page's threshold.
    level_mask = ndimage.uniform_filter(level_ink, size=3, mode="nearest") > threshold
    source_center = (left + crop.shape[1] / 2, top + crop.shape[0] / 2)
    level_center = (level_ink.shape[1] / 2, level_ink.shape[0] / 2)
    return LevelPage(level_ink, level_mask, angle, source_center, level_center, (height, width))
