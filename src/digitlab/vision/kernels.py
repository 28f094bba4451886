"""Exact, faster stand-ins for the SciPy/NumPy calls the pipeline makes on small arrays.

Usage:

    closed = closing(thumb, window)              # ndimage.grey_closing(thumb, size=(window, window), mode="nearest")
    count = eroded_count(mask)                   # ndimage.binary_erosion(mask).sum()
    grown = dilate(mask)                         # ndimage.binary_dilation(mask)
    squared = squared_distance_to_paper(padded)  # ndimage.distance_transform_edt(padded) ** 2, as int32
    peaks = maximum_3x3(values)                  # ndimage.maximum_filter(values, size=3)
    level = percentile(values, 90)               # float(np.percentile(values, 90)) of a 1-D float32 array

Each gives bit for bit what the call in its comment gives (tests/test_vision_kernels.py
checks them against it on random inputs). They exist because on a digit-sized
crop or a 64-pixel thumbnail the general functions spend most of their time on
checks and set-up, and a web request reads one small image: its cost is the sum
of many such calls.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def dilate(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """ndimage.binary_dilation(mask, iterations=...) with its cross structure (outside = paper), by slicing."""
    grown = np.asarray(mask, dtype=bool).copy()
    for _ in range(iterations):
        previous = grown.copy()
        grown[1:] |= previous[:-1]
        grown[:-1] |= previous[1:]
        grown[:, 1:] |= previous[:, :-1]
        grown[:, :-1] |= previous[:, 1:]
    return grown


def closing(image: np.ndarray, window: int) -> np.ndarray:
    """ndimage.grey_closing(image, size=(window, window), mode="nearest"), as its four 1-D passes.

    The same calls grey_closing makes (a square window is separable), without
    its per-call checks, which cost more than the passes on a thumbnail.
    """
    # grey_dilation mirrors the window: an even window is shifted by one pixel.
    origin = -1 if window % 2 == 0 else 0
    closed = ndimage.maximum_filter1d(image, window, axis=0, mode="nearest", origin=origin)
    ndimage.maximum_filter1d(closed, window, axis=1, output=closed, mode="nearest", origin=origin)
    ndimage.minimum_filter1d(closed, window, axis=0, output=closed, mode="nearest")
    ndimage.minimum_filter1d(closed, window, axis=1, output=closed, mode="nearest")
    return closed


def eroded_count(mask: np.ndarray) -> int:
    """Pixels left by ndimage.binary_erosion(mask) (cross structure, outside = paper), by slicing."""
    if mask.ndim != 2 or min(mask.shape) < 3:
        return int(np.count_nonzero(ndimage.binary_erosion(mask)))
    core = mask[1:-1, 1:-1] & mask[:-2, 1:-1]
    core &= mask[2:, 1:-1]
    core &= mask[1:-1, :-2]
    core &= mask[1:-1, 2:]
    return int(np.count_nonzero(core))


def squared_distance_to_paper(mask: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance (int32) from each ink pixel to the nearest paper pixel; 0 on paper.

    The same integers as ndimage.distance_transform_edt(mask) ** 2 for a mask
    framed by paper, in about half the time on a digit-sized crop: the distance
    along each row first, then the nearest row that gives a shorter distance. A
    row k away can only help a pixel whose squared distance so far exceeds k²,
    so the search stops at the first k past the largest remaining distance.
    """
    height, width = mask.shape
    # Rows framed by paper: one pass over the flattened image never crosses from one row into the next.
    flat = mask.ravel()
    index = np.arange(flat.size, dtype=np.int32)
    previous = np.where(flat, np.int32(-flat.size), index)
    np.maximum.accumulate(previous, out=previous)
    following = np.where(flat, np.int32(2 * flat.size), index)[::-1]
    following = np.minimum.accumulate(following)[::-1]
    along_row = np.minimum(index - previous, following - index).reshape(height, width)
    row_squared = along_row * along_row
    squared = row_squared.copy()
    offset = 1
    while offset < height and offset * offset < squared.max():
        step = np.int32(offset * offset)
        np.minimum(squared[offset:], row_squared[:-offset] + step, out=squared[offset:])
        np.minimum(squared[:-offset], row_squared[offset:] + step, out=squared[:-offset])
        offset += 1
    return squared


def maximum_3x3(values: np.ndarray) -> np.ndarray:
    """ndimage.maximum_filter(values, size=3) (edges repeated), by slicing."""
    across = values.copy()
    np.maximum(across[:, 1:], values[:, :-1], out=across[:, 1:])
    np.maximum(across[:, :-1], values[:, 1:], out=across[:, :-1])
    result = across.copy()
    np.maximum(result[1:], across[:-1], out=result[1:])
    np.maximum(result[:-1], across[1:], out=result[:-1])
    return result


def percentile(values: np.ndarray, q: float) -> float:
    """float(np.percentile(values, q)) of a 1-D float32 array (linear method), without its generality.

    The same arithmetic: the two order statistics around (n - 1) q / 100 from a
    partition, then NumPy's lerp in float32 (from the upper end when past half way).
    """
    count = values.size
    position = (count - 1) * (q / 100)
    lower = int(np.floor(position))
    if position >= count - 1:
        lower = upper = count - 1
    else:
        upper = lower + 1
    ordered = np.partition(values, (lower, upper))
    low, high = ordered[lower], ordered[upper]
    weight = position - lower
    difference = high - low
    if weight >= 0.5:
        return float(high - difference * (1 - weight))
    return float(low + difference * weight)
