"""Stages 2–4 and 7: polarity, illumination flattening, thresholding (threshold.py), and one digit → MNIST 28×28.

Usage:

    dark_ink = has_dark_ink(gray)                      # True for pen on paper, False for chalk/canvas
    dark_ink = dark_ink or not light_ink_is_strokes(gray)   # a photo: a lit part of a shadowed sheet is no ink
    ink, background = flatten_illumination(gray, dark_ink)   # ink bright (MNIST polarity), paper ≈ 0
    mask, threshold = binarize(ink)                    # Otsu, never below MIN_INK_CONTRAST
    ink, background, ink_mask = flatten_and_binarize(gray, dark_ink)  # the pipeline's fast path:
    ink = ink_against(paper_light, paper_level)        # paper of one known level (canvas.py): nothing to flatten
    ink_mask = ink_mask or binarize_box(ink)           # the same mask, kept as the box around the ink
    pixels = to_mnist(ink_crop, mask_crop)             # 28×28 float32 in [0, 1]
    pixels = normalize_pixels(any_28x28)               # validate a canvas/array input

Why each step exists: MNIST digits are white ink on black, size-normalized so
the longer side fits 20 px (aspect ratio kept, anti-aliased) and placed in a
28×28 field by their center of mass. A photo differs in every one of those ways
— polarity, uneven light, size, position, stroke width — and a model trained on
MNIST only works if each difference is undone.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from digitlab.vision.errors import PixelsError
from digitlab.vision.kernels import closing, eroded_count, maximum_3x3, percentile, squared_distance_to_paper
from digitlab.vision.slant import limit_slant
from digitlab.vision.threshold import MIN_INK_CONTRAST, InkMask, binarize, binarize_box, otsu_threshold

# Light ink (chalk, a canvas) is chosen only if it reaches this many times farther
# from the paper level than dark ink does.
LIGHT_INK_MARGIN = 1.5
# The background (paper + lighting) is estimated on a thumbnail this big: lighting
# varies slowly, so a thumbnail is enough and keeps a phone photo fast.
BACKGROUND_THUMBNAIL_SIDE = 64
# Light "ink" whose strokes are wider than LIT_PAPER_STROKE_FRACTION of the image's longer side (twice its
# area over its boundary) and that covers more than LIT_PAPER_AREA_FRACTION of the image is a lit part of a
# sheet (mostly in shadow, or on a table), not chalk. Chosen on validation photos (digitlab.synth.strips
# with MNIST validation digits): such lit regions measure 0.06–0.26 and cover 0.05–0.67, the strokes of
# light ink 0.003–0.03 (0.07 for a thick pen in a tight crop, which covers 0.07).
LIT_PAPER_STROKE_FRACTION, LIT_PAPER_AREA_FRACTION = 0.05, 0.1
# Closing windows, as fractions of the longer side: half the image removes strokes
# up to half the image wide (a tight crop of a thick digit); the fine window
# (3 stroke widths, at least 1/8 of the image) also follows shadows.
COARSE_WINDOW_FRACTION = 0.5
FINE_WINDOW_FRACTION = 0.125
STROKE_WINDOWS = 3.0
# The edge-following closing's window, in stroke widths (measured on the binarized ink). Chosen on
# development photos (benchmarks/realworld.py --dev, and synthetic strips' photos): 3 found the most lines.
EDGE_WINDOW_STROKES = 3.0
# MNIST geometry: the longer side of a digit is 20 px, in a 28×28 field, centered
# by center of mass (measured on MNIST: mean center of mass (14.0, 14.0)).
DIGIT_BOX = 20
FIELD = 28
FIELD_CENTER = 14.0
# Stroke width over the longer side: MNIST's median is 0.14 (distance-transform
# estimate, measured on 2,000 training digits). Thinner strokes (a ballpoint pen
# on a big digit) become faint lines at 20 px, so they are thickened to TARGET.
THIN_STROKE_RATIO = 0.09
TARGET_STROKE_RATIO = 0.13


def normalize_pixels(pixels) -> np.ndarray:
    """A 28×28 array-like (values in [0, 1] or 0..255) → float32 in [0, 1]; PixelsError if it is not one.

    Any real dtype is taken (bool, integers, floats of any width); NaN, infinities,
    negative values, values past 255, complex numbers, strings and objects are refused.
    """
    try:
        values = np.asarray(pixels)
    except (TypeError, ValueError):  # ragged nested lists
        raise PixelsError("pixels must be a 28×28 array of numbers.") from None
    if values.dtype.kind not in "biuf":  # complex, strings, objects, dates
        raise PixelsError("pixels must be a 28×28 array of numbers.")
    if values.shape == (FIELD * FIELD,):
        values = values.reshape(FIELD, FIELD)
    values = np.squeeze(values)
    if values.shape != (FIELD, FIELD):
        raise PixelsError(f"pixels must be 28×28, got shape {tuple(np.shape(pixels))}.")
    # float64 holds every uint8/uint16/float32 value exactly, so the range checks see the true values.
    image = values.astype(np.float64)
    if not np.all(np.isfinite(image)):
        raise PixelsError("pixels contain NaN or infinite values.")
    if image.min() < 0:
        raise PixelsError("pixels must not be negative.")
    if image.max() > 1.0:
        if image.max() > 255.0:
            raise PixelsError("pixels must be in [0, 1] or 0..255.")
        image = image / 255.0
    return image.astype(np.float32)


def has_dark_ink(gray: np.ndarray) -> bool:
    """True when the ink is darker than the paper (pen on paper), False for light ink (chalk, a canvas).

    The paper's level is the median of the image's outer frame, which is mostly
    paper even in a tight crop of a thick digit. Ink is sparse and far from the
    paper level, so the darkest and the brightest 0.5 % of the image are
    compared with it: whichever extreme lies farther from the paper is the ink.
    """
    paper = float(np.median(_frame(gray)))
    # Extremes of a lightly smoothed image: a thin digit can be far less than 1 % of a
    # photo, and smoothing keeps single noisy pixels from posing as ink.
    step = 2 if min(gray.shape) >= 400 else 1  # half resolution is plenty on a photo
    sampled = gray[::step, ::step]
    decided = _clear_polarity(sampled, paper)
    if decided is not None:
        return decided
    smooth = ndimage.uniform_filter(sampled, size=3, mode="nearest")
    # Dark ink on light paper is the common case and wins near-ties: a blank sheet
    # under uneven light must not turn its dark corners into "light ink".
    dark_reach, light_reach = paper - float(smooth.min()), float(smooth.max()) - paper
    return bool(light_reach <= LIGHT_INK_MARGIN * dark_reach + MIN_INK_CONTRAST / 2)


def light_ink_is_strokes(gray: np.ndarray) -> bool:
    """Whether what has_dark_ink took for light ink is shaped like strokes (for photos; see below).

    A hard shadow across most of a photographed sheet puts the frame, whose
    median has_dark_ink takes as the paper, in the shadow: the lit rest of
    the sheet is then brighter than "the paper" and passes for light ink. Ink
    is strokes, narrow for the image and covering little of it; a lit region is
    a wide, large patch. The light pixels (past half-way from the paper to the
    brightest) are measured with quick_stroke_width and counted. Drawings on an even canvas have no shadow and do not
    come here (canvas.py).
    """
    step = 2 if min(gray.shape) >= 400 else 1
    smooth = ndimage.uniform_filter(np.asarray(gray, dtype=np.float32)[::step, ::step], size=3, mode="nearest")
    paper = float(np.median(_frame(smooth)))
    light = smooth > paper + 0.5 * (float(smooth.max()) - paper)
    return (quick_stroke_width(light) <= LIT_PAPER_STROKE_FRACTION * max(light.shape)
            or np.count_nonzero(light) <= LIT_PAPER_AREA_FRACTION * light.size)


def _frame(gray: np.ndarray) -> np.ndarray:
    """The image's outer frame (1/12 of each side) as one array of pixels: mostly paper."""
    height, width = gray.shape
    margin_y, margin_x = max(1, height // 12), max(1, width // 12)
    return np.concatenate([
        gray[:margin_y].ravel(), gray[-margin_y:].ravel(), gray[:, :margin_x].ravel(), gray[:, -margin_x:].ravel(),
    ])


def _clear_polarity(sampled: np.ndarray, paper: float) -> bool | None:
    """has_dark_ink's answer without smoothing the whole image, when bounds already decide it; else None.

    A 3×3 mean lies between its window's minimum and maximum, so the smoothed
    extremes are bounded by the raw ones and by the window around each raw
    extreme (a solid stroke, on a drawing or a clean scan). Only a clear margin
    decides; anything close (noisy photos) takes the full computation.
    """
    low_at = np.unravel_index(int(np.argmin(sampled)), sampled.shape)
    high_at = np.unravel_index(int(np.argmax(sampled)), sampled.shape)
    raw_low, raw_high = float(sampled[low_at]), float(sampled[high_at])

    def window(at: tuple) -> np.ndarray:
        row, col = int(at[0]), int(at[1])
        return sampled[max(0, row - 1):row + 2, max(0, col - 1):col + 2]

    # smooth.min() <= the mean of the window around the raw minimum <= that window's maximum; likewise for max.
    dark_reach_low, dark_reach_high = paper - float(window(low_at).max()), paper - raw_low
    light_reach_low, light_reach_high = float(window(high_at).min()) - paper, raw_high - paper
    margin = 1e-4
    if light_reach_high + margin <= LIGHT_INK_MARGIN * dark_reach_low + MIN_INK_CONTRAST / 2:
        return True
    if light_reach_low - margin > LIGHT_INK_MARGIN * dark_reach_high + MIN_INK_CONTRAST / 2:
        return False
    return None


def estimate_background(paper_light: np.ndarray, window_fraction: float = COARSE_WINDOW_FRACTION) -> np.ndarray:
    """Paper brightness under the lighting, per pixel: a closing (removes dark strokes) on a thumbnail.

    The closing window (a fraction of the longer side) must be wider than the
    strokes, or they count as paper, and narrower than shadows, or they count
    as ink; flatten_illumination picks it from the strokes it finds.
    """
    paper_light = np.ascontiguousarray(paper_light, dtype=np.float32)
    background = _background(_thumbnail(paper_light), window_fraction, paper_light.shape)
    return as_background_image(background, paper_light.shape)


def _thumbnail(paper_light: np.ndarray) -> np.ndarray:
    """The paper-light image, area-averaged so its longer side is at most BACKGROUND_THUMBNAIL_SIDE."""
    height, width = paper_light.shape
    factor = min(1.0, BACKGROUND_THUMBNAIL_SIDE / max(height, width))
    thumb_size = (max(2, round(width * factor)), max(2, round(height * factor)))
    image = Image.fromarray(np.ascontiguousarray(paper_light, dtype=np.float32), mode="F")
    return np.asarray(image.resize(thumb_size, Image.Resampling.BOX))


def _background(thumb: np.ndarray, window_fraction: float, shape: tuple[int, int]) -> np.ndarray | np.float32:
    """estimate_background from a thumbnail: a full-size array, or one float32 when the paper is even.

    An even closed thumbnail (a drawing on a blank canvas, a clean scan) stays
    exactly that value through the Gaussian and the bilinear enlargement (both
    weigh with normalized kernels), so both are skipped.
    """
    height, width = shape
    window = max(3, int(round(window_fraction * max(thumb.shape))))
    closed = closing(thumb, window)
    if closed.min() == closed.max():
        return np.float32(closed.flat[0])
    smooth = ndimage.gaussian_filter(closed, sigma=window / 4, mode="nearest")
    background = Image.fromarray(smooth.astype(np.float32), mode="F").resize((width, height),
                                                                             Image.Resampling.BILINEAR)
    return np.asarray(background, dtype=np.float32)


def as_background_image(background: np.ndarray | np.float32, shape: tuple[int, int]) -> np.ndarray:
    """A background from flatten_and_binarize as a full-size image (an even one comes as one value)."""
    if np.ndim(background) == 0:
        return np.full(shape, background, dtype=np.float32)
    return background


def ink_against(paper_light: np.ndarray, background: np.ndarray | np.float32) -> np.ndarray:
    """1 - paper / background, clipped to [0, 1]; float32, computed in place."""
    # Division (not subtraction): a shadow dims paper and ink by the same factor.
    ink = np.divide(paper_light, np.maximum(background, np.float32(1e-3)), dtype=np.float32)
    np.clip(ink, 0.0, 1.0, out=ink)
    return np.subtract(np.float32(1.0), ink, out=ink)


def quick_stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a whole mask, cheaply: 2 × area / boundary length (a long thin stroke)."""
    mask = np.asarray(mask, dtype=bool)
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    boundary = area - eroded_count(mask)
    return 2.0 * area / max(boundary, 1)


def flatten_illumination(gray: np.ndarray, dark_ink: bool) -> tuple[np.ndarray, np.ndarray]:
    """Divide out the paper's lighting; return (ink, background) with ink bright, paper ≈ 0, in [0, 1].

    Two passes: a coarse background (closing window of half the image, safe for
    the thick strokes of a tight crop) finds the strokes; their width then sets
    a finer window (3 stroke widths, at least 1/8 of the image) that also
    follows shadows and uneven light.
    """
    ink, background, _ = flatten_and_binarize(gray, dark_ink)
    return ink, as_background_image(background, ink.shape)


def flatten_and_binarize(gray: np.ndarray, dark_ink: bool, min_contrast: float = MIN_INK_CONTRAST
                         ) -> tuple[np.ndarray, np.ndarray | np.float32, InkMask | None]:
    """flatten_illumination, plus binarize_box(ink) when it came for free; the background may be one float32.

    The stroke width is measured on a binarized first-pass ink image. When that
    image is the final one (full resolution, and the finer background is the
    same even paper), its mask is returned too, so the pipeline does not
    binarize the same pixels again. `min_contrast`: the threshold's floor
    (binarize_box), lower for a second look at pale ink.
    """
    gray = np.asarray(gray, dtype=np.float32)  # Pillow's "F" images are float32
    paper_light = gray if dark_ink else 1.0 - gray
    thumb = _thumbnail(paper_light)
    background = _background(thumb, COARSE_WINDOW_FRACTION, gray.shape)
    ink = ink_against(paper_light, background)
    # Strokes measured at half resolution on photos: 4× fewer pixels, width × 2.
    step = 2 if min(gray.shape) >= 400 else 1
    binarized = binarize_box(ink[::step, ::step], min_contrast)
    stroke = step * quick_stroke_width(binarized.mask)  # paper around the box changes neither count
    fraction = STROKE_WINDOWS * stroke / max(gray.shape)
    if fraction < COARSE_WINDOW_FRACTION:
        fine = _background(thumb, max(fraction, FINE_WINDOW_FRACTION), gray.shape)
        if not (np.ndim(fine) == 0 and np.ndim(background) == 0 and fine == background):
            background = fine
            ink = ink_against(paper_light, background)
            binarized = None
    if np.ndim(background) == 0:  # even paper: nothing to follow
        return ink, background, (binarized if step == 1 else None)
    # A hard shadow's edge (a hand, a phone, a ruler) is a step in the light that the smooth
    # background above cannot follow: the dark side of the step would read as a band of ink.
    # A closing at (half) full resolution, a few stroke widths wide, removes the strokes and
    # keeps every step wider than its window. Where it finds the paper darker than the smooth
    # estimate (the dark side of a step), it is taken; elsewhere the smooth one stays.
    mask = binarize_box(ink[::step, ::step], min_contrast).mask
    window = max(3, int(round(EDGE_WINDOW_STROKES * quick_stroke_width(mask))))
    closed = closing(np.ascontiguousarray(paper_light[::step, ::step]), window)
    if step > 1:
        closed = np.asarray(Image.fromarray(closed, mode="F").resize((gray.shape[1], gray.shape[0]),
                                                                    Image.Resampling.BILINEAR))
    background = np.minimum(background, closed)
    return ink_against(paper_light, background), background, None


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the median distance-to-paper along the strokes' ridges."""
    if not mask.any():
        return 0.0
    squared = squared_distance_to_paper(np.pad(np.asarray(mask, dtype=bool), 1))
    # Ridges found on squared distances: the same pixels as on distances (sqrt is monotonic).
    ridge = (squared == maximum_3x3(squared)) & (squared > 0)
    return float(2 * np.median(np.sqrt(squared[ridge].astype(np.float64))))


def _disk(radius: int) -> np.ndarray:
    span = np.arange(-radius, radius + 1)
    return (span[:, None] ** 2 + span[None, :] ** 2) <= radius * radius + radius


def _thicken(digit: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Dilate thin strokes (a pen line on a large digit) to MNIST's stroke-to-size ratio."""
    longer = max(mask.shape)
    width = stroke_width(mask)
    if width <= 0 or width >= THIN_STROKE_RATIO * longer:
        return digit
    radius = int(round((TARGET_STROKE_RATIO * longer - width) / 2))
    if radius < 1:
        return digit
    padded = np.pad(digit, radius)
    return ndimage.grey_dilation(padded, footprint=_disk(radius), mode="constant", cval=0.0)


def _tight(digit: np.ndarray) -> np.ndarray:
    visible = digit > 0.05
    rows = np.flatnonzero(visible.any(axis=1))
    if len(rows) == 0:
        return digit
    cols = np.flatnonzero(visible.any(axis=0))
    return digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def to_mnist(ink_crop: np.ndarray, mask_crop: np.ndarray | None = None) -> np.ndarray:
    """One digit's ink (bright, paper 0) → 28×28 float32 the MNIST way.

    Contrast is stretched so the stroke cores reach 1, thin strokes are
    thickened, a strong slant is reduced to MNIST's (slant.py), the longer
    side is scaled to 20 px with area averaging (the anti-aliasing MNIST
    used), and the result is placed so its center of mass is at the field's
    center.
    """
    ink_crop = np.asarray(ink_crop, dtype=np.float32)
    if ink_crop.ndim != 2 or ink_crop.size == 0:
        raise ValueError(f"a digit crop must be a non-empty 2-D array, got shape {ink_crop.shape}")
    if not np.all(np.isfinite(ink_crop)):
        raise ValueError("a digit crop must not contain NaN or infinite values")
    ink_crop = np.clip(ink_crop, 0.0, None)
    mask = ink_crop > 0.5 * ink_crop.max() if mask_crop is None else np.asarray(mask_crop, dtype=bool)
    if not mask.any() or ink_crop.max() <= 0:
        return np.zeros((FIELD, FIELD), dtype=np.float32)
    level = percentile(ink_crop[mask], 90)
    digit = np.clip(ink_crop / max(level, 1e-6), 0.0, 1.0)
    digit = _tight(_thicken(digit, mask))
    digit = _tight(limit_slant(digit))

    height, width = digit.shape
    scale = DIGIT_BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = np.clip(np.asarray(Image.fromarray(digit, mode="F").resize(size, resample)), 0.0, 1.0)

    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    if small.sum() <= 0:
        return field
    center_y, center_x = ndimage.center_of_mass(small)
    # Integer placement, as MNIST did; clamped so the digit never leaves the field.
    top = min(max(round(FIELD_CENTER - center_y), 0), FIELD - size[1])
    left = min(max(round(FIELD_CENTER - center_x), 0), FIELD - size[0])
    field[top:top + size[1], left:left + size[0]] = small
    return field
