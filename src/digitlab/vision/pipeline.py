"""The whole vision pipeline: one image → MNIST-style 28×28 inputs, one per digit, left to right.

Usage:

    analysis = analyze("photo.jpg")              # path, bytes, file object, PIL image or numpy array
    for crop in analysis.digits:
        crop.box, crop.model_input                # box in original pixels; 28×28 float32 in [0, 1]
    analysis = analyze("photo.jpg", keep_stages=True)
    analysis.stages                               # {"1-gray": array, ...} for `--debug DIR`

Stages (each a tested function): decode (decode.py) → the table around a
photographed sheet painted over (page.py) → polarity → illumination flattening
→ threshold (preprocess.py) → segmentation (segment.py, junction.py) → a tilted
line leveled and segmented again (deskew.py) → per digit: crop, thicken thin
strokes, limit the slant (slant.py), scale to 20 px, center by mass in 28×28
(preprocess.to_mnist). The CLI, the web app and batch jobs all come through
here via digitlab.recognize.Recognizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from digitlab.vision.canvas import DRAWING_MAX_SIDE, even_canvas_tone
from digitlab.vision.decode import DEFAULT_MAX_PIXELS, DecodedImage, at_working_size, decode_full_size
from digitlab.vision.deskew import LevelPage, line_angle, straighten
from digitlab.vision.kernels import dilate
from digitlab.vision.line import LineStrip, cut_strip, line_boxes
from digitlab.vision.page import paper_only, without_border_bands
from digitlab.vision.preprocess import (
    as_background_image, binarize_box, flatten_and_binarize, has_dark_ink, ink_against, light_ink_is_strokes,
    to_mnist,
)
from digitlab.vision.rules import without_rules
from digitlab.vision.segment import Region, segment_digits
from digitlab.vision.threshold import MIN_INK_CONTRAST, InkMask
from digitlab.vision.shadow import in_shadow

# A digit must be at least this fraction of the image's shorter side tall (and
# MIN_DIGIT_PIXELS working pixels): smaller marks are dust, texture or noise.
MIN_DIGIT_HEIGHT_FRACTION = 0.02
MIN_DIGIT_PIXELS = 5
# When no digit is found and the threshold was the contrast floor (threshold.MIN_INK_CONTRAST), ink this
# faint is looked for too: a pale pencil, a light colour on tinted paper. Chosen on validation photos:
# numbers read exactly 76.95 % -> 77.40 % at 0.10 and 0.13 alike (benchmarks/line_finding.py --photos 2000);
# shadowed blank sheets refused 98 % -> 96 % at 0.10, 97 % at 0.13 (benchmarks/readers_validation.py).
FAINT_INK_CONTRAST = 0.13
# A tilted line is leveled with this many digit heights of the page beyond its digits each side, and
# LEVEL_REACH_UP_HEIGHTS above and below: line.line_boxes may join ink there to the line (REACH_HEIGHTS, and
# a piece joined brings the next within reach). Chosen on validation photos (benchmarks/line_finding.py
# --photos 2000, numbers read exactly): 76.85 % at 0.6, 77.00 % at 1.0, 76.95 % at 1.5 each side; then
# 76.95 %, 77.15 % and 77.00 % at 0, 0.25 and 0.5 above and below.
LEVEL_REACH_HEIGHTS, LEVEL_REACH_UP_HEIGHTS = 1.0, 0.25
# Working pixels of paper kept around a digit's mask, so its anti-aliased edges survive.
EDGE_PIXELS = 1


@dataclass
class DigitCrop:
    """One digit found in an image."""

    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in the original image, exclusive ends
    model_input: np.ndarray  # 28×28 float32 in [0, 1], ink bright
    work_box: tuple[int, int, int, int]  # the same box in working pixels


@dataclass
class PageAnalysis:
    """Everything the pipeline found in one image."""

    decoded: DecodedImage
    dark_ink: bool
    threshold: float
    digits: list[DigitCrop]
    note: str = ""  # why no digit was found, "" otherwise
    tilt: float = 0.0  # degrees the line was rotated to level it before segmentation (0: not rotated)
    stages: dict[str, np.ndarray] = field(default_factory=dict)  # only with keep_stages=True
    line: LineStrip | None = None  # the line of digits as one strip (line.py), None when no digit was found
    level_page: LevelPage | None = None  # the leveled line when it was tilted (the strip is cut from it)
    canvas: bool = False  # read on the canvas path (canvas.py): a drawing or a clean scan on an even tone

    def strip_box(self, x0: int, x1: int) -> tuple[int, int, int, int]:
        """Strip columns [x0, x1) of `line` → their box in the original image's pixels."""
        box = self.line.source_box(x0, x1)
        if self.level_page is not None:
            box = self.level_page.box_in_source(box)
        return _original_box(box, self.decoded)


def _min_digit_height(gray: np.ndarray) -> float:
    """The height in working pixels below which a piece of ink is no digit (dust, texture, noise)."""
    return max(MIN_DIGIT_PIXELS, MIN_DIGIT_HEIGHT_FRACTION * min(gray.shape))


def _digit_regions(ink_mask: InkMask, gray: np.ndarray, paper_light: np.ndarray | None) -> list[Region]:
    """The mask's digit regions in working pixels, at least a digit's height; in a photo (`paper_light`
    given) without pieces of shadowed paper read as ink (shadow.py)."""
    # Segmented inside the box around the ink (a drawing is mostly blank canvas), then moved back.
    regions = [_moved(region, ink_mask.left, ink_mask.top)
               for region in segment_digits(ink_mask.mask, image_pixels=gray.size)]
    min_height = _min_digit_height(gray)
    regions = [region for region in regions if region.height >= min_height]
    if paper_light is not None:
        regions = [region for region in regions if not in_shadow(paper_light, region)]
    return regions


def _second_look(ink: np.ndarray, background, ink_mask: InkMask, gray: np.ndarray, dark_ink: bool):
    """A photo where segmentation found no digit, looked at again → (ink, background, ink_mask, regions),
    the same ones when this finds none either.

    First without the lines of a ruled or squared sheet, which may be what hid
    the digits (rules.py); then, when the threshold was the contrast floor, for
    ink paler than it (FAINT_INK_CONTRAST: a pale pencil, a light colour on
    tinted paper), flattened and thresholded again at the lower floor.
    """
    paper_light = gray if dark_ink else 1.0 - gray
    min_height = _min_digit_height(gray)
    cleaned = without_rules(ink_mask, min_height)
    if cleaned is not None:
        regions = _digit_regions(cleaned, gray, paper_light)
        if regions:
            return ink, background, cleaned, regions
    if ink_mask.threshold > MIN_INK_CONTRAST:
        return ink, background, ink_mask, []
    faint_ink, faint_background, faint = flatten_and_binarize(gray, dark_ink, FAINT_INK_CONTRAST)
    faint = without_border_bands(faint or binarize_box(faint_ink, FAINT_INK_CONTRAST), min_height)
    regions = _digit_regions(faint, gray, paper_light)
    if regions:
        return faint_ink, faint_background, faint, regions
    return ink, background, ink_mask, []


def _digit_input(ink: np.ndarray, region: Region) -> np.ndarray:
    """The region's ink (its own mask, slightly widened for anti-aliased edges) → MNIST 28×28."""
    window, mask = region.padded(EDGE_PIXELS + 1, ink.shape)
    widened = dilate(mask, EDGE_PIXELS)
    return to_mnist(ink[window] * widened, mask)


def _moved(region: Region, dx: int, dy: int) -> Region:
    if not (dx or dy):
        return region
    x0, y0, x1, y1 = region.box
    return Region((x0 + dx, y0 + dy, x1 + dx, y1 + dy), region.mask)


def _line_area(regions: list[Region]) -> tuple[int, int, int, int]:
    """The box around the regions and the ink beside them that line.line_boxes may join to the line (a first
    or last digit segmentation dropped): LEVEL_REACH_HEIGHTS digit heights more each side, and
    LEVEL_REACH_UP_HEIGHTS above and below (the line is tilted). May run past the image; straighten clips it."""
    boxes = np.array([region.box for region in regions])
    height = float(np.median(boxes[:, 3] - boxes[:, 1]))
    across, up = int(np.ceil(LEVEL_REACH_HEIGHTS * height)), int(np.ceil(LEVEL_REACH_UP_HEIGHTS * height))
    return (int(boxes[:, 0].min()) - across, int(boxes[:, 1].min()) - up,
            int(boxes[:, 2].max()) + across, int(boxes[:, 3].max()) + up)


def _original_box(box: tuple[int, int, int, int], decoded: DecodedImage) -> tuple[int, int, int, int]:
    width, height = decoded.original_size
    x0, y0, x1, y1 = (value * decoded.scale for value in box)
    return (max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
            min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1))))


def _level_regions(page: LevelPage, image_pixels: int, min_height: float) -> list[Region]:
    """Segment a tilted line again on its leveled ink (boxes in the level page's pixels)."""
    return [region for region in segment_digits(page.mask, image_pixels=image_pixels)
            if region.height >= min_height]


def _level_digits(page: LevelPage, regions: list[Region], decoded: DecodedImage) -> list[DigitCrop]:
    """The leveled line's digits; boxes are mapped back to the unrotated image."""
    digits = []
    for region in regions:
        work_box = page.box_in_source(region.box)
        digits.append(DigitCrop(_original_box(work_box, decoded), _digit_input(page.ink, region), work_box))
    return digits


def analyze(source, max_pixels: int = DEFAULT_MAX_PIXELS, keep_stages: bool = False,
            drawing_max_side: int | None = DRAWING_MAX_SIDE) -> PageAnalysis:
    """Decode one image and turn each digit in it into a model input; raises ImageError if unreadable.

    A drawing on an even canvas is read at most `drawing_max_side` pixels wide
    and tall (canvas.py); None reads it the way a photo is read
    (benchmarks/drawings.py compares the two).
    """
    decoded = decode_full_size(source, max_pixels=max_pixels)
    canvas_tone = even_canvas_tone(decoded.gray) if drawing_max_side else None
    if canvas_tone is not None:
        # A drawing or a clean scan (canvas.py): fewer working pixels, no sheet to look for
        # and no lighting to flatten; the ink is measured against the canvas tone.
        decoded = at_working_size(decoded, max_side=drawing_max_side)
        gray = decoded.gray
        dark_ink = has_dark_ink(gray)
        background = np.float32(canvas_tone if dark_ink else 1.0 - canvas_tone)
        ink = ink_against(gray if dark_ink else 1.0 - gray, background)
        ink_mask = binarize_box(ink)
    else:
        decoded = at_working_size(decoded)
        # A sheet photographed on a table: the table painted in the paper's tone (page.py).
        gray = paper_only(decoded.gray)
        dark_ink = has_dark_ink(gray) or not light_ink_is_strokes(gray)
        ink, background, ink_mask = flatten_and_binarize(gray, dark_ink)
        ink_mask = without_border_bands(ink_mask or binarize_box(ink), _min_digit_height(gray))
    paper_light = None if canvas_tone is not None else gray if dark_ink else 1.0 - gray
    regions = _digit_regions(ink_mask, gray, paper_light)
    if not regions and paper_light is not None:
        ink, background, ink_mask, regions = _second_look(ink, background, ink_mask, gray, dark_ink)
    threshold = ink_mask.threshold
    min_height = _min_digit_height(gray)
    # A tilted line (a phone held at an angle) is leveled and segmented again: see deskew.py.
    angle = line_angle([region.box for region in regions])
    level_page = None
    if angle:
        level_page = straighten(ink, _line_area(regions), angle, threshold)
        regions = _level_regions(level_page, gray.size, min_height)
        digits = _level_digits(level_page, regions, decoded)
        line_at = line_boxes(level_page.mask, [region.box for region in regions], whole_image=False)
        line = cut_strip(level_page.ink, line_at, threshold)
    else:
        digits = [
            DigitCrop(_original_box(region.box, decoded), _digit_input(ink, region), region.box)
            for region in regions
        ]
        line = cut_strip(ink, line_boxes(ink_mask.full(), [region.box for region in regions]), threshold)
    note = "" if digits else ("no ink found" if not ink_mask.mask.any() else "no digit-like marks found")
    analysis = PageAnalysis(decoded, dark_ink, threshold, digits, note, tilt=angle, line=line,
                            level_page=level_page, canvas=canvas_tone is not None)
    if keep_stages:
        background = as_background_image(background, gray.shape)
        analysis.stages = {
            "1-gray": decoded.gray,
            "2-background": background if dark_ink else 1.0 - background,
            "3-ink": ink,
            "4-mask": ink_mask.full().astype(np.float32),
        }
        if gray is not decoded.gray:
            analysis.stages["1b-paper"] = gray
        if level_page is not None:
            analysis.stages["4b-level-mask"] = level_page.mask.astype(np.float32)
        if line is not None:  # what the line reader reads
            analysis.stages["4c-line-strip"] = line.pixels
    return analysis
