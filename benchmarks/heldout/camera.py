"""The held-out generator's paper, ink and camera: ink coverage → a phone photo, JPEG bytes.

Usage (inside benchmarks/heldout):

    page, inked = lay_on_paper(coverage, digit_height, rng)   # world image (float RGB) and where the ink is
    photo, notes = photograph(page, rng, inked, digit_height)  # PIL RGB as the phone saw it
    data = to_jpeg(photo, rng)

Its own model of every step, sharing nothing with digitlab.synth:

- paper: white, cream, recycled grey, a yellow sticky note, ruled (blue lines, a
  red margin) or squared, with fibre texture; sometimes the desk shows around it;
  on ruled paper the number mostly sits on a line;
- ink: ballpoint blue or black, gel, felt-tip, marker, pencil, red; subtractive
  (the paper shows through), its amount from the pen model in strokes.py;
- camera: a perspective view (a few degrees of rotation, a tilted phone),
  uneven light (a gradient, vignetting, a hand or phone shadow with a soft edge),
  a colour cast, defocus or motion blur, sensor noise, then JPEG at quality 55–92.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage

# Light each ink lets through (subtractive: paper × (1 − amount × (1 − transmittance))).
INKS = {
    "ballpoint blue": (0.16, 0.25, 0.62),
    "ballpoint black": (0.14, 0.14, 0.17),
    "gel black": (0.06, 0.06, 0.08),
    "felt-tip blue": (0.10, 0.22, 0.55),
    "marker black": (0.05, 0.05, 0.06),
    "pencil": (0.42, 0.42, 0.45),
    "red": (0.72, 0.16, 0.16),
}
PENS_INKS = {
    "ballpoint": ("ballpoint blue", "ballpoint blue", "ballpoint black", "red"),
    "gel": ("gel black", "ballpoint blue"), "felt-tip": ("felt-tip blue", "marker black", "red"),
    "marker": ("marker black", "felt-tip blue"), "pencil": ("pencil",),
}
PAPERS = {  # colour, share
    "white": ((0.96, 0.96, 0.95), 0.3), "cream": ((0.97, 0.94, 0.85), 0.12),
    "recycled": ((0.86, 0.85, 0.82), 0.08), "sticky note": ((0.99, 0.93, 0.55), 0.08),
    "ruled": ((0.97, 0.97, 0.95), 0.27), "squared": ((0.96, 0.96, 0.95), 0.15),
}
DESKS = ((0.45, 0.32, 0.2), (0.6, 0.6, 0.62), (0.25, 0.25, 0.27), (0.75, 0.68, 0.55))


def choose_ink(pen_name: str, rng: np.random.Generator) -> str:
    return str(rng.choice(PENS_INKS[pen_name]))


def _texture(height: int, width: int, rng: np.random.Generator, cell: int) -> np.ndarray:
    """Smooth unit noise, height×width, varying over about `cell` pixels (made small, scaled up)."""
    small = rng.standard_normal((max(2, height // cell + 2), max(2, width // cell + 2))).astype(np.float32)
    image = Image.fromarray(small, mode="F").resize((width, height), Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.float32)


def _rule(positions: np.ndarray, pitch: float, offset: float, width: float) -> np.ndarray:
    """Coverage (0..1) of printed lines every `pitch` pixels through `offset`, along one axis."""
    distance = np.abs((positions - offset + pitch / 2) % pitch - pitch / 2)
    return np.clip(width / 2 + 0.5 - distance, 0, 1).astype(np.float32)


def paper_image(height: int, width: int, rng: np.random.Generator, kind: str, digit_height: float,
                baseline: float) -> np.ndarray:
    """A sheet of paper, float RGB 0..1, ruled lines through `baseline` when ruled."""
    colour = np.array(PAPERS[kind][0], np.float32) * np.float32(rng.uniform(0.95, 1.02))
    fibres = 0.008 * _texture(height, width, rng, 60) + 0.012 * _texture(height, width, rng, 3)
    page = np.clip(colour * (1 + fibres[..., None]), 0, 1)
    ys, xs = np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32)
    line_width = max(1.0, digit_height / 45)
    if kind == "ruled":
        lines = _rule(ys, digit_height * rng.uniform(1.15, 1.6), baseline, line_width) * rng.uniform(0.25, 0.55)
        page *= 1 - lines[:, None, None] * (1 - np.array([0.55, 0.7, 0.95], np.float32))
        if rng.random() < 0.5:  # the red margin line
            margin = _rule(xs, 10 * width, rng.uniform(0.03, 0.15) * width, line_width) * 0.5
            page *= 1 - margin[None, :, None] * (1 - np.array([0.95, 0.45, 0.45], np.float32))
    elif kind == "squared":
        pitch = digit_height * rng.uniform(0.45, 0.8)
        offset = rng.uniform(0, pitch, 2)
        strength = rng.uniform(0.2, 0.45)
        lines = np.maximum(_rule(ys, pitch, offset[0], line_width)[:, None],
                           _rule(xs, pitch, offset[1], line_width)[None, :]) * strength
        page *= 1 - lines[..., None] * (1 - np.array([0.6, 0.72, 0.85], np.float32))
    return page.astype(np.float32)


def lay_on_paper(coverage: np.ndarray, digit_height: float, rng: np.random.Generator, ink: str | None,
                 paper: str | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Ink coverage (final pixels) written on a sheet: (world RGB, ink mask in world pixels, notes).

    The world is larger than the photo's frame (the camera in `photograph` looks at its middle),
    so rotation and perspective never show past the paper's edge unless the desk should show.
    """
    if paper is None:
        names = list(PAPERS)
        shares = np.array([PAPERS[name][1] for name in names])
        paper = names[rng.choice(len(names), p=shares / shares.sum())]
    line_height, line_width = coverage.shape
    room = rng.uniform(1.35, 2.6) if rng.random() < 0.75 else rng.uniform(2.6, 5.0)  # paper around the number
    frame_width = int(min(max(line_width * room, line_height * 2.2, 320), max(2000, line_width * 1.35)))
    aspect = float(rng.choice([0.75, 0.5625, 1.333, rng.uniform(0.35, 0.8)]))
    frame_height = int(max(frame_width * aspect, line_height * 1.9))
    pad = int(0.2 * max(frame_width, frame_height))
    height, width = frame_height + 2 * pad, frame_width + 2 * pad
    # Where the number goes in the frame: anywhere it fits with a margin for the camera's tilt.
    margin_x, margin_y = 0.1 * frame_width, 0.12 * frame_height
    left = pad + rng.uniform(margin_x, max(margin_x, frame_width - margin_x - line_width))
    top = pad + rng.uniform(margin_y, max(margin_y, frame_height - margin_y - line_height))
    left, top = int(left), int(top)
    baseline = top + line_height * rng.uniform(0.92, 1.05)
    page = paper_image(height, width, rng, paper, digit_height, baseline)
    desk = rng.random() < 0.15
    if desk:  # a smaller sheet, the desk around it inside the frame
        grain = 1 + 0.08 * _texture(height, width, rng, 25)
        surface = np.array(DESKS[rng.integers(len(DESKS))], np.float32) * grain[..., None]
        sheet = np.zeros((height, width), bool)
        x0 = int(min(left - 0.05 * frame_width, pad + rng.uniform(0.02, 0.12) * frame_width))
        y0 = int(min(top - 0.08 * frame_height, pad + rng.uniform(0.02, 0.15) * frame_height))
        x1 = int(max(left + line_width + 0.05 * frame_width, pad + frame_width * rng.uniform(0.85, 0.98)))
        y1 = int(max(top + line_height + 0.08 * frame_height, pad + frame_height * rng.uniform(0.85, 0.98)))
        sheet[max(0, y0):y1, max(0, x0):x1] = True
        page = np.where(sheet[..., None], page, surface)
    ink_layer = np.zeros((height, width), np.float32)
    ink_layer[top:top + line_height, left:left + line_width] = coverage
    if ink is not None:
        transmittance = np.array(INKS[ink], np.float32) * rng.uniform(0.9, 1.1)
        page = page * (1 - ink_layer[..., None] * (1 - np.clip(transmittance, 0, 1)))
    notes = {"paper": paper + (" on a desk" if desk else ""), "ink": ink or "", "frame": (frame_width, frame_height)}
    return page, ink_layer > 0.3, notes


def _perspective_coefficients(frame: list[tuple[float, float]], world: list[tuple[float, float]]) -> list[float]:
    """PIL's PERSPECTIVE data: for each frame pixel, where to sample the world."""
    rows, values = [], []
    for (x, y), (u, v) in zip(frame, world):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return np.linalg.solve(np.array(rows, float), np.array(values, float)).tolist()


def _view(size: tuple[int, int], pad: int, rng: np.random.Generator, strength: float) -> list[float]:
    width, height = size
    angle = np.radians(rng.uniform(-5, 5) * strength)
    centre = np.array([pad + width / 2, pad + height / 2])
    corners = [(0, 0), (width, 0), (width, height), (0, height)]
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    world = []
    for corner in corners:
        point = rotation @ (np.array(corner, float) - [width / 2, height / 2])
        point += rng.uniform(-0.04, 0.04, 2) * (width, height) * strength  # the phone is not held square
        world.append(tuple(centre + point))
    return _perspective_coefficients(corners, world)


def _shade(image: np.ndarray, rng: np.random.Generator, shadow: bool | None) -> tuple[np.ndarray, list[str]]:
    """Uneven light: gradient, vignetting, a soft-edged shadow, a colour cast and exposure."""
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ys, xs = ys / height - 0.5, xs / width - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 - np.float32(rng.uniform(0, 0.3)) * (np.cos(angle) * xs + np.sin(angle) * ys + 0.71) / 1.42
    light *= 1 - rng.uniform(0, 0.2) * (xs ** 2 + ys ** 2) * 2
    notes = []
    # The phone's or a hand's shadow: a half-plane with a blurred edge.
    if (rng.random() < 0.3) if shadow is None else shadow:
        direction = rng.uniform(0, 2 * np.pi)
        edge = np.cos(direction) * xs + np.sin(direction) * ys - rng.uniform(-0.1, 0.4)
        softness = rng.uniform(0.01, 0.08)
        light *= 1 - rng.uniform(0.15, 0.45) / (1 + np.exp(-edge / softness))
        notes.append("shadow")
    cast = (1 + rng.uniform(-0.08, 0.08, 3) * [1, 0.3, 1]).astype(np.float32)
    exposure = rng.uniform(0.85, 1.1)
    return np.clip(image * light[..., None] * cast * exposure, 0, 1), notes


def photograph(world: np.ndarray, rng: np.random.Generator, ink: np.ndarray | None, digit_height: float,
               frame: tuple[int, int], shadow: bool | None = None) -> tuple[Image.Image, list[str]]:
    """The world through the phone: view, light, blur, noise. Ink stays inside the frame."""
    height, width = world.shape[:2]
    pad = (width - frame[0]) // 2
    source = Image.fromarray((world * 255).round().astype(np.uint8), mode="RGB")
    for strength in (1.0, 0.6, 0.3, 0.0):  # a gentler view when the tilt would cut ink off
        data = _view(frame, pad, rng, strength)
        if ink is None or not ink.any():
            break
        seen = Image.fromarray(ink.astype(np.uint8) * 255).transform(frame, Image.Transform.PERSPECTIVE, data)
        if np.asarray(seen, dtype=np.float64).sum() >= 0.97 * ink.sum() * 255:
            break
    view = source.transform(frame, Image.Transform.PERSPECTIVE, data, Image.Resampling.BICUBIC)
    image, notes = _shade(np.asarray(view, np.float32) / 255, rng, shadow)
    if rng.random() < 0.12:
        length = int(rng.integers(2, 6))
        image = ndimage.uniform_filter1d(image, length, axis=int(rng.integers(2)))
        notes.append("motion blur")
    else:
        sigma = rng.uniform(0.0, 0.018) * digit_height + rng.uniform(0, 0.6)
        image = ndimage.gaussian_filter(image, (sigma, sigma, 0))
        if sigma > 1.2:
            notes.append("out of focus")
    luminance = rng.standard_normal(image.shape[:2], dtype=np.float32)[..., None]
    chroma = rng.standard_normal(image.shape, dtype=np.float32)
    level = rng.uniform(0.004, 0.025)
    image = image + level * (luminance + 0.4 * chroma) * np.sqrt(np.clip(image, 0.05, 1))
    return Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8), mode="RGB"), notes


def to_jpeg(image: Image.Image, rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(55, 93)))
    return buffer.getvalue()
