"""The numbers the web page's own reader (static/pad.js) needs, taken from the vision modules' constants.

Usage:

    params = pad_parameters()        # a JSON-serialisable dict; the server hands it to the page
    # in the page: preparePad(rgba, width, height, params) → {kind: "digit" | "blank" | "server", ...}

Why: pad.js is the project's one second implementation of the preprocessing:
the canvas path of pipeline.analyze (canvas.py → preprocess.py / threshold.py →
segment.py → to_mnist) for a single drawn digit, run in the browser. It
hard-codes no threshold, size or fraction: every one comes from here, read from
the module that owns it, so a constant tuned in Python reaches the page with
no second edit. tests/test_pad_parity.py holds the two implementations to the
same answers in a real Chromium.

The few numbers the Python code writes inline rather than as module constants
are listed in `_INLINE` with where they live; change them in both places.
"""

from __future__ import annotations

import PIL

from digitlab.vision import canvas, decode, deskew, page, pipeline, preprocess, segment, slant, threshold

# Numbers written inline in the Python functions pad.js mirrors (not module constants).
_INLINE = {
    # preprocess.has_dark_ink: the frame is 1/12 of each side; photos are sampled at half
    # resolution from this shorter side on; _clear_polarity's decision margin.
    "polarity_frame_divisor": 12,
    "polarity_half_resolution_side": 400,
    "polarity_margin": 1e-4,
    # preprocess.ink_against: the smallest background divided by.
    "min_background": 1e-3,
    # threshold.binarize: the blur's window.
    "blur_size": 3,
    # segment.segment_digits: more than this many pieces per digit is noise; a piece needs this many pixels.
    "max_pieces_per_digit": 4,
    "min_piece_pixels": 2,
    # preprocess.to_mnist: the contrast stretch's percentile of the stroke pixels and its smallest level.
    "ink_level_percentile": 90,
    "min_ink_level": 1e-6,
    # preprocess._tight: pixels brighter than this are the digit's.
    "visible_ink": 0.05,
}


def pad_parameters() -> dict:
    """Every constant pad.js uses, by the name it uses (snake_case, as in the Python)."""
    return {
        # decode.py / canvas.py: which drawings are read at their own size on the even-canvas path.
        "work_min_side": decode.WORK_MIN_SIDE,
        "drawing_max_side": canvas.DRAWING_MAX_SIDE,
        "even_tolerance": canvas.EVEN_TOLERANCE,
        "min_canvas_fraction": canvas.MIN_CANVAS_FRACTION,
        "min_sheet_fraction": page.MIN_SHEET_FRACTION,
        # preprocess.py / threshold.py: polarity, ink, mask.
        "light_ink_margin": preprocess.LIGHT_INK_MARGIN,
        "min_ink_contrast": threshold.MIN_INK_CONTRAST,
        "otsu_bins": threshold._OTSU_BINS,
        "box_margin": threshold._BOX_MARGIN,
        # segment.py: pieces → one digit.
        "max_ink_fraction": segment.MAX_INK_FRACTION,
        "speck_area_fraction": segment.SPECK_AREA_FRACTION,
        "line_height_fraction": segment.LINE_HEIGHT_FRACTION,
        "line_length": segment.LINE_LENGTH,
        "merge_x_overlap": segment.MERGE_X_OVERLAP,
        "merge_max_gap": segment.MERGE_MAX_GAP,
        "min_height_fraction": segment.MIN_HEIGHT_FRACTION,
        "max_digits": segment.MAX_DIGITS,
        "split_aspect": segment.SPLIT_ASPECT,
        # pipeline.py and deskew.py: the digit's smallest height, its edge, when a line is leveled.
        "min_digit_height_fraction": pipeline.MIN_DIGIT_HEIGHT_FRACTION,
        "min_digit_pixels": pipeline.MIN_DIGIT_PIXELS,
        "edge_pixels": pipeline.EDGE_PIXELS,
        "min_line_pieces": deskew.MIN_LINE_PIECES,
        # preprocess.to_mnist and slant.py: the MNIST geometry.
        "digit_box": preprocess.DIGIT_BOX,
        "field": preprocess.FIELD,
        "field_center": preprocess.FIELD_CENTER,
        "thin_stroke_ratio": preprocess.THIN_STROKE_RATIO,
        "target_stroke_ratio": preprocess.TARGET_STROKE_RATIO,
        "min_slant": slant.MIN_SLANT,
        "max_slant": slant.MAX_SLANT,
        "min_shear": slant.MIN_SHEAR,
        # Not a constant of ours: Pillow 13 resizes a much shorter image vertically first
        # (python-pillow/Pillow#9549), which rounds the middle image differently.
        "pillow_vertical_pass_first": int(PIL.__version__.split(".")[0]) >= 13,
        **_INLINE,
    }
