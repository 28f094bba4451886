"""The pipeline's fast paths give bit for bit what the general SciPy/NumPy calls give."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from digitlab.vision import kernels, preprocess, threshold
from digitlab.vision.decode import decode_image


def _masks(seed: int, count: int):
    """Random masks of every kind: noise, blobs, smooth shapes, full, tiny."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        height, width = (int(value) for value in rng.integers(1, 90, 2))
        kind = index % 4
        if kind == 0:
            yield rng.random((height, width)) < rng.random()
        elif kind == 1:
            yield ndimage.binary_dilation(rng.random((height, width)) < 0.02, iterations=int(rng.integers(1, 10)))
        elif kind == 2:
            yield ndimage.gaussian_filter(rng.random((height, width)), rng.uniform(0.5, 5)) > 0.5
        else:
            yield np.ones((height, width), dtype=bool)


def test_mask_kernels_match_scipy():
    for mask in _masks(seed=0, count=400):
        padded = np.pad(mask, 1)
        distance = ndimage.distance_transform_edt(padded)
        assert np.array_equal(np.sqrt(kernels.squared_distance_to_paper(padded).astype(np.float64)), distance)
        assert kernels.eroded_count(mask) == int(ndimage.binary_erosion(mask).sum())
        assert np.array_equal(kernels.dilate(mask), ndimage.binary_dilation(mask))
        assert np.array_equal(kernels.dilate(mask, 2), ndimage.binary_dilation(mask, iterations=2))
        values = np.random.default_rng(mask.size).integers(0, 40, mask.shape).astype(np.int32)
        assert np.array_equal(kernels.maximum_3x3(values), ndimage.maximum_filter(values, size=3))
        if mask.any():
            ridge = (distance == ndimage.maximum_filter(distance, size=3)) & (distance > 0)
            assert preprocess.stroke_width(mask) == float(2 * np.median(distance[ridge]))


def test_closing_and_percentile_match():
    rng = np.random.default_rng(1)
    for index in range(300):
        height, width = (int(value) for value in rng.integers(2, 65, 2))
        image = rng.random((height, width)).astype(np.float32)
        if index % 2:
            image[rng.random((height, width)) < 0.7] = 1.0
        window = int(rng.integers(3, 40))
        expected = ndimage.grey_closing(image, size=(window, window), mode="nearest")
        assert np.array_equal(kernels.closing(image, window), expected)
        values = rng.random(int(rng.integers(1, 2000))).astype(np.float32)
        if index % 3 == 0:
            values = np.round(values * 4).astype(np.float32) / 4  # ties
        assert kernels.percentile(values, 90) == float(np.percentile(values, 90))


def test_binarize_box_matches_binarize():
    rng = np.random.default_rng(2)
    for index in range(300):
        height, width = (int(value) for value in rng.integers(3, 200, 2))
        ink = np.zeros((height, width), dtype=np.float32)
        for _ in range(int(rng.integers(0, 4))):
            y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
            patch = rng.random((min(int(rng.integers(1, 50)), height - y), min(int(rng.integers(1, 50)), width - x)))
            if index % 2:
                patch = np.clip(ndimage.gaussian_filter(patch, 2) * 3 - 1, 0, 1)
            ink[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
        for view in (ink, ink[::2, ::2]):
            mask, level = threshold.binarize(view)
            boxed = threshold.binarize_box(view)
            assert boxed.threshold == level
            assert np.array_equal(boxed.full(), mask)
            assert preprocess.quick_stroke_width(boxed.mask) == preprocess.quick_stroke_width(mask)


def _canvas(size: int, seed: int) -> Image.Image:
    """A drawing as the web page sends it: dark strokes on a transparent canvas."""
    rng = np.random.default_rng(seed)
    alpha = np.zeros((size, size), dtype=np.float32)
    for _ in range(3):
        y, x = (int(value) for value in rng.integers(size // 5, 4 * size // 5, 2))
        alpha[max(0, y - size // 4):y + size // 4, max(0, x - 4):x + 4] = 1.0
    alpha = np.clip(ndimage.gaussian_filter(alpha, 1.0) * 1.5, 0, 1)
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(alpha * 255).astype(np.uint8)
    return Image.fromarray(rgba, mode="RGBA")


@pytest.mark.parametrize("seed", range(6))
def test_fast_flatten_matches_the_two_pass_definition(seed):
    """flatten_and_binarize (shared thumbnail, even paper as one value, mask reuse) = flatten_illumination + binarize."""
    rng = np.random.default_rng(seed)
    if seed % 2:
        gray = decode_image(_canvas([280, 400, 96][seed % 3], seed)).gray
    else:
        height, width = (int(value) for value in rng.integers(100, 500, 2))
        light = np.linspace(0.6, 1.0, width, dtype=np.float32)[None, :] * np.ones((height, 1), np.float32)
        gray = np.clip(light - 0.6 * (ndimage.gaussian_filter(rng.random((height, width)), 3) > 0.56), 0, 1)
        gray = gray.astype(np.float32)
    dark_ink = preprocess.has_dark_ink(gray)
    ink, background = preprocess.flatten_illumination(gray, dark_ink)
    fast_ink, fast_background, reused = preprocess.flatten_and_binarize(gray, dark_ink)
    assert np.array_equal(fast_ink, ink)
    assert np.array_equal(preprocess.as_background_image(fast_background, gray.shape), background)
    mask, level = threshold.binarize(ink)
    boxed = reused or threshold.binarize_box(fast_ink)
    assert boxed.threshold == level and np.array_equal(boxed.full(), mask)


def _frame_median(gray: np.ndarray) -> float:
    margin_y, margin_x = max(1, gray.shape[0] // 12), max(1, gray.shape[1] // 12)
    return float(np.median(np.concatenate([gray[:margin_y].ravel(), gray[-margin_y:].ravel(),
                                           gray[:, :margin_x].ravel(), gray[:, -margin_x:].ravel()])))


def test_polarity_shortcut_agrees_with_the_smoothed_extremes():
    """has_dark_ink decides clear cases from raw extremes: always as the smoothed extremes would."""
    rng = np.random.default_rng(3)
    for index in range(300):
        height, width = (int(value) for value in rng.integers(8, 120, 2))
        gray = np.full((height, width), rng.uniform(0.2, 1.0), dtype=np.float32)
        gray += rng.normal(0, rng.uniform(0, 0.1), gray.shape).astype(np.float32)
        y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
        gray[y:y + int(rng.integers(1, 10)), x:x + int(rng.integers(1, 10))] = rng.uniform(0, 1)
        gray = np.clip(gray, 0, 1).astype(np.float32)
        if index % 2:
            gray = (1.0 - gray).astype(np.float32)  # light ink on a dark background
        paper = _frame_median(gray)
        smooth = ndimage.uniform_filter(gray, size=3, mode="nearest")
        full = (float(smooth.max()) - paper
                <= preprocess.LIGHT_INK_MARGIN * (paper - float(smooth.min())) + preprocess.MIN_INK_CONTRAST / 2)
        decided = preprocess._clear_polarity(gray, paper)
        assert decided is None or decided == full
        assert preprocess.has_dark_ink(gray) == full
