"""Line-reader training and validation strips: synthetic number photos cut by the real vision pipeline.

Usage:

    strips = line_strips("train", count=60_000)        # StripSet, cached in the data cache
    strips = line_strips("validation", count=3_000)    # MNIST's last 6,000 training digits only, no fonts
    strips.pixels(i)                                    # (32, width) float32, ink bright
    strips.texts[i]                                     # "2026", or "" for something to refuse
    photo_strip(photo, ink_box)                         # one render_number_photo's strip, or None

Each strip is what `digitlab predict` hands the line reader for that photo:
render_number_photo (strips.py) → JPEG → digitlab.vision.analyze → its
LineStrip. A photo whose line the pipeline did not find (the strip misses most
of the ink, or is mostly something else, such as a shadow's edge) is left out
and counted, since its label would not match what the strip shows.

The splits never share a digit image: "train" draws MNIST training images
0–53,999 and the training fonts; "validation" draws images 54,000–59,999 (the
one validation split, digitlab.data.split) and no fonts, to look like the
held-out benchmark. MNIST's test images are never used.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from digitlab.data import cache_dir as default_cache_dir
from digitlab.data import load_mnist, read_npz, validation_start
from digitlab.formats import atomic_path
from digitlab.synth.strips import DigitSource, render_number_photo, training_fonts
from digitlab.synth.training_data import _pool, vision_code_hash
from digitlab.vision import ImageError, analyze

SPLITS = ("train", "validation")
# Seeds per split, far apart: the photos of the two splits are drawn independently.
SPLIT_SEEDS = {"train": 10_000_000, "validation": 20_000_000}
# Every REFUSE_EVERY-th photo is something to refuse (letters, a word, a scribble), labelled "".
REFUSE_EVERY = 12
# Across the line, the strip must hold this much of the ink's width (an 8-digit number missing its first
# digit is 87 % of it: its label would not match), and the ink this much of the strip's; up and down, the
# ink's middle must be inside the strip, and what the strip shows at most MAX_FOUND_HEIGHT times the ink's
# height (more is a shadow's band or the desk's edge, which squash the digits to a few rows).
MIN_INK_COVERED, MIN_STRIP_INK, MAX_FOUND_HEIGHT = 0.97, 0.3, 1.5
CHUNK = 200
# Photos per cached block of strips (line_strips).
BLOCK_PHOTOS = 10_000


@dataclass
class StripSet:
    """Strips of varying width stored end to end: strip i is columns offsets[i]:offsets[i+1] of `columns`."""

    columns: np.ndarray  # (32, total width) uint8, ink bright
    offsets: np.ndarray  # (n + 1,) int64
    texts: list[str]
    missed: int  # photos left out because the pipeline did not find their line
    generator: str = ""  # strips_generator_hash() of the code that made them

    def __len__(self) -> int:
        return len(self.texts)

    def width(self, index: int) -> int:
        return int(self.offsets[index + 1] - self.offsets[index])

    def pixels(self, index: int) -> np.ndarray:
        return self.columns[:, self.offsets[index]:self.offsets[index + 1]].astype(np.float32) / 255.0


@lru_cache(maxsize=2)
def _digit_source(split: str) -> DigitSource:
    (images, labels), _ = load_mnist()
    start = validation_start(len(images))
    if split == "train":
        return DigitSource(images[:start], labels[:start], fonts=training_fonts())
    return DigitSource(images[start:], labels[start:])


def validation_digit_source() -> DigitSource:
    """The validation split's digits (MNIST training images 54,000-59,999, no font), as "validation" strips use."""
    return _digit_source("validation")


def found_the_line(found: tuple, ink: tuple) -> bool:
    """Whether a strip's box (x0, y0, x1, y1) holds the line whose ink box is `ink`, and not much else."""
    shared = min(found[2], ink[2]) - max(found[0], ink[0])
    middle = (ink[1] + ink[3]) / 2
    return (shared >= MIN_INK_COVERED * (ink[2] - ink[0]) and shared >= MIN_STRIP_INK * (found[2] - found[0])
            and found[1] <= middle <= found[3] and found[3] - found[1] <= MAX_FOUND_HEIGHT * (ink[3] - ink[1]))


def photo_strip(photo, ink_box: tuple) -> np.ndarray | None:
    """The strip (32, width) float32 the pipeline cuts from a render_number_photo photo, None when it
    finds no line, or (for a number) not the number's line."""
    try:
        analysis = analyze(photo.jpeg)
    except ImageError:
        return None
    if analysis.line is None:
        return None
    if photo.text and not found_the_line(analysis.strip_box(0, analysis.line.width), ink_box):
        return None
    return analysis.line.pixels


def _strip_chunk(split: str, seeds: range) -> list[tuple[np.ndarray, str] | None]:
    digits = _digit_source(split)
    made: list[tuple[np.ndarray, str] | None] = []
    for seed in seeds:
        text = "" if seed % REFUSE_EVERY == REFUSE_EVERY - 1 else None
        photo, ink_box = render_number_photo(seed, digits, text=text)
        pixels = photo_strip(photo, ink_box)
        made.append(None if pixels is None else (np.round(pixels * 255).astype(np.uint8), photo.text))
    return made


def make_strips(split: str, count: int, skip: int = 0) -> StripSet:
    """Render `count` photos of the split (after its first `skip`) and cut their strips (in worker processes);
    see the module doc."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    first = SPLIT_SEEDS[split] + skip
    batches = [range(start, min(start + CHUNK, first + count)) for start in range(first, first + count, CHUNK)]
    with _pool() as pool:
        made = [item for chunk in pool.map(_strip_chunk, [split] * len(batches), batches) for item in chunk]
    kept = [item for item in made if item is not None]
    widths = [strip.shape[1] for strip, _ in kept]
    offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    columns = np.concatenate([strip for strip, _ in kept], axis=1) if kept else np.zeros((32, 0), np.uint8)
    return StripSet(columns, offsets, [text for _, text in kept], missed=len(made) - len(kept))


def strips_generator_hash() -> str:
    """SHA-256 (first 12 hex digits) of what makes the strips: the vision and synth code. Changed code, new strips."""
    digest = hashlib.sha256(vision_code_hash().encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:12]


def read_strips(path: Path) -> StripSet:
    """A StripSet saved by line_strips (its generator hash is the file name's last part)."""
    saved = read_npz(path, ("columns", "offsets", "texts", "missed"))  # never unpickles
    return StripSet(saved["columns"], saved["offsets"], [str(text) for text in saved["texts"]],
                    int(saved["missed"]), generator=Path(path).stem.rsplit("-", 1)[-1])


def joined(parts: list[StripSet]) -> StripSet:
    """Strip sets end to end, as one (the generator of the first)."""
    widths = np.concatenate([np.diff(part.offsets) for part in parts])
    return StripSet(np.concatenate([part.columns for part in parts], axis=1),
                    np.concatenate([[0], np.cumsum(widths)]).astype(np.int64),
                    [text for part in parts for text in part.texts], sum(part.missed for part in parts),
                    generator=parts[0].generator)


def line_strips(split: str, count: int, cache_dir: str | os.PathLike | None = None) -> StripSet:
    """The split's first `count` photos as strips, from the data cache when they were made before.

    They are made and cached in blocks of BLOCK_PHOTOS photos (the last one
    smaller when `count` is not a multiple), so that more photos later make
    only the new blocks: 120,000 photos reuse the blocks of the first 60,000.
    """
    generator = strips_generator_hash()
    parts = []
    for skip in range(0, count, BLOCK_PHOTOS):
        size = min(BLOCK_PHOTOS, count - skip)
        path = default_cache_dir(cache_dir) / "strips" / f"{split}-{skip}+{size}-{generator}.npz"
        try:
            parts.append(read_strips(path))
            continue
        except (OSError, ValueError):  # not made yet, or damaged: make it again
            pass
        strips = make_strips(split, size, skip)
        strips.generator = generator
        with atomic_path(path) as partial:
            np.savez(partial, columns=strips.columns, offsets=strips.offsets,
                     texts=np.array(strips.texts, dtype="U8"), missed=np.array(strips.missed))
        parts.append(strips)
    if not parts:
        return StripSet(np.zeros((32, 0), np.uint8), np.zeros(1, np.int64), [], 0, generator=generator)
    return parts[0] if len(parts) == 1 else joined(parts)
