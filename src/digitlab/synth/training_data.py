"""Training digits as the vision pipeline hands them to the model: low-resolution scans and photo crops.

Usage:

    x, y = extra_training_data("lowres", images=x_train, labels=y_train, seed=42)   # (n, 28, 28) float32, labels
    x, y = extra_training_data("photos", count=8_000)        # or "small": photos of small handwriting

A model trained on MNIST alone sees only MNIST's own rendering of a digit; the
digits `digitlab predict` hands it have been through decode → threshold →
segment → crop → 20 px → centre of mass, from sources that look different.
Two kinds of extra training digits close that gap (`digitlab train --extra-data`):

- "lowres": each MNIST training digit rendered as a low-resolution scan (6–10
  pixels tall, often binarized, sometimes stretched to fill its box as form
  readers normalize it, 17 grey levels, scaled up bilinearly to 24–64 px), then
  read back through `digitlab.vision.analyze`. Scans, faxes, thumbnails and
  small digits in photos look like this.
- "photos": the digits the pipeline cuts from synthetic photos
  (digitlab.synth.photos) with seeds in TRAINING_SEEDS, never the
  calibration or test seeds; photos whose digit count comes out wrong are skipped.
- "small": the same from photos of small handwriting (digits 12–20 px tall,
  less than MNIST's 20 px box, so the pipeline enlarges them), seeds from the
  other end of TRAINING_SEEDS.

Both go through the very pipeline that serves predictions, so the model learns
its outputs. Making them takes minutes (the pipeline is ~3 ms a digit, ~50 ms a
photo, spread over the CPU cores), so results are cached in the data cache
under a key that includes a hash of the vision code: a changed pipeline makes
new data.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

import digitlab.vision
from digitlab.data import cache_dir as default_cache_dir
from digitlab.data import read_npz
from digitlab.errors import UserError
from digitlab.formats import EXTRA_DATA_KINDS, atomic_path
from digitlab.synth.photos import TRAINING_SEEDS, render_photo
from digitlab.vision import analyze

# Digit height in scan pixels: optdigits-style forms (8) down to thumbnails (6), up to coarse faxes (10).
LOWRES_HEIGHTS = (6, 10)
# The page handed to the pipeline, in pixels per side (bilinear upscaling, like a viewer or scanner driver).
LOWRES_PAGE_SIDES = (24, 64)
# Digit heights (px) of the "small" photos: handwriting a little smaller than MNIST's 20 px box.
SMALL_DIGIT_HEIGHTS = (12, 21)
# Supersampling of the digit before averaging into scan pixels (each scan pixel counts 4×4 sub-pixels).
SUBPIXELS = 4
GREY_LEVELS = 16
CHUNK = 500


def render_low_resolution(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit (28×28 uint8, ink bright) → a low-resolution scan of it: uint8 page, dark ink on white."""
    rows, columns = np.nonzero(digit > 30)
    if not len(rows):
        raise ValueError("the digit image has no ink")
    crop = digit[rows.min():rows.max() + 1, columns.min():columns.max() + 1].astype(np.float32) / 255.0
    height_ratio = crop.shape[1] / crop.shape[0]
    cells_high = int(rng.integers(LOWRES_HEIGHTS[0], LOWRES_HEIGHTS[1] + 1))
    # Form readers often stretch a narrow digit towards a square box: anywhere between as-is and square.
    width_ratio = height_ratio + rng.uniform(0.0, 1.0) * max(0.0, 1.0 - height_ratio)
    cells_wide = max(2, int(round(width_ratio * cells_high)))
    fine = np.asarray(Image.fromarray(crop).resize((cells_wide * SUBPIXELS, cells_high * SUBPIXELS),
                                                  Image.Resampling.BILINEAR))
    if rng.random() < 0.7:  # a bitmap scanner: ink or paper, nothing between
        fine = (fine > rng.uniform(0.3, 0.6)).astype(np.float32)
    cells = fine.reshape(cells_high, SUBPIXELS, cells_wide, SUBPIXELS).mean(axis=(1, 3))
    cells = np.round(cells * GREY_LEVELS) / GREY_LEVELS
    margin = int(rng.integers(0, 3))
    side = max(cells_high, cells_wide) + 2 * margin
    canvas = np.zeros((side, side), np.float32)
    top, left = (side - cells_high) // 2, (side - cells_wide) // 2
    canvas[top:top + cells_high, left:left + cells_wide] = cells
    paper = Image.fromarray(np.round(255.0 * (1.0 - canvas)).astype(np.uint8))
    page_side = int(rng.integers(LOWRES_PAGE_SIDES[0], LOWRES_PAGE_SIDES[1] + 1))
    return np.asarray(paper.resize((page_side, page_side), Image.Resampling.BILINEAR))


def _lowres_chunk(images: np.ndarray, seed: int, first_index: int) -> list[np.ndarray | None]:
    inputs = []
    for offset, digit in enumerate(images):
        # One generator per image: the result does not depend on how the work is split.
        rng = np.random.default_rng([seed, first_index + offset])
        digits = analyze(render_low_resolution(digit, rng)).digits
        inputs.append(digits[0].model_input if len(digits) == 1 else None)
    return inputs


def _photo_chunk(seeds: range, small: bool = False) -> list[tuple[np.ndarray, int]]:
    pairs = []
    for seed in seeds:
        # Small handwriting: the digit height drawn from its own generator, the photo from the seed as usual.
        height = int(np.random.default_rng([seed, 1]).integers(*SMALL_DIGIT_HEIGHTS)) if small else None
        photo = render_photo(seed, digit_height=height)
        digits = analyze(photo.jpeg).digits
        if len(digits) == len(photo.text):  # else the labels could not be matched to the crops
            pairs += [(crop.model_input, int(character)) for crop, character in zip(digits, photo.text)]
    return pairs


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def _pool() -> Iterator[ProcessPoolExecutor]:
    """Worker processes for making extra digits; a pool that breaks is one clear error."""
    # "spawn": the caller usually has TensorFlow or JAX loaded, and forking those can deadlock.
    try:
        with ProcessPoolExecutor(_workers(), mp_context=get_context("spawn")) as pool:
            yield pool
    except BrokenProcessPool:
        raise UserError(
            "the worker processes making the extra training digits stopped unexpectedly: out of memory, or "
            "a script calling digitlab.synth.training_data without an `if __name__ == \"__main__\":` guard "
            "(each spawned worker imports the script again)."
        ) from None


def lowres_digits(images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Model inputs read back from low-resolution scans of `images`; digits the pipeline lost are left out."""
    starts = range(0, len(images), CHUNK)
    with _pool() as pool:
        chunks = pool.map(_lowres_chunk, [images[start:start + CHUNK] for start in starts],
                          [seed] * len(starts), list(starts))
        inputs = [model_input for chunk in chunks for model_input in chunk]
    kept = [index for index, model_input in enumerate(inputs) if model_input is not None]
    if not kept:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0,), labels.dtype)
    return np.stack([inputs[index] for index in kept]), np.asarray(labels)[kept]


def photo_digits(count: int, small: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Digits cut by the pipeline from `count` synthetic training photos, with their labels.

    small=False: the first `count` TRAINING_SEEDS, digits 28–120 px tall; small=True:
    the last `count` TRAINING_SEEDS (no photo is used twice), digits SMALL_DIGIT_HEIGHTS px tall.
    """
    if count > len(TRAINING_SEEDS) // 2:
        raise ValueError(f"at most {len(TRAINING_SEEDS) // 2:,} training photos, got {count:,}")
    seeds = TRAINING_SEEDS[-count:] if small else TRAINING_SEEDS[:count]
    step = max(1, CHUNK // 5)
    with _pool() as pool:
        batches = [seeds[start:start + step] for start in range(0, count, step)]
        chunks = pool.map(_photo_chunk, batches, [small] * len(batches))
        pairs = [pair for chunk in chunks for pair in chunk]
    if not pairs:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0,), np.uint8)
    return np.stack([pair[0] for pair in pairs]), np.array([pair[1] for pair in pairs], dtype=np.uint8)


def vision_code_hash() -> str:
    """SHA-256 (first 12 hex digits) of the source that makes these digits: the vision package and this one.

    Cached data is remade when either changes.
    """
    digest = hashlib.sha256()
    for folder in (Path(digitlab.vision.__file__).parent, Path(__file__).parent):
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def extra_training_data(
    kind: str,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    seed: int = 0,
    count: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (n, 28, 28) float32 in [0, 1], integer labels) of one extra kind, from the cache when possible."""
    if kind not in EXTRA_DATA_KINDS:
        raise ValueError(f"unknown extra training data {kind!r}; choose from {', '.join(EXTRA_DATA_KINDS)}")
    if kind == "lowres":
        if images is None or labels is None:
            raise ValueError("lowres digits are made from training images: pass images and labels")
        source = hashlib.sha256(np.ascontiguousarray(images))
        source.update(np.ascontiguousarray(labels))
        key = f"lowres-{source.hexdigest()[:12]}-seed{seed}"
    else:
        key = f"{kind}-{count}"
    path = default_cache_dir(cache_dir) / "extra" / f"{key}-vision{vision_code_hash()}.npz"
    try:
        cached = read_npz(path, ("x", "y"))  # never unpickles, never trusts a header's size
        x, y = cached["x"], cached["y"]
        if x.ndim == 3 and x.shape[1:] == (28, 28) and x.dtype == np.float32 and y.shape == (len(x),):
            return x, y
    except (OSError, ValueError):  # not made yet, or damaged (NpzError is a ValueError): make it again
        pass
    if kind == "lowres":
        x, y = lowres_digits(images, labels, seed)
    else:
        x, y = photo_digits(count, small=kind == "small")
    with atomic_path(path) as partial:  # a crash mid-write never leaves a truncated cache file under the real name
        np.savez(partial, x=x.astype(np.float32), y=y)
    # The same data made by an older vision pipeline is never read again: without this,
    # every upgrade would leave another ~150 MB file behind.
    for stale in path.parent.glob(f"{key}-vision*.npz"):
        if stale != path and not stale.name.endswith(".partial.npz"):  # another process may be writing that
            stale.unlink(missing_ok=True)
    return x, y
