"""Stages 2–4 and 7: polarity, illumination flattening, thresholding, and one digit → MNIST 28×28.

Usage:

    dark_ink = has_dark_ink(gray)                      # True for pen on paper, False for chalk/canvas
    ink, background = flatten_illumination(gray, dark_ink)   # ink bright (MNIST polarity), paper ≈ 0
    mask, threshold = binarize(ink)                    # Otsu, never below MIN_INK_CONTRAST
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

# Ink must be at least this much darker (or brighter) than the paper around it, as a
# fraction of the paper's brightness: a blank sheet's noise and texture stay below it.
MIN_INK_CONTRAST = 0.18
# Light ink (chalk, a canvas) is chosen only if it reaches this many times farther
# from the paper level than dark ink does.
LIGHT_INK_MARGIN = 1.5
# The background (paper + lighting) is estimated on a thumbnail this big: lighting
# varies slowly, so a thumbnail is enough and keeps a phone photo fast.
BACKGROUND_THUMBNAIL_SIDE = 64
# Closing windows, as fractions of the longer side: half the image removes strokes
# up to half the image wide (a tight crop of a thick digit); the fine window
# (3 stroke widths, at least 1/8 of the image) also follows shadows.
COARSE_WINDOW_FRACTION = 0.5
FINE_WINDOW_FRACTION = 0.125
STROKE_WINDOWS = 3.0
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
    """A 28×28 array-like (values in [0, 1] or 0..255) → float32 in [0, 1]; ValueError if it is not one."""
    try:
        image = np.asarray(pixels, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("pixels must be a 28×28 array of numbers") from None
    if image.shape == (784,):
        image = image.reshape(28, 28)
    image = np.squeeze(image)
    if image.shape != (FIELD, FIELD):
        raise ValueError(f"pixels must be 28×28, got shape {tuple(np.shape(pixels))}")
    if not np.all(np.isfinite(image)):
        raise ValueError("pixels contain NaN or infinite values")
    if image.min() < 0:
        raise ValueError("pixels must not be negative")
    if image.max() > 1.0:
        if image.max() > 255.0:
            raise ValueError("pixels must be in [0, 1] or 0..255")
        image = image / 255.0
    return image.astype(np.float32)


def has_dark_ink(gray: np.ndarray) -> bool:
    """True when the ink is darker than the paper (pen on paper), False for light ink (chalk, a canvas).

    The paper's level is the median of the image's outer frame, which is mostly
    paper even in a tight crop of a thick digit. Ink is sparse and far from the
    paper level, so the darkest and the brightest 0.5 % of the image are
    compared with it: whichever extreme lies farther from the paper is the ink.
    """
    height, width = gray.shape
    margin_y, margin_x = max(1, height // 12), max(1, width // 12)
    frame = np.concatenate([
        gray[:margin_y].ravel(), gray[-margin_y:].ravel(), gray[:, :margin_x].ravel(), gray[:, -margin_x:].ravel(),
    ])
    paper = float(np.median(frame))
    # Extremes of a lightly smoothed image: a thin digit can be far less than 1 % of a
    # photo, and smoothing keeps single noisy pixels from posing as ink.
    step = 2 if min(gray.shape) >= 400 else 1  # half resolution is plenty on a photo
    smooth = ndimage.uniform_filter(gray[::step, ::step], size=3, mode="nearest")
    # Dark ink on light paper is the common case and wins near-ties: a blank sheet
    # under uneven light must not turn its dark corners into "light ink".
    dark_reach, light_reach = paper - float(smooth.min()), float(smooth.max()) - paper
    return bool(light_reach <= LIGHT_INK_MARGIN * dark_reach + MIN_INK_CONTRAST / 2)


def estimate_background(paper_light: np.ndarray, window_fraction: float = COARSE_WINDOW_FRACTION) -> np.ndarray:
    """Paper brightness under the lighting, per pixel: a closing (removes dark strokes) on a thumbnail.

    The closing window (a fraction of the longer side) must be wider than the
    strokes, or they count as paper, and narrower than shadows, or they count
    as ink; flatten_illumination picks it from the strokes it finds.
    """
    paper_light = np.ascontiguousarray(paper_light, dtype=np.float32)
    height, width = paper_light.shape
    factor = min(1.0, BACKGROUND_THUMBNAIL_SIDE / max(height, width))
    thumb_size = (max(2, round(width * factor)), max(2, round(height * factor)))
    thumb = np.asarray(Image.fromarray(paper_light, mode="F").resize(thumb_size, Image.Resampling.BOX))
    window = max(3, int(round(window_fraction * max(thumb_size))))
    closed = ndimage.grey_closing(thumb, size=(window, window), mode="nearest")
    smooth = ndimage.gaussian_filter(closed, sigma=window / 4, mode="nearest")
    background = Image.fromarray(smooth.astype(np.float32), mode="F").resize((width, height),
                                                                             Image.Resampling.BILINEAR)
    return np.asarray(background, dtype=np.float32)


def quick_stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a whole mask, cheaply: 2 × area / boundary length (a long thin stroke)."""
    area = int(mask.sum())
    if area == 0:
        return 0.0
    boundary = area - int(ndimage.binary_erosion(mask).sum())
    return 2.0 * area / max(boundary, 1)


def flatten_illumination(gray: np.ndarray, dark_ink: bool) -> tuple[np.ndarray, np.ndarray]:
    """Divide out the paper's lighting; return (ink, background) with ink bright, paper ≈ 0, in [0, 1].

    Two passes: a coarse background (closing window of half the image, safe for
    the thick strokes of a tight crop) finds the strokes; their width then sets
    a finer window (3 stroke widths, at least 1/8 of the image) that also
    follows shadows and uneven light.
    """
    gray = np.asarray(gray, dtype=np.float32)  # Pillow's "F" images are float32
    paper_light = gray if dark_ink else 1.0 - gray
    background = estimate_background(paper_light, COARSE_WINDOW_FRACTION)
    # Division (not subtraction): a shadow dims paper and ink by the same factor.
    ink = 1.0 - np.clip(paper_light / np.maximum(background, 1e-3), 0.0, 1.0)
    # Strokes measured at half resolution on photos: 4× fewer pixels, width × 2.
    step = 2 if min(gray.shape) >= 400 else 1
    stroke = step * quick_stroke_width(binarize(ink[::step, ::step])[0])
    fraction = STROKE_WINDOWS * stroke / max(gray.shape)
    if fraction < COARSE_WINDOW_FRACTION:
        background = estimate_background(paper_light, max(fraction, FINE_WINDOW_FRACTION))
        ink = 1.0 - np.clip(paper_light / np.maximum(background, 1e-3), 0.0, 1.0)
    return ink.astype(np.float32), background


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of values in [0, 1]: maximizes the between-class variance."""
    # bincount of quantized values: the same histogram as np.histogram, several times faster.
    quantized = np.clip(np.asarray(values, dtype=np.float32).ravel() * bins, 0, bins - 1).astype(np.intp)
    histogram = np.bincount(quantized, minlength=bins).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    centers = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(histogram * centers)
    mean_low = sum_low / np.maximum(weight_low, 1e-12)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1e-12)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def binarize(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """Ink image → (mask, threshold): a light blur against noise, then Otsu with a contrast floor."""
    smooth = ndimage.uniform_filter(ink, size=3, mode="nearest")
    threshold = max(otsu_threshold(smooth), MIN_INK_CONTRAST)
    return smooth > threshold, threshold


def stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the median distance-to-paper along the strokes' ridges."""
    if not mask.any():
        return 0.0
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))
    ridge = (distance == ndimage.maximum_filter(distance, size=3)) & (distance > 0)
    return float(2 * np.median(distance[ridge]))


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
    rows, cols = np.nonzero(digit > 0.05)
    if len(rows) == 0:
        return digit
    return digit[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def to_mnist(ink_crop: np.ndarray, mask_crop: np.ndarray | None = None) -> np.ndarray:
    """One digit's ink (bright, paper 0) → 28×28 float32 the MNIST way.

    Contrast is stretched so the stroke cores reach 1, thin strokes are
    thickened, the longer side is scaled to 20 px with area averaging (the
    anti-aliasing MNIST used), and the result is placed so its center of mass
    is at the field's center.
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
    level = float(np.percentile(ink_crop[mask], 90))
    digit = np.clip(ink_crop / max(level, 1e-6), 0.0, 1.0)
    digit = _tight(_thicken(digit, mask))

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
    top = int(np.clip(round(FIELD_CENTER - center_y), 0, FIELD - size[1]))
    left = int(np.clip(round(FIELD_CENTER - center_x), 0, FIELD - size[0]))
    field[top:top + size[1], left:left + size[0]] = small
    return field
