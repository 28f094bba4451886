"""The held-out generator's pen: any shape → its centre line → redrawn with a pen, gaps and all.

Usage (inside benchmarks/heldout; see its __init__ for the whole generator):

    skeleton, mask = digit_centre_line(x_test[i])       # MNIST 28×28 → 112×112 centre line and shape
    pen = choose_pen(rng)
    cut, made = degrade(skeleton, mask, "open-loop", rng, pen.radius)   # made: the cut actually made
    coverage = draw_with_pen(cut, pen, rng, filled_parts(skeleton, mask))   # float 0..1 ink, 112×112

Nothing here comes from digitlab.synth: the benchmark must not share rendering
code with the generator that makes training images. A shape (an MNIST digit
upscaled ×4, a font glyph, a scribble's polyline) is thinned to its one-pixel
centre line (Zhang–Suen), cut where a writer's pen would skip or lift (a small
gap, a loop left open where it should close, a digit drawn in broken pieces),
and redrawn with a round pen whose width and ink flow wander along the stroke.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

SCALE = 4  # MNIST pixels → canonical pixels
DIGIT_HEIGHT = 80  # an MNIST digit's ink is about 20 of its 28 rows: 80 canonical pixels


@dataclass(frozen=True)
class Pen:
    """A writer's pen, in canonical pixels (a digit is DIGIT_HEIGHT tall)."""

    name: str  # ballpoint, gel, felt-tip, marker, pencil
    radius: float  # half the stroke width
    width_wobble: float  # relative change of width along the stroke
    flow_wobble: float  # relative change of ink along the stroke
    skips: float  # share of the stroke where a dry ballpoint leaves little ink
    grain: float  # pencil graphite grain, 0 for liquid ink


def choose_pen(rng: np.random.Generator) -> Pen:
    name = str(rng.choice(["ballpoint", "ballpoint", "ballpoint", "gel", "felt-tip", "marker", "pencil"]))
    radius = {"ballpoint": (1.5, 2.8), "gel": (2.0, 3.2), "felt-tip": (3.0, 4.5), "marker": (4.5, 6.5),
              "pencil": (1.5, 2.6)}[name]
    return Pen(name, float(rng.uniform(*radius)), float(rng.uniform(0.05, 0.2)), float(rng.uniform(0.05, 0.3)),
               float(rng.uniform(0.0, 0.12)) if name == "ballpoint" else 0.0,
               float(rng.uniform(0.3, 0.6)) if name == "pencil" else 0.0)


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang–Suen thinning: a boolean shape → its one-pixel-wide centre line."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p2, p3, p4, p5 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:], image[2:, 2:]
            p6, p7, p8, p9 = image[2:, 1:-1], image[2:, :-2], image[1:-1, :-2], image[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:8]).astype(np.int32)
            transitions = sum(((a == 0) & (b == 1)).astype(np.int32) for a, b in zip(ring, ring[1:]))
            if step == 0:
                spare = ((p2 * p4 * p6) == 0) & ((p4 * p6 * p8) == 0)
            else:
                spare = ((p2 * p4 * p8) == 0) & ((p2 * p6 * p8) == 0)
            remove = (image[1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & spare
            if remove.any():
                image[1:-1, 1:-1][remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def _clean_shape(mask: np.ndarray, min_hole: int = 14, min_ink: int = 24) -> np.ndarray:
    """Fill pin-prick holes (they would thin to tiny loops) and drop specks of ink."""
    background, count = ndimage.label(~mask)
    for label, size in enumerate(ndimage.sum(np.ones_like(mask), background, range(1, count + 1)), start=1):
        component = background == label
        touches_edge = component[0].any() or component[-1].any() or component[:, 0].any() or component[:, -1].any()
        if size < min_hole and not touches_edge:
            mask = mask | component
    ink, count = ndimage.label(mask, structure=np.ones((3, 3)))
    sizes = ndimage.sum(np.ones_like(mask), ink, range(1, count + 1))
    keep = np.isin(ink, 1 + np.flatnonzero(sizes >= min_ink))
    return keep


def digit_centre_line(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An MNIST digit (28×28 uint8, ink bright) → (centre line, shape), both 112×112 boolean."""
    large = Image.fromarray(np.asarray(pixels, dtype=np.uint8)).resize((28 * SCALE, 28 * SCALE),
                                                                       Image.Resampling.BICUBIC)
    smooth = ndimage.gaussian_filter(np.asarray(large, dtype=np.float32), 1.2)
    # A thick stroke can close a small loop at a low threshold (a 9 would thin to a 4): take the
    # lowest threshold that keeps every loop a higher one finds, without breaking the strokes apart.
    candidates = []
    for level in (0.4, 0.55, 0.7):
        mask = _clean_shape(smooth > level * smooth.max())
        pieces = ndimage.label(mask, structure=np.ones((3, 3)))[1]
        candidates.append((len(_holes(mask, min_area=14)), -pieces, -level, mask))
    allowed = [c for c in candidates if c[1] >= candidates[0][1]]
    mask = max(allowed, key=lambda c: (c[0], c[2]))[3]
    return thin(mask), mask


def shape_centre_line(mask: np.ndarray) -> np.ndarray:
    """Any boolean shape (a rendered glyph) → its centre line."""
    return thin(_clean_shape(mask))


def _holes(mask: np.ndarray, min_area: int = 40) -> list[np.ndarray]:
    """The shape's closed loops: background regions that do not reach the edge."""
    background, count = ndimage.label(~mask)
    edge = set(np.unique(np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])))
    holes = []
    for label in range(1, count + 1):
        if label not in edge:
            hole = background == label
            if hole.sum() >= min_area:
                holes.append(hole)
    return holes


def _cut(skeleton: np.ndarray, centre: tuple[int, int], reach: float) -> np.ndarray:
    """Lift the pen within `reach` of centre; crumbs of stroke left between two cuts go too."""
    ys, xs = np.ogrid[:skeleton.shape[0], :skeleton.shape[1]]
    skeleton = skeleton & ((ys - centre[0]) ** 2 + (xs - centre[1]) ** 2 > reach ** 2)
    pieces, count = ndimage.label(skeleton, structure=np.ones((3, 3)))
    sizes = ndimage.sum(skeleton, pieces, range(1, count + 1))
    return np.isin(pieces, 1 + np.flatnonzero(sizes >= 6))


def _inner_points(skeleton: np.ndarray) -> np.ndarray:
    """Centre-line pixels that are not stroke ends (cutting an end only shortens the stroke)."""
    neighbours = ndimage.convolve(skeleton.astype(np.int32), np.ones((3, 3), np.int32), mode="constant") - 1
    points = np.argwhere(skeleton & (neighbours >= 2))
    return points if len(points) else np.argwhere(skeleton)


def degrade(skeleton: np.ndarray, mask: np.ndarray, cut: str, rng: np.random.Generator,
            pen_radius: float) -> tuple[np.ndarray, str]:
    """Cut the centre line as a hurried writer would; returns it and the cut actually made.

    "gap": one small gap; "open-loop": the gap where a loop closes (its top, mostly: where
    a 0 starts and ends, where a 6's loop meets its stem, a closed 4's apex), or a plain
    gap when the digit has no loop; "pieces": two to four gaps, a digit in broken pieces.
    The visible gap is 3–11 % of the digit's height after the pen's round ends.
    """
    if cut == "none" or not skeleton.any():
        return skeleton, "none"
    made = cut
    if cut == "open-loop":
        holes = _holes(mask)
        if not holes:
            cut, made = "gap", "gap"
        else:
            hole = holes[int(rng.integers(len(holes)))]
            reach = int(np.ceil(ndimage.distance_transform_edt(mask).max())) + 2  # the thickest stroke, and a bit
            near = ndimage.binary_dilation(hole, iterations=reach)
            candidates = np.argwhere(skeleton & near)
            if len(candidates) == 0:
                cut, made = "gap", "gap"
            else:
                rows = np.flatnonzero(hole.any(axis=1))
                top, height = rows[0], rows[-1] - rows[0] + 1
                if rng.random() < 0.7:  # mostly at the loop's top, else anywhere along it
                    weights = np.exp(-np.clip(candidates[:, 0] - top, 0, None) / (0.2 * height + 2))
                else:
                    weights = np.ones(len(candidates))
                centre = candidates[rng.choice(len(candidates), p=weights / weights.sum())]
                return _cut(skeleton, tuple(centre), pen_radius + rng.uniform(1.5, 4.5)), made
    points = _inner_points(skeleton)
    for _ in range(1 if cut == "gap" else int(rng.integers(2, 5))):
        centre = points[int(rng.integers(len(points)))]
        skeleton = _cut(skeleton, tuple(centre), pen_radius + rng.uniform(1.5, 4.5))
    return skeleton, made


def _smooth_field(shape: tuple[int, int], rng: np.random.Generator, scale: float) -> np.ndarray:
    """Zero-mean, unit-spread noise that varies over about `scale` pixels."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), scale, mode="wrap")
    return (field - field.mean()) / (field.std() + 1e-9)


def filled_parts(skeleton: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Where the shape is much thicker than its strokes (a loop inked solid): thinning would lose it."""
    depth = ndimage.distance_transform_edt(mask)
    stroke = float(np.median(depth[skeleton])) if skeleton.any() else 0.0
    cores = depth > max(2.0 * stroke, 6.0)
    if not cores.any():
        return np.zeros(mask.shape, bool)
    return ndimage.binary_dilation(cores, iterations=int(np.ceil(1.5 * stroke))) & mask


def draw_with_pen(skeleton: np.ndarray, pen: Pen, rng: np.random.Generator,
                  filled: np.ndarray | None = None) -> np.ndarray:
    """Redraw a centre line with a round pen (and fill `filled` solid): float 0..1 ink amount per pixel."""
    if filled is not None and filled.any():
        skeleton = skeleton | filled
    if not skeleton.any():
        return np.zeros(skeleton.shape, np.float32)
    distance, (nearest_y, nearest_x) = ndimage.distance_transform_edt(~skeleton, return_indices=True)
    # Width and ink flow are properties of the stroke: each pixel takes its nearest centre-line pixel's.
    width = pen.radius * (1 + pen.width_wobble * np.clip(_smooth_field(skeleton.shape, rng, 10), -1.5, 1.5))
    flow = 1 - pen.flow_wobble * np.abs(_smooth_field(skeleton.shape, rng, 8))
    if pen.skips:
        dryness = _smooth_field(skeleton.shape, rng, 4)
        dry = dryness > np.quantile(dryness, 1 - pen.skips)
        flow = np.where(dry, flow * rng.uniform(0.15, 0.5), flow)
    radius = np.clip(width[nearest_y, nearest_x], 0.8, None)
    coverage = np.clip(radius + 0.5 - distance, 0, 1) * np.clip(flow[nearest_y, nearest_x], 0.05, 1)
    if pen.grain:
        coverage *= np.clip(1 - pen.grain * rng.random(skeleton.shape), 0, 1)
    return coverage.astype(np.float32)
