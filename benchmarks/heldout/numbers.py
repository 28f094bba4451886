"""Numbers written with MNIST test digits: which digits (the plan) and how they are written (the render).

Usage (inside benchmarks/heldout):

    items = plan_numbers(1000, seed=2027, labels=y_test)   # deterministic; records the test indices
    data, notes = render_number(items[0], x_test, seed=2027)  # JPEG bytes and how it was written

The plan draws the digits from a seeded permutation of MNIST's 10,000 test
images, so no test digit is used twice in a set of up to ~2,800 numbers; a
number's text is its digits' labels. 90 % of numbers have 1–5 digits, 10 % 6–8.

Each number is written by one writer: a pen (strokes.choose_pen), an ink, a
size, a slant, a spacing habit (touching, tight, normal, wide, measured ink to
ink row by row, so "touching" strokes really touch) and a care level. A hurried
writer leaves a 0, 4 or 6 open (a gap where the loop closes) often, other loops
less, and sometimes a small gap in any stroke or a digit in broken pieces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from heldout.camera import choose_ink, lay_on_paper, photograph, to_jpeg
from heldout.strokes import DIGIT_HEIGHT, choose_pen, degrade, digit_centre_line, draw_with_pen, filled_parts

LENGTHS = (1, 2, 3, 4, 5, 6, 7, 8)
LENGTH_SHARES = (0.18, 0.18, 0.18, 0.18, 0.18, 0.04, 0.03, 0.03)
# Share of writers; the closest ink-to-ink gap between neighbours, in digit heights; how far a digit's box
# may reach into its neighbour's, in the narrower one's widths (a 1 is not tucked under a 7's bar).
SPACINGS = {"touching": (0.2, (-0.06, 0.0), 0.25), "tight": (0.25, (0.02, 0.1), 0.1),
            "normal": (0.35, (0.1, 0.35), 0.0), "wide": (0.2, (0.4, 1.0), 0.0)}
# Per digit, for a hurried writer: chances of each cut (strokes.degrade); a careful one makes a fifth as many.
HURRIED_CUTS = {
    "loop named in the issue": {"open-loop": 0.4, "gap": 0.1, "pieces": 0.07},  # 0, 4, 6
    "other loop": {"open-loop": 0.2, "gap": 0.1, "pieces": 0.06},  # 8, 9
    "no loop": {"gap": 0.15, "pieces": 0.06},
}
SET_NUMBERS = 0  # the second entry of a numbers item's seed (the rejects use 1)


@dataclass(frozen=True)
class Item:
    """One image of the benchmark: its file name, kind, the truth and the MNIST test indices it used."""

    name: str
    kind: str  # "number", or a reject kind (rejects.REJECT_KINDS)
    text: str  # the digits written; "" for a reject
    index: int  # its position in its set, part of its seed
    mnist_test_indices: tuple[int, ...] = field(default=())


def plan_numbers(count: int, seed: int, labels: np.ndarray) -> list[Item]:
    """`count` numbers: lengths and MNIST test indices, from the seed alone; a smaller count plans a prefix."""
    rng = np.random.default_rng([seed, 2])
    order = rng.permutation(len(labels))  # drawn first, so the first numbers do not depend on the count
    lengths = rng.choice(LENGTHS, size=count, p=LENGTH_SHARES)
    items, used = [], 0
    for index, length in enumerate(lengths):
        if used + length > len(order):  # more digits than the test set holds: a fresh order
            order, used = rng.permutation(len(labels)), 0
        indices = tuple(int(i) for i in order[used:used + length])
        used += length
        text = "".join(str(int(labels[i])) for i in indices)
        items.append(Item(f"number-{index:04d}-{text}.jpg", "number", text, index, indices))
    return items


def _cut_for(digit: int, hurried: bool, rng: np.random.Generator) -> str:
    group = "loop named in the issue" if digit in (0, 4, 6) else "other loop" if digit in (8, 9) else "no loop"
    chances = HURRIED_CUTS[group]
    scale = 1.0 if hurried else 0.2
    draw, total = rng.random(), 0.0
    for cut, chance in chances.items():
        total += chance * scale
        if draw < total:
            return cut
    return "none"


def _crop(coverage: np.ndarray) -> np.ndarray:
    rows, columns = np.flatnonzero(coverage.any(axis=1)), np.flatnonzero(coverage.any(axis=0))
    if len(rows) == 0:
        return np.zeros((DIGIT_HEIGHT, DIGIT_HEIGHT // 2), np.float32)
    return coverage[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1]


def _jitter(coverage: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One digit's own size and tilt within the writer's line."""
    image = Image.fromarray(coverage, mode="F")
    scale = rng.uniform(0.9, 1.1)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                         Image.Resampling.BILINEAR)
    image = image.rotate(rng.uniform(-4, 4), resample=Image.Resampling.BILINEAR, expand=True)
    return _crop(np.clip(np.asarray(image, dtype=np.float32), 0, 1))


def compose_line(digits: list[np.ndarray], spacing: tuple[float, float], reach: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Digit coverages side by side; the ink-to-ink gap (row by row) of each pair drawn from `spacing`."""
    height = int(DIGIT_HEIGHT * 1.8)
    width = sum(d.shape[1] for d in digits) + int(DIGIT_HEIGHT * 1.2) * len(digits) + DIGIT_HEIGHT
    line = np.zeros((height, width), np.float32)
    right = np.full(height, -np.inf)  # the line's rightmost ink per row so far
    slope = rng.uniform(-0.04, 0.04)  # the line drifts up or down a little
    x = DIGIT_HEIGHT // 2
    box_right, box_width = 0, 0
    for digit in digits:
        h, w = digit.shape
        top = int((height - h) / 2 + rng.uniform(-0.05, 0.05) * DIGIT_HEIGHT + slope * x)
        top = min(max(top, 0), height - h)
        inked = digit > 0.2
        left_edge = np.where(inked.any(axis=1), inked.argmax(axis=1), np.inf)
        if np.isfinite(right).any():
            gap = rng.uniform(*spacing) * DIGIT_HEIGHT
            # Where the new digit's ink would be, row by row, if its box started at column 0.
            shared = np.isfinite(left_edge) & np.isfinite(right[top:top + h])
            if shared.any():
                x = int(round(gap - np.min(left_edge[shared] - right[top:top + h][shared])))
            else:
                x = int(round(np.max(right[np.isfinite(right)]) + gap))
            x = max(x, int(box_right - reach * min(box_width, w)), 0)
        if x + w > line.shape[1]:  # a wide gap after a long digit: more room
            line = np.pad(line, ((0, 0), (0, x + w - line.shape[1] + DIGIT_HEIGHT)))
        region = line[top:top + h, x:x + w]
        np.maximum(region, digit, out=region)
        rows = np.isfinite(left_edge)
        right_edge = np.where(rows, w - 1 - inked[:, ::-1].argmax(axis=1), -np.inf) + x
        right[top:top + h] = np.maximum(right[top:top + h], right_edge)
        box_right, box_width = x + w, w
    return _crop(line)


def _slant(coverage: np.ndarray, shear: float) -> np.ndarray:
    height, width = coverage.shape
    extra = int(abs(shear) * height) + 2
    image = Image.fromarray(coverage, mode="F")
    image = image.transform((width + extra, height), Image.Transform.AFFINE,
                            (1, shear, -extra if shear > 0 else 0, 0, 1, 0), Image.Resampling.BILINEAR)
    return _crop(np.asarray(image, dtype=np.float32))


def scale_to(coverage: np.ndarray, digit_height: float) -> np.ndarray:
    """Canonical coverage → the photo's pixels (a digit DIGIT_HEIGHT tall becomes digit_height)."""
    factor = digit_height / DIGIT_HEIGHT
    size = (max(1, round(coverage.shape[1] * factor)), max(1, round(coverage.shape[0] * factor)))
    image = Image.fromarray(np.clip(coverage, 0, 1), mode="F").resize(size, Image.Resampling.LANCZOS)
    return np.pad(np.clip(np.asarray(image, dtype=np.float32), 0, 1), 2)


def render_number(item: Item, images: np.ndarray, seed: int) -> tuple[bytes, dict]:
    """The photo of one planned number: (JPEG bytes, notes on how it was written and shot)."""
    rng = np.random.default_rng([seed, SET_NUMBERS, item.index])
    pen = choose_pen(rng)
    ink = choose_ink(pen.name, rng)
    hurried = bool(rng.random() < 0.4)
    names = list(SPACINGS)
    spacing = names[rng.choice(len(names), p=[SPACINGS[name][0] for name in names])]
    digit_height = float(np.exp(rng.uniform(np.log(28), np.log(150))))
    cuts, digits = [], []
    for index, digit in zip(item.mnist_test_indices, item.text):
        skeleton, mask = digit_centre_line(images[index])
        wanted = _cut_for(int(digit), hurried, rng)
        cut_skeleton, made = degrade(skeleton, mask, wanted, rng, pen.radius)
        coverage = draw_with_pen(cut_skeleton, pen, rng, filled_parts(skeleton, mask))
        digits.append(_jitter(_crop(coverage), rng))
        cuts.append(made)
    line = compose_line(digits, *SPACINGS[spacing][1:], rng)
    line = scale_to(_slant(line, rng.uniform(-0.12, 0.12)), digit_height)
    world, inked, paper_notes = lay_on_paper(line, digit_height, rng, ink)
    photo, camera_notes = photograph(world, rng, inked, digit_height, paper_notes.pop("frame"))
    notes = {"pen": pen.name, "writer": "hurried" if hurried else "careful", "spacing": spacing,
             "cuts": cuts, "digit_height": round(digit_height), **paper_notes, "camera": camera_notes,
             "size": list(photo.size)}
    return to_jpeg(photo, rng), notes
