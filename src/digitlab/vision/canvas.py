"""Drawings on an even canvas: told apart from photos so they are read at a smaller working size.

Usage:

    tone = even_canvas_tone(gray)              # the full-size grayscale image from decode_full_size
    if tone is not None:                       # a drawing: its paper is this one tone, in [0, 1]
        decoded = at_working_size(decoded, max_side=DRAWING_MAX_SIDE)

Why: a drawing from the web page (a 200×200 PNG), a digital drawing or a clean
scan has paper of one exact tone all around it. It is not a sheet photographed
on a table (page.py): the table's texture breaks an even frame, and on an even
table the sheet is a large area brighter than the frame, which a drawing never
has (light ink on a dark canvas covers far less). Its paper is one level
everywhere, so there is no lighting to estimate and divide out (the ink is
measured against that level), and its strokes are clean, so a large drawing
needs no more than DRAWING_MAX_SIDE working pixels. Thresholding, segmentation
and the MNIST normalization are the same code as for a photo.
`benchmarks/drawings.py` measures the CPU saved and checks that the digits read
are the same as on the photo path.
"""

from __future__ import annotations

import numpy as np

from digitlab.vision.decode import WORK_MIN_SIDE
from digitlab.vision.page import MIN_SHEET_FRACTION

# Border pixels within this much of each other (in [0, 1]) are one tone: the
# rounding of an 8-bit image, not the noise of a camera sensor.
EVEN_TOLERANCE = 2 / 255
# Working size of a drawing's longer side. Measured with benchmarks/drawings.py on
# drawn 1–3 digit numbers sent at 200 px: read at most 200 px, the same answers as
# the photo path; at 128 px, thin strokes of a 3-digit number fade and about 1 in
# 100 numbers more is misread. Single MNIST digits read the same at either size.
DRAWING_MAX_SIDE = 200
# At least this fraction of the image is the canvas tone: a scan with a shadow or a
# gradient inside an even frame is not a canvas, and takes the photo path.
MIN_CANVAS_FRACTION = 0.5


def even_canvas_tone(gray: np.ndarray) -> float | None:
    """The canvas tone when the whole outer frame (1 px) and most of the image are that one tone, else None.

    None too when what is brighter than the frame could be a sheet of paper on
    an even table (page.py's smallest sheet), and for an image smaller than
    decode.WORK_MIN_SIDE (a thumbnail, a low-resolution scan): those take the
    photo path, which enlarges them.
    """
    if max(gray.shape) < WORK_MIN_SIDE or min(gray.shape) < 3:
        return None
    frame = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    low, high = float(frame.min()), float(frame.max())
    if high - low > EVEN_TOLERANCE:
        return None
    tone = (low + high) / 2
    on_canvas = np.count_nonzero(np.abs(gray - np.float32(tone)) <= EVEN_TOLERANCE)
    if on_canvas < MIN_CANVAS_FRACTION * gray.size:
        return None
    brighter = np.count_nonzero(gray > np.float32(high + EVEN_TOLERANCE))
    return tone if brighter < MIN_SHEET_FRACTION * gray.size else None
