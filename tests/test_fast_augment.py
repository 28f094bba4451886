"""The fast engine's in-program augmentation: the recipe's ranges, nothing more, reproducible per key."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="JAX missing: pip install jax (a core dependency: pip install -e .)")

from digitlab.formats import RunConfig  # noqa: E402
from digitlab.train.fast.augment import augment_batch  # noqa: E402

NOTHING = dict(rotation_degrees=0.0, zoom_fraction=0.0, shift_fraction=0.0, stroke_jitter=0.0)


def bar_images(count: int = 64) -> np.ndarray:
    """A 2-pixel-wide vertical bar in the middle of a 28×28 image."""
    images = np.zeros((count, 28, 28), np.float32)
    images[:, 6:22, 13:15] = 1.0
    return images


def centre_of_mass(images: np.ndarray) -> np.ndarray:
    rows, columns = np.mgrid[:28, :28]
    ink = images.sum(axis=(1, 2))
    return np.stack([(images * rows).sum(axis=(1, 2)) / ink, (images * columns).sum(axis=(1, 2)) / ink], axis=1)


def test_zero_ranges_leave_images_unchanged():
    images = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    config = dataclasses.replace(RunConfig(), **NOTHING)
    np.testing.assert_allclose(augment_batch(images, jax.random.PRNGKey(0), config), images, atol=1e-6)


def test_shifts_stay_within_the_configured_fraction():
    config = dataclasses.replace(RunConfig(), **{**NOTHING, "shift_fraction": 0.1})
    moved = np.asarray(augment_batch(bar_images(), jax.random.PRNGKey(1), config))
    offsets = centre_of_mass(moved) - centre_of_mass(bar_images())
    assert np.abs(offsets).max() <= 0.1 * 28 + 0.05
    assert np.abs(offsets).max() > 1.0  # and they do move: up to 2.8 px
    assert offsets[:, 0].std() > 0.5 and offsets[:, 1].std() > 0.5  # both axes, independently drawn


def test_rotations_tilt_the_bar_within_the_configured_angle():
    config = dataclasses.replace(RunConfig(), **{**NOTHING, "rotation_degrees": 12.0})
    turned = np.asarray(augment_batch(bar_images(), jax.random.PRNGKey(2), config))
    angles = []
    for image in turned:
        rows, columns = np.nonzero(image > 0.5)
        slope = np.polyfit(rows, columns, 1)[0]  # column change per row: tan of the tilt
        angles.append(np.degrees(np.arctan(slope)))
    assert max(np.abs(angles)) <= 12.0 + 2.0  # pixel rounding
    assert max(np.abs(angles)) > 6.0 and min(angles) < 0 < max(angles)


def test_stroke_jitter_thickens_and_thins():
    config = dataclasses.replace(RunConfig(), **{**NOTHING, "stroke_jitter": 0.6})
    jittered = np.asarray(augment_batch(bar_images(), jax.random.PRNGKey(3), config))
    ink = jittered.sum(axis=(1, 2)) / bar_images(1).sum()
    assert ink.max() > 1.2 and ink.min() < 0.8
    assert jittered.min() >= 0.0 and jittered.max() <= 1.0


def test_same_key_same_batch_other_key_other_batch():
    images, config = bar_images(16), RunConfig()
    first = augment_batch(images, jax.random.PRNGKey(4), config)
    np.testing.assert_array_equal(first, augment_batch(images, jax.random.PRNGKey(4), config))
    assert not np.allclose(first, augment_batch(images, jax.random.PRNGKey(5), config))
    assert augment_batch(images[..., None], jax.random.PRNGKey(4), config).shape == (16, 28, 28, 1)
