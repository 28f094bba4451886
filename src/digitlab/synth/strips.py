"""Photos of whole numbers for training the line reader: MNIST training digits and handwriting fonts.

Usage:

    digits = DigitSource(x_train[:54_000], y_train[:54_000], fonts=training_fonts())
    photo, ink_box = render_number_photo(seed=7, digits=digits)   # SyntheticPhoto (a 1–8 digit number), ink box
    photo, ink_box = render_number_photo(seed=8, digits=digits, text="")   # to refuse: letters, a scribble

A number is written digit by digit, as people write: each digit an MNIST
training digit (a real writer's) or, for `font_share` of the numbers, a glyph
of a handwriting font; its pen (thin to bold), its own size and baseline, a
slant shared by the whole number, and spacing from overlapping to wide.

MNIST strokes are about a sixth of the digit's height thick at any size, a
felt-tip's; people mostly write with finer pens. So for REDRAWN_SHARE of the
numbers each digit is redrawn along its centre line with the writer's pen,
from a fine ballpoint's line (3 % of the height) to a marker's. The things to
refuse (letters, scribbles) are drawn with the same pens as often, so a fine
line never tells a digit from a letter. Writers
space digits by their ink, not by boxes: for INK_SPACED_SHARE of the numbers
the gap is measured between the nearest strokes row by row, so a digit may
tuck under a 7's bar and strokes touch where the style says so; for the rest
it is measured box to box.

A pen skips: a few digits get a gap across a stroke, a loop left open at the
top, or break into pieces. The page then goes through
digitlab.synth.photos.compose_photo (paper, ink colour, uneven light,
rotation, blur, noise) plus what photos of paper show besides: ruled or
squared lines, a hard shadow, the desk around a sheet. Then JPEG.

Which digits are used is the caller's: training takes MNIST's first 54,000
training images, validation the last 6,000 (digitlab.data.split); MNIST's
test images never come here. HELD_OUT_FONT_FAMILIES are never drawn, so the
font benchmark (benchmarks/realworld.py) still has writers no model saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFont
from scipy import ndimage

from digitlab.synth.photos import (
    NON_DIGIT_CHARACTERS, SyntheticPhoto, as_jpeg, compose_photo, handwriting_fonts, render_glyph,
    scribble_coverage,
)

# Font families (their folder under /usr/share/fonts) never used for training.
HELD_OUT_FONT_FAMILIES = ("humor-sans", "kristi", "tomsontalks", "kaushanscript")
MAX_DIGITS = 8
PHOTO_MAX_SIDE = 800
# Spacing between neighbouring digits, in digit heights: (low, high) per style, and how often each style is.
SPACING = {"overlapping": (-0.15, -0.02), "touching": (-0.02, 0.04), "tight": (0.04, 0.15),
           "normal": (0.15, 0.4), "wide": (0.4, 1.0)}
# Overlapping digits were the rarest style (8 % of numbers) and the worst read: on validation photos the
# reader trained with weights (0.08, 0.17, 0.25, 0.3, 0.2) read 85.2 % of 576 numbers written overlapping
# exactly, 90.9-93.0 % of every other style, merges making most of the difference (5.9 % against 1.5-2.7 %):
# benchmarks/RESULTS-line-errors.md, `python benchmarks/line_errors.py` with the line reader of commit 5adabb7.
# So overlapping is drawn twice as often.
SPACING_WEIGHTS = (0.16, 0.17, 0.23, 0.26, 0.18)
# How often a digit's stroke has a gap, and how often the pen breaks it into pieces.
GAP_CHANCE, PIECES_CHANCE = 0.2, 0.06
# Share of MNIST-written numbers redrawn along their centre lines, and the pen's stroke width there, in
# digit heights: a 0.5 mm ballpoint on a 15 mm digit is 0.03, a 2 mm marker on a 12 mm one 0.17.
REDRAWN_SHARE, REDRAWN_STROKE = 0.5, (0.03, 0.16)
# Share of numbers spaced ink to ink (the rest box to box); a digit's box starts at least this far (in the
# left neighbour's widths) past its neighbour's left edge, so the order of the digits stays the writing order.
INK_SPACED_SHARE, MIN_ADVANCE = 0.5, 0.5


@dataclass
class DigitSource:
    """Where a number's digits come from: MNIST-style images (28×28 uint8, ink bright) and fonts."""

    images: np.ndarray
    labels: np.ndarray
    fonts: tuple[Path, ...] = ()
    font_share: float = 0.15

    def __post_init__(self):
        self.by_digit = [np.flatnonzero(self.labels == digit) for digit in range(10)]


def training_fonts() -> tuple[Path, ...]:
    """The handwriting fonts the line reader may learn from: all but HELD_OUT_FONT_FAMILIES."""
    return tuple(path for path in handwriting_fonts() if path.parent.name not in HELD_OUT_FONT_FAMILIES)


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _pen(coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey digit image → strokes of a random pen: thin (a high cut) to bold (a low one), soft edges."""
    cut = rng.uniform(0.2, 0.65)
    return np.clip((coverage - cut) / 0.3 + 0.5, 0.0, 1.0)


def _skip(glyph: np.ndarray, rng: np.random.Generator, top_only: bool) -> None:
    """Erase a short band across the stroke at a random ink point (in place): a gap, or an open loop on top."""
    height = glyph.shape[0]
    rows, columns = np.nonzero(glyph > 0.5)
    if not rows.size:  # a faint glyph: no stroke to skip
        return
    if top_only:
        keep = rows < rows.min() + 0.3 * (rows.max() - rows.min() + 1)
        rows, columns = rows[keep], columns[keep]
    if not rows.size:
        return
    pick = rng.integers(rows.size)
    angle = rng.uniform(0, np.pi)
    ys, xs = np.mgrid[0:glyph.shape[0], 0:glyph.shape[1]]
    along = (xs - columns[pick]) * np.cos(angle) + (ys - rows[pick]) * np.sin(angle)
    across = -(xs - columns[pick]) * np.sin(angle) + (ys - rows[pick]) * np.cos(angle)
    band = (np.abs(along) < rng.uniform(0.03, 0.09) * height) & (np.abs(across) < 0.2 * height)
    glyph[band] = 0.0


def redrawn(coverage: np.ndarray, stroke: float) -> np.ndarray:
    """A grey digit image → its centre line drawn with a round pen `stroke` pixels wide, soft edges."""
    # scikit-image comes with the train extra, as training photos do; digitlab.synth is also part of the lean
    # reader (render_photo for tests), so it is imported here, where the lean reader never goes.
    from skimage.morphology import skeletonize

    mask = np.pad(coverage > 0.35, 1)  # padded: skeletonize keeps no stroke touching the border
    centre = skeletonize(mask)[1:-1, 1:-1]
    if not centre.any():
        return np.zeros_like(coverage)
    distance = ndimage.distance_transform_edt(~centre)
    return np.clip(stroke / 2 + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def _mnist_glyph(image: np.ndarray, height: int, rng: np.random.Generator, stroke: float | None) -> np.ndarray:
    """An MNIST digit `height` pixels tall: thresholded by a random pen, or redrawn `stroke` heights wide."""
    rows, columns = np.nonzero(image > 0)
    crop = image[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    width = max(1, round(crop.shape[1] * height / crop.shape[0] * rng.uniform(0.85, 1.15)))
    scaled = np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.BICUBIC),
                        dtype=np.float32) / 255.0
    if stroke is None:
        return _pen(scaled, rng)
    return redrawn(scaled, max(1.0, stroke * height))


def _font_glyph(character: str, font_path: Path, height: int, bold: int, rng: np.random.Generator) -> np.ndarray:
    glyph = render_glyph(character, _font(font_path, max(8, height)), rng.uniform(-6, 6), bold)
    scaled = glyph.resize((max(1, round(glyph.width * height / max(glyph.height, 1))), height),
                          Image.Resampling.LANCZOS)
    return np.asarray(scaled, dtype=np.float32) / 255.0


def _glyphs(text: str, digits: DigitSource, height: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One coverage image per character, each with its own size and pen skips."""
    use_font = bool(digits.fonts) and (not text.isdigit() or rng.random() < digits.font_share)
    font_path = digits.fonts[rng.integers(len(digits.fonts))] if use_font else None
    bold = int(rng.choice([0, 0, 1, 2]) * height / 60)
    stroke = rng.uniform(*REDRAWN_STROKE) if rng.random() < REDRAWN_SHARE else None  # one pen per number
    glyphs = []
    for character in text:
        size = max(6, int(height * rng.uniform(0.85, 1.12)))
        if font_path is not None:
            glyph = _font_glyph(character, font_path, size, bold, rng)
            if stroke is not None:
                glyph = redrawn(glyph, max(1.0, stroke * size))
        else:
            pool = digits.by_digit[int(character)]
            glyph = _mnist_glyph(digits.images[pool[rng.integers(pool.size)]], size, rng, stroke)
        if rng.random() < PIECES_CHANCE:
            for _ in range(int(rng.integers(2, 4))):
                _skip(glyph, rng, top_only=False)
        elif rng.random() < GAP_CHANCE:
            _skip(glyph, rng, top_only=rng.random() < 0.4)
        glyphs.append(glyph)
    return glyphs


def _slanted(glyph: np.ndarray, slant: float) -> np.ndarray:
    if abs(slant) < 0.02:
        return glyph
    height, width = glyph.shape
    extra = int(np.ceil(abs(slant) * height))
    image = Image.fromarray((glyph * 255).astype(np.uint8))
    # Pillow maps each output pixel to the source: x_source = x + slant·y + shift. A positive slant
    # leans the top right (shift −slant·height keeps the bottom in place), a negative one the bottom.
    shift = -slant * height if slant > 0 else 0.0
    sheared = image.transform((width + extra, height), Image.Transform.AFFINE, (1, slant, shift, 0, 1, 0),
                              Image.Resampling.BILINEAR)
    return np.asarray(sheared, dtype=np.float32) / 255.0


def _ink_edges(glyph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first and last inked column of a glyph (+inf and -inf on rows without ink)."""
    inked = glyph > 0.3
    rows = inked.any(axis=1)
    first = np.where(rows, inked.argmax(axis=1), np.inf)
    last = np.where(rows, glyph.shape[1] - 1 - inked[:, ::-1].argmax(axis=1), -np.inf)
    return first, last


def _line(glyphs: list[np.ndarray], height: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Glyphs placed left to right with a spacing style and a wandering baseline; the line and its style."""
    style = list(SPACING)[rng.choice(len(SPACING), p=SPACING_WEIGHTS)]
    low, high = SPACING[style]
    by_ink = rng.random() < INK_SPACED_SHARE
    slant = rng.uniform(-0.25, 0.3)
    glyphs = [_slanted(glyph, slant) for glyph in glyphs]
    gaps = [int(round(height * rng.uniform(low, high))) for _ in glyphs]
    width = sum(glyph.shape[1] for glyph in glyphs) + sum(max(gap, 0) for gap in gaps) + 2 * height
    tallest = max(glyph.shape[0] for glyph in glyphs)
    line = np.zeros((tallest + height, max(width, 2 * height)), dtype=np.float32)
    right = np.full(line.shape[0], -np.inf)  # the line's rightmost ink per row so far
    x, drift = height, rng.uniform(-0.08, 0.08)
    previous_left, previous_width = None, 0
    for glyph, gap in zip(glyphs, gaps):
        baseline = height / 2 + tallest - glyph.shape[0] + drift * (x - height) + rng.uniform(-0.05, 0.05) * height
        y = int(np.clip(baseline, 0, line.shape[0] - glyph.shape[0]))
        first, last = _ink_edges(glyph)
        rightmost = right[y:y + glyph.shape[0]]  # a view: the rows this glyph spans
        if by_ink and previous_left is not None:
            shared = np.isfinite(first) & np.isfinite(rightmost)
            if shared.any():  # the nearest strokes, row by row, `gap` apart (negative: crossing)
                x = int(round(gap + np.max(rightmost[shared] - first[shared]) + 1))
            x = max(x, previous_left + int(MIN_ADVANCE * previous_width))
        x = max(0, x)
        region = line[y:y + glyph.shape[0], x:x + glyph.shape[1]]
        np.maximum(region, glyph[:region.shape[0], :region.shape[1]], out=region)
        rightmost[:] = np.maximum(rightmost, last[:rightmost.shape[0]] + x)
        previous_left, previous_width = x, glyph.shape[1]
        x += glyph.shape[1] + gap
    return line, style


def hard_shadow(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB float image (values in [0, 1]) with a hard shadow across it: a soft-edged step of darkness."""
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    side = np.cos(angle) * (xs - rng.uniform(0, width)) + np.sin(angle) * (ys - rng.uniform(0, height))
    softness = rng.uniform(1.0, 0.04 * max(width, height))
    shade = 1 - rng.uniform(0.25, 0.6) * 0.5 * (1 + np.tanh(side / (2 * softness)))  # a soft step
    return pixels * shade[..., None]


def _paper_extras(photo: Image.Image, rng: np.random.Generator, ink_height: int,
                  ink_box: tuple[int, int, int, int]) -> Image.Image:
    """Ruled or squared lines, a hard shadow edge, the desk around the sheet: each on some photos."""
    pixels = np.asarray(photo, dtype=np.float32) / 255.0
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    if rng.random() < 0.35:  # ruled (or squared) paper, faint blue or grey lines under the ink
        spacing = ink_height * rng.uniform(0.9, 1.8)
        tone = np.array(rng.choice([[0.55, 0.7, 0.95], [0.6, 0.6, 0.65]]), np.float32)
        lines = np.abs(((ys + rng.uniform(0, spacing)) % spacing) - spacing / 2) > spacing / 2 - 1.0
        if rng.random() < 0.35:
            lines |= np.abs(((xs + rng.uniform(0, spacing)) % spacing) - spacing / 2) > spacing / 2 - 1.0
        strength = rng.uniform(0.25, 0.7)
        pixels = np.where(lines[..., None], pixels * (1 - strength * (1 - tone)), pixels)
    if rng.random() < 0.25:  # a hard shadow: a hand or a phone between the lamp and the page
        pixels = hard_shadow(pixels, rng)
    if rng.random() < 0.15:  # the desk around the sheet, darker and with some grain; the number is on the sheet
        x0, y0, x1, y1 = ink_box
        pad = ink_height // 3
        margin = (rng.uniform(0, 0.2, 4) * (width, height, width, height)).astype(int)
        left, top = min(margin[0], max(0, x0 - pad)), min(margin[1], max(0, y0 - pad))
        right, bottom = max(width - margin[2], min(width, x1 + pad)), max(height - margin[3], min(height, y1 + pad))
        paper = np.zeros((height, width), bool)
        paper[top:bottom, left:right] = True
        desk = np.array(rng.uniform(0.15, 0.6, 3), np.float32) * (1 + rng.normal(0, 0.05, (height, width, 1)))
        pixels = np.where(paper[..., None], pixels, desk)
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="RGB")


def render_number_photo(seed: int, digits: DigitSource, text: str | None = None
                        ) -> tuple[SyntheticPhoto, tuple[int, int, int, int]]:
    """A JPEG photo of a 1–MAX_DIGITS digit number (random unless `text` is given; "" draws a non-number).

    Also returns the box (x0, y0, x1, y1) where the ink is in the photo, to check what the pipeline found.
    """
    rng = np.random.default_rng(seed)
    if text is None:
        text = "".join(str(digit) for digit in rng.integers(0, 10, int(rng.integers(1, MAX_DIGITS + 1))))
    height = int(rng.choice([rng.integers(14, 30), rng.integers(30, 100)]))
    spacing = ""
    if text:
        coverage, spacing = _line(_glyphs(text, digits, height, rng), height, rng)
    elif rng.random() < 0.6 and digits.fonts:
        letters = "".join(rng.choice(list(NON_DIGIT_CHARACTERS), int(rng.integers(1, 6))))
        coverage, _ = _line(_glyphs(letters, digits, height, rng), height, rng)
    else:
        coverage = scribble_coverage(rng, height)
        if rng.random() < REDRAWN_SHARE:  # with a pen as a number's
            coverage = redrawn(coverage, max(1.0, rng.uniform(*REDRAWN_STROKE) * height))
    line_height, line_width = coverage.shape
    scale = rng.uniform(1.2, 4.0)
    size = np.array([line_width * scale, max(line_height * scale, line_width * scale * rng.uniform(0.3, 0.8))])
    # The vision pipeline works at most 800 pixels wide (digitlab.vision.decode): a larger photo is made
    # smaller, which is faster and reads the same.
    shrink = min(1.0, PHOTO_MAX_SIDE / size.max())
    if shrink < 1.0:
        layer = Image.fromarray((coverage * 255).astype(np.uint8))
        coverage = np.asarray(layer.resize((max(1, round(line_width * shrink)), max(1, round(line_height * shrink))),
                                           Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    ink_boxes: list = []
    photo = compose_photo(coverage, rng, tuple(int(side) for side in size * shrink), ink_boxes=ink_boxes)
    image, data = as_jpeg(_paper_extras(photo, rng, int(height * shrink), ink_boxes[0]), rng)
    return SyntheticPhoto(image, text, data, kind="number" if text else "refuse", spacing=spacing), ink_boxes[0]
