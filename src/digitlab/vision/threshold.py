"""Stage 4: the ink image → a binary mask, by Otsu's threshold with a contrast floor.

Usage:

    mask, threshold = binarize(ink)              # the whole image's mask
    ink_mask = binarize_box(ink)                 # the same, kept as the box around the ink
    ink_mask.mask, ink_mask.top, ink_mask.left   # crop and where it sits; ink_mask.full() = binarize's mask
    threshold = otsu_threshold(values)

binarize_box is what the pipeline uses: a drawing or a clean scan is mostly
blank paper, and the blur, the histogram and the segmentation after it need
only look at the box that holds the ink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Ink must be at least this much darker (or brighter) than the paper around it, as a
# fraction of the paper's brightness: a blank sheet's noise and texture stay below it.
MIN_INK_CONTRAST = 0.18

# Bin edges and centers of otsu_threshold's default histogram, computed once.
_OTSU_BINS = 256
_OTSU_EDGES = np.linspace(0.0, 1.0, _OTSU_BINS + 1)
_OTSU_CENTERS = (_OTSU_EDGES[:-1] + _OTSU_EDGES[1:]) / 2


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of values in [0, 1]: maximizes the between-class variance."""
    return _otsu_from_histogram(_histogram(values, bins))


def _histogram(values: np.ndarray, bins: int) -> np.ndarray:
    # bincount of quantized values: the same histogram as np.histogram, several times faster.
    scaled = np.multiply(np.asarray(values, dtype=np.float32).ravel(), np.float32(bins), dtype=np.float32)
    np.clip(scaled, 0, bins - 1, out=scaled)
    # Truncation toward zero, as astype(np.intp) does; uint8 is a quarter of the memory traffic.
    quantized = scaled.astype(np.uint8 if bins <= 256 else np.intp)
    return np.bincount(quantized, minlength=bins).astype(np.float64)


def _otsu_from_histogram(histogram: np.ndarray) -> float:
    bins = len(histogram)
    if bins == _OTSU_BINS:
        edges, centers = _OTSU_EDGES, _OTSU_CENTERS
    else:
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


@dataclass
class InkMask:
    """binarize's mask, kept as the box that holds all ink: outside it the mask is False."""

    mask: np.ndarray  # bool crop
    top: int
    left: int
    shape: tuple[int, int]  # the whole image's
    threshold: float

    def full(self) -> np.ndarray:
        """The mask of the whole image, as binarize returns it."""
        if self.mask.shape == self.shape:
            return self.mask
        whole = np.zeros(self.shape, dtype=bool)
        whole[self.top:self.top + self.mask.shape[0], self.left:self.left + self.mask.shape[1]] = self.mask
        return whole


# Paper kept around the ink's box by binarize_box: more than the 3×3 blur reaches.
_BOX_MARGIN = 2


def binarize_box(ink: np.ndarray, min_contrast: float = MIN_INK_CONTRAST) -> InkMask:
    """binarize(ink), computed only over the box around the nonzero ink (a drawing is mostly blank canvas);
    `min_contrast` is the threshold's floor (lower for the pipeline's second look at pale ink).

    Exactly binarize's answer: paper pixels beyond the margin blur to (within
    rounding) 0, below any threshold and in the lowest histogram bin, so they are
    added to that bin by count; inside the box the blur sees the same pixels.
    """
    height, width = ink.shape
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:  # no ink at all: nothing passes any threshold
        return InkMask(np.zeros((height, width), dtype=bool), 0, 0, (height, width), min_contrast)
    top, bottom = max(0, int(rows[0]) - _BOX_MARGIN), min(height, int(rows[-1]) + 1 + _BOX_MARGIN)
    cols = np.flatnonzero(ink[top:bottom].any(axis=0))
    left, right = max(0, int(cols[0]) - _BOX_MARGIN), min(width, int(cols[-1]) + 1 + _BOX_MARGIN)
    smooth = ndimage.uniform_filter(ink[top:bottom, left:right], size=3, mode="nearest")
    histogram = _histogram(smooth, _OTSU_BINS)
    histogram[0] += height * width - smooth.size
    threshold = max(_otsu_from_histogram(histogram), min_contrast)
    return InkMask(smooth > threshold, top, left, (height, width), threshold)
