"""Drawings for tests/test_pad_parity.py, in the web app's stroke format, from a fixed seed.

Usage:

    python tests/pad_drawings.py            # rewrites tests/data/pad_strokes.json
    drawings = make_drawings(seed=2024)     # [{"name", "category", "strokes": [{"width", "points"}]}]

Each stroke is what app.js records: {"width": pen width / 200, "points": [[x, y], ...]} with x and y
in 0..1 of the pad, points every few pixels as pointer events come. Pen widths are those of the
page's slider (index.html #pen-width: 6 to 40 px, 18 by default). Categories:

- single: the digits 0–9 in two styles each, at several sizes, places, slants and pen widths;
- pieces: a single digit in several strokes (a 0 or a 4 with a small gap, a 5 whose top bar is a
  separate stroke, a 7 with a crossbar) and digits with dots and specks beside them;
- multi: numbers of 2 and 3 digits; touching: two digits drawn into each other;
- blank: nothing drawn; mark: dots, a dash, rows of dots; edge: a digit running off the pad.

The test reads the saved file, so it never depends on this generator's randomness.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

PAD = 200  # the exported drawing's side, app.js EXPORT_SIZE
PEN_MIN, PEN_MAX, PEN_DEFAULT = 6, 40, 18
OUTPUT = Path(__file__).with_name("data") / "pad_strokes.json"


def _arc(cx, cy, rx, ry, start, stop, steps=24):
    """Points on an ellipse from angle start to stop (degrees, 0 = right, 90 = down)."""
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in np.linspace(start, stop, steps)]


# Digits as strokes in a unit box: x in 0..0.6 (a digit is narrower than tall), y in 0..1 downwards.
TEMPLATES = {
    "0a": [_arc(0.3, 0.5, 0.28, 0.48, -90, 270, 40)],
    "0b": [_arc(0.3, 0.5, 0.26, 0.48, -60, 290, 40)],
    "1a": [[(0.3, 0.0), (0.3, 1.0)]],
    "1b": [[(0.12, 0.2), (0.32, 0.0), (0.32, 1.0)], [(0.12, 1.0), (0.52, 1.0)]],
    "2a": [_arc(0.3, 0.28, 0.27, 0.27, 190, 360, 16) + [(0.55, 0.42), (0.02, 1.0), (0.6, 1.0)]],
    "2b": [_arc(0.3, 0.3, 0.26, 0.29, 200, 380, 16) + _arc(0.62, 1.1, 0.6, 0.55, 260, 180, 10)[1:]
           + [(0.6, 0.98)]],
    "3a": [_arc(0.3, 0.25, 0.26, 0.25, 200, 450, 18) + _arc(0.3, 0.74, 0.29, 0.26, -90, 160, 18)],
    "3b": [[(0.04, 0.02), (0.56, 0.02), (0.25, 0.42)] + _arc(0.3, 0.7, 0.3, 0.29, -100, 160, 18)],
    "4a": [[(0.42, 0.0), (0.0, 0.68), (0.6, 0.68)], [(0.46, 0.3), (0.46, 1.0)]],
    "4b": [[(0.05, 0.0), (0.05, 0.55), (0.6, 0.55)], [(0.5, 0.0), (0.5, 1.0)]],
    "5a": [[(0.55, 0.0), (0.1, 0.0), (0.06, 0.45)] + _arc(0.3, 0.7, 0.28, 0.3, -120, 150, 18)],
    "5b": [[(0.12, 0.02), (0.08, 0.46)] + _arc(0.3, 0.7, 0.28, 0.3, -125, 150, 18), [(0.12, 0.02), (0.58, 0.0)]],
    "6a": [[(0.5, 0.0)] + _arc(0.32, 0.7, 0.27, 0.29, 180, 540, 30)],
    "6b": [_arc(0.6, 0.55, 0.55, 0.55, 255, 180, 8) + _arc(0.3, 0.74, 0.26, 0.25, 180, 540, 26)],
    "7a": [[(0.0, 0.02), (0.6, 0.02), (0.2, 1.0)]],
    "7b": [[(0.02, 0.08), (0.06, 0.0), (0.6, 0.02), (0.28, 1.0)], [(0.18, 0.5), (0.56, 0.5)]],
    "8a": [_arc(0.3, 0.24, 0.22, 0.24, 90, 450, 24) + _arc(0.3, 0.73, 0.28, 0.27, -90, 270, 28)],
    "8b": [_arc(0.3, 0.25, 0.24, 0.25, 0, 360, 24), _arc(0.3, 0.74, 0.29, 0.26, -90, 270, 28)],
    "9a": [_arc(0.3, 0.27, 0.27, 0.27, 0, 360, 26) + [(0.57, 0.27), (0.55, 1.0)]],
    "9b": [_arc(0.3, 0.26, 0.27, 0.26, 20, 380, 26) + _arc(-0.3, 0.25, 0.86, 0.75, 0, 80, 10)],
}
# A single digit in several strokes (segment.merge_pieces puts them together).
PIECES = {
    "0 with a gap": [_arc(0.3, 0.5, 0.28, 0.48, -80, 80, 18), _arc(0.3, 0.5, 0.28, 0.48, 96, 262, 18)],
    "4 with a gap": [[(0.42, 0.0), (0.0, 0.66), (0.4, 0.66)], [(0.48, 0.32), (0.48, 1.0)]],
    "5 with a loose bar": [[(0.12, 0.1), (0.08, 0.46)] + _arc(0.3, 0.7, 0.28, 0.3, -125, 150, 18),
                           [(0.16, 0.0), (0.6, 0.0)]],
    "7 with a crossbar": [[(0.0, 0.0), (0.6, 0.0), (0.22, 1.0)], [(0.12, 0.52), (0.56, 0.48)]],
}


def _place(strokes, rng, height, cx, cy, slant, pen, wobble=1.2, step=3.0):
    """Template strokes → pad strokes: scaled to `height` px, sheared, centred, with a hand's wobble."""
    placed = []
    phase = rng.uniform(0, 2 * math.pi, 2)
    for stroke in strokes:
        points = []
        for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:]):
            length = math.hypot(x1 - x0, y1 - y0) * height
            for t in np.linspace(0, 1, max(2, int(length / step) + 1))[:-1]:
                points.append((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
        points.append(stroke[-1])
        out = []
        for x, y in points:
            px = cx + (x - 0.3) * height + slant * (0.5 - y) * height
            py = cy + (y - 0.5) * height
            px += wobble * math.sin(py / 9 + phase[0])
            py += wobble * math.sin(px / 11 + phase[1])
            out.append([round(px / PAD, 3), round(py / PAD, 3)])
        placed.append({"width": pen / PAD, "points": out})
    return placed


def _fits(strokes, margin=3.0):
    """True when every stroke stays `margin` px inside the pad (its round ends included)."""
    for stroke in strokes:
        reach = stroke["width"] * PAD / 2 + margin
        for x, y in stroke["points"]:
            if not (reach <= x * PAD <= PAD - reach and reach <= y * PAD <= PAD - reach):
                return False
    return True


def _random_digit(rng, template, pen=None, height=None, slant=None):
    """One digit placed anywhere it fits, retried until it does."""
    for _ in range(200):
        size = height or rng.uniform(55, 165)
        width = pen or int(np.clip(rng.normal(PEN_DEFAULT, 7), PEN_MIN, min(PEN_MAX, size / 3.2)))
        lean = rng.uniform(-0.25, 0.45) if slant is None else slant
        cx, cy = rng.uniform(size * 0.35, PAD - size * 0.35), rng.uniform(size * 0.5, PAD - size * 0.5)
        strokes = _place(template, rng, size, cx, cy, lean, width)
        if _fits(strokes):
            return strokes
    raise RuntimeError("no place found")


def _dot(x, y, pen):
    return {"width": pen / PAD, "points": [[round(x / PAD, 3), round(y / PAD, 3)]]}


def make_drawings(seed: int = 2024) -> list[dict]:
    rng = np.random.default_rng(seed)
    drawings = []

    def add(name, category, strokes):
        drawings.append({"name": name, "category": category, "strokes": strokes})

    # Each digit in both styles: default pen upright and centred, then four at random.
    for key, template in TEMPLATES.items():
        add(f"{key} centred", "single", _place(template, rng, 130, 100, 100, 0.1, PEN_DEFAULT))
        for index in range(3):
            add(f"{key} #{index}", "single", _random_digit(rng, template))
    for key in ("1a", "4a", "7a", "0a"):  # strongly slanted: slant.limit_slant shears them back
        add(f"{key} italic", "single", _random_digit(rng, TEMPLATES[key], slant=0.6, height=120))
    for key in ("2a", "8b", "3a", "9a"):  # thin pen on a big digit: preprocess._thicken
        add(f"{key} thin", "single", _random_digit(rng, TEMPLATES[key], pen=PEN_MIN, height=160))
    for key in ("5a", "6b", "0b"):  # thick pen on a small digit
        add(f"{key} thick", "single", _random_digit(rng, TEMPLATES[key], pen=22, height=62))
    for name, template in PIECES.items():
        for index in range(2):
            add(f"{name} #{index}", "pieces", _random_digit(rng, template))
    for index, key in enumerate(("3a", "6a", "8a", "2b", "9b", "4b")):
        strokes = _random_digit(rng, TEMPLATES[key])
        points = np.array([point for stroke in strokes for point in stroke["points"]]) * PAD
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        for _ in range(1 + index % 3):  # dots and specks around the digit, none touching the pad's edge
            x = float(np.clip(rng.uniform(x0 - 25, x1 + 25), 8, PAD - 8))
            y = float(np.clip(rng.uniform(y0 - 25, y1 + 25), 8, PAD - 8))
            strokes.append(_dot(x, y, int(rng.integers(PEN_MIN, 11))))
        add(f"{key} with specks", "pieces", strokes)
    # Numbers of 2 and 3 digits, apart as people write them.
    keys = list(TEMPLATES)
    for index in range(14):
        count = 2 + index % 2
        chosen = [keys[int(k)] for k in rng.integers(0, len(keys), count)]
        strokes = []
        while not strokes or not _fits(strokes):
            height = rng.uniform(40, 75 if count == 2 else 52)
            pen = int(rng.integers(PEN_MIN, 14))
            gap = height * rng.uniform(0.72, 0.85) + pen  # a digit is at most 0.6 of its height wide
            start = rng.uniform(10 + height * 0.3, PAD - 10 - height * 0.3 - gap * (count - 1))
            cy = rng.uniform(height * 0.6, PAD - height * 0.6)
            strokes = [stroke for n, key in enumerate(chosen)
                       for stroke in _place(TEMPLATES[key], rng, height, start + n * gap, cy, 0.1, pen, wobble=0.5)]
        add(" ".join(key[0] for key in chosen), "multi", strokes)
    # Two 6s written into each other: one piece, not wide enough to be cut, so the server reads one digit.
    add("6 6 touching", "touching", [stroke for n in range(2)
                                     for stroke in _place(TEMPLATES["6a"], rng, 80, 70 + n * 42, 100, 0.1, 14)])
    add("nothing drawn", "blank", [])
    add("a tiny dot", "mark", [_dot(97, 121, PEN_MIN)])
    add("a small dot", "mark", [_dot(40, 60, 10)])
    add("a dash", "mark", [{"width": 12 / PAD, "points": [[0.3, 0.5], [0.45, 0.5], [0.6, 0.51]]}])
    # Too many pieces for a number (segment.MAX_DIGITS, and 4 × that before merging): no digit.
    add("a row of 20 dots", "mark", [_dot(12 + 9 * n, 100, PEN_MIN) for n in range(20)])
    add("a grid of 72 dots", "mark", [_dot(16 + 21 * col, 20 + 20 * row, PEN_MIN) for row in range(8) for col in range(9)])
    off = _place(TEMPLATES["7a"], rng, 150, 100, 70, 0.0, 24)  # its bar above the pad: clamped as padPoint does
    add("a 7 off the pad's edge", "edge", [{**stroke, "points": [[min(max(v, 0.0), 1.0) for v in point]
                                                                 for point in stroke["points"]]} for stroke in off])
    add("a 1 across the pad", "edge", [{"width": 18 / PAD, "points": [[0.5, 0.0], [0.5, 1.0]]}])
    return drawings


def main() -> None:
    drawings = make_drawings()
    OUTPUT.parent.mkdir(exist_ok=True)
    lines = ",\n".join(json.dumps(drawing, separators=(",", ":")) for drawing in drawings)
    OUTPUT.write_text(f'{{"seed":2024,"pad":{PAD},"drawings":[\n{lines}\n]}}\n')  # one drawing a line
    counts = {}
    for drawing in drawings:
        counts[drawing["category"]] = counts.get(drawing["category"], 0) + 1
    print(f"{len(drawings)} drawings → {OUTPUT}: {counts}")


if __name__ == "__main__":
    main()
