"""What a number reader must refuse, photographed like the numbers: blank paper, photos, a cat, letters, scribbles.

Usage (inside benchmarks/heldout):

    items = plan_rejects(40, seed=2027)          # 40 of each kind in REJECT_KINDS
    data, notes = render_reject(items[0], seed=2027)

Kinds:

- blank: plain paper (white, cream, recycled, a sticky note); ruled blank: ruled
  or squared paper; shadowed blank: any paper under a hard shadow;
- photo: a crop of one of the real photographs that ship with scikit-learn
  (sklearn/datasets/images/china.jpg, flower.jpg) and matplotlib
  (mpl-data/sample_data/grace_hopper.jpg), resized and shot by the same camera;
- cat: a synthetic cat (no cat photo is installed and nothing is downloaded): a
  furry tabby head and body with ears, eyes and nose on a blurred room background;
- letter: one handwritten letter, word: a short word (no digit look-alikes: no
  O, I, l, S, Z, B, G, q, ...), in a handwriting font from the Debian packages
  (fonts-dkg-handwriting, fonts-humor-sans, ...), thinned and redrawn with the pen;
- scribble: pen strokes that are no digit: curves, coils, zigzags, a crossed-out patch.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from heldout.camera import choose_ink, lay_on_paper, photograph, to_jpeg
from heldout.numbers import Item, scale_to
from heldout.strokes import DIGIT_HEIGHT, choose_pen, draw_with_pen, shape_centre_line

REJECT_KINDS = ("blank", "ruled blank", "shadowed blank", "photo", "cat", "letter", "word", "scribble")
SET_REJECTS = 1
LETTERS = "CEFHKMNPRUVWXYacdefhkmnpruvwx"
WORDS = ("cave", "dark", "Fern", "mew", "Max", "ace", "run", "HEX", "fad", "wander", "hen", "pure", "Mark",
         "New", "ever", "crew", "Ruck", "dance", "Fuchs", "make", "VAN", "Key", "near", "punch")
FONT_DIRS = ("truetype/fifthhorseman", "truetype/humor-sans", "truetype/breip", "truetype/rufscript",
             "truetype/kristi", "truetype/tomsontalks", "truetype/klee", "opentype/bwht", "opentype/comic-neue",
             "opentype/dancingscript", "opentype/kaushanscript")
FONT_ROOT = Path("/usr/share/fonts")


def plan_rejects(per_kind: int, seed: int) -> list[Item]:
    items = []
    for kind_index, kind in enumerate(REJECT_KINDS):
        for number in range(per_kind):
            index = kind_index * per_kind + number
            items.append(Item(f"reject-{kind.replace(' ', '-')}-{number:03d}.jpg", kind, "", index))
    return items


@lru_cache(maxsize=1)
def handwriting_fonts() -> tuple[Path, ...]:
    found = tuple(sorted(path for folder in FONT_DIRS for path in (FONT_ROOT / folder).glob("*")
                         if path.suffix.lower() in (".ttf", ".otf") and "Light" not in path.name))
    if not found:
        raise SystemExit("No handwriting fonts in /usr/share/fonts: install the Debian packages fonts-dkg-handwriting, "
                         "fonts-humor-sans and the others in the Makefile's TEST_DEBIAN_PACKAGES.")
    return found


def _text_centre_line(text: str, rng: np.random.Generator) -> np.ndarray:
    fonts = handwriting_fonts()
    font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), 110)
    left, top, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right - left + 40, bottom - top + 40), 0)
    ImageDraw.Draw(canvas).text((20 - left, 20 - top), text, font=font, fill=255)
    return shape_centre_line(np.asarray(canvas) > 127)


def _scribble_centre_line(rng: np.random.Generator) -> np.ndarray:
    width = int(DIGIT_HEIGHT * rng.uniform(1.2, 4.0))
    canvas = Image.new("1", (width + 40, DIGIT_HEIGHT + 40), 0)
    draw = ImageDraw.Draw(canvas)
    style = str(rng.choice(["curve", "coil", "zigzag", "crossed out"]))
    t = np.linspace(0, 1, 400)
    if style == "coil":
        turns = rng.uniform(3, 7)
        xs = t * width * 0.8 + 0.25 * DIGIT_HEIGHT * np.cos(2 * np.pi * turns * t)
        ys = DIGIT_HEIGHT / 2 + 0.35 * DIGIT_HEIGHT * np.sin(2 * np.pi * turns * t)
        strokes = [np.stack([xs, ys], 1)]
    elif style == "zigzag":
        points = rng.integers(5, 12)
        xs = np.linspace(0, width, points) + rng.uniform(-5, 5, points)
        ys = np.where(np.arange(points) % 2, 0.1, 0.9) * DIGIT_HEIGHT + rng.uniform(-8, 8, points)
        strokes = [np.stack([xs, ys], 1)]
    elif style == "crossed out":
        lines = rng.integers(6, 14)
        xs = np.where(np.arange(lines * 2) % 2, width, 0) + rng.uniform(-6, 6, lines * 2)
        ys = np.repeat(np.linspace(0.05, 0.95, lines), 2) * DIGIT_HEIGHT + rng.uniform(-10, 10, lines * 2)
        strokes = [np.stack([xs, ys], 1)]
    else:
        strokes = []
        for _ in range(int(rng.integers(1, 4))):
            anchors = rng.uniform(0, 1, (int(rng.integers(4, 8)), 2)) * (width, DIGIT_HEIGHT)
            spline = np.stack([np.interp(np.linspace(0, len(anchors) - 1, 200), np.arange(len(anchors)), anchors[:, k])
                               for k in (0, 1)], 1)
            strokes.append(ndimage.gaussian_filter1d(spline, 6, axis=0))
    for stroke in strokes:
        draw.line([tuple(point + 20) for point in stroke], fill=1, width=1)
    return np.asarray(canvas, dtype=bool)


# Real photographs that ship inside Python packages (scikit-learn's sample images, matplotlib's sample data).
PHOTOS = (("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg"),
          ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"))


def photo_paths() -> list[Path]:
    """The photos' files, found without importing their packages (both come with the [train] extra)."""
    paths = []
    for package, inside in PHOTOS:
        spec = importlib.util.find_spec(package)
        path = Path(next(iter(spec.submodule_search_locations))) / inside if spec else None
        if path is None or not path.is_file():
            raise SystemExit(f"{package}'s sample photo {inside} is missing: pip install the train extra "
                             "(scikit-learn, matplotlib).")
        paths.append(path)
    return paths


def _photo_world(rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    paths = photo_paths()
    pixels = np.asarray(Image.open(paths[int(rng.integers(len(paths)))]).convert("RGB"))
    height, width = pixels.shape[:2]
    share = rng.uniform(0.35, 1.0)
    crop_h, crop_w = int(height * share), int(width * share)
    y, x = int(rng.integers(0, height - crop_h + 1)), int(rng.integers(0, width - crop_w + 1))
    frame_width = int(rng.uniform(260, 900))
    frame = (frame_width, max(120, int(frame_width * crop_h / crop_w)))
    image = Image.fromarray(pixels[y:y + crop_h, x:x + crop_w]).resize(frame, Image.Resampling.LANCZOS)
    return _padded(np.asarray(image, np.float32) / 255, frame), frame


def _padded(image: np.ndarray, frame: tuple[int, int]) -> np.ndarray:
    pad = int(0.2 * max(frame))
    return np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")


def _cat_world(rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int]]:
    """A tabby cat, photo-like: fur texture with stripes, ears, eyes and nose, on a blurred room."""
    frame = (int(rng.uniform(300, 800)), 0)
    frame = (frame[0], int(frame[0] * rng.uniform(0.6, 1.3)))
    width, height = frame
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    room = np.array([rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.6)], np.float32)
    background = room * (0.8 + 0.4 * ndimage.gaussian_filter(rng.random((height, width)), 25)[..., None])
    fur_colour = np.array([(0.82, 0.5, 0.22), (0.5, 0.5, 0.52), (0.45, 0.34, 0.24), (0.15, 0.14, 0.14)]
                          [int(rng.integers(4))], np.float32)
    streaks = ndimage.gaussian_filter(rng.standard_normal((height, width)), (4, 0.8))
    streaks = ndimage.rotate(streaks, rng.uniform(0, 180), reshape=False, mode="reflect")
    warp = ndimage.gaussian_filter(rng.standard_normal((height, width)), 20) * 40
    stripes = np.sin(2 * np.pi * (xs * 0.8 + ys * 0.6 + warp) / rng.uniform(18, 35)) > 0.3
    streaks = streaks / (np.abs(streaks).max() + 1e-6)
    fur = fur_colour * (1 + 0.5 * streaks[..., None]) * np.where(stripes, 0.6, 1)[..., None]
    size = min(width, height)
    cx, cy, radius = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.3, 0.5), size * rng.uniform(0.22, 0.32)
    head = (xs - cx) ** 2 + ((ys - cy) * 1.1) ** 2 < radius ** 2
    body = ((xs - cx) / (1.5 * radius)) ** 2 + ((ys - cy - 1.9 * radius) / (1.3 * radius)) ** 2 < 1
    shape = Image.fromarray((head | body).astype(np.uint8) * 255)
    draw = ImageDraw.Draw(shape)
    for side in (-1, 1):
        draw.polygon([(cx + side * 0.9 * radius, cy - 0.2 * radius), (cx + side * 0.75 * radius, cy - 1.35 * radius),
                      (cx + side * 0.2 * radius, cy - 0.85 * radius)], fill=255)
    mask = ndimage.gaussian_filter(np.asarray(shape, np.float32) / 255, 1.5)[..., None]
    image = background * (1 - mask) + np.clip(fur, 0, 1) * mask
    face = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(face)
    eye = ((140, 180, 50), (205, 180, 50), (100, 150, 180))[int(rng.integers(3))]
    for side in (-1, 1):
        ex, ey, ew, eh = cx + side * 0.38 * radius, cy - 0.1 * radius, 0.17 * radius, 0.12 * radius
        draw.ellipse([ex - ew, ey - eh, ex + ew, ey + eh], fill=eye)
        draw.ellipse([ex - 0.04 * radius, ey - eh, ex + 0.04 * radius, ey + eh], fill=(15, 15, 10))
    draw.polygon([(cx - 0.08 * radius, cy + 0.2 * radius), (cx + 0.08 * radius, cy + 0.2 * radius),
                  (cx, cy + 0.3 * radius)], fill=(200, 120, 120))
    image = ndimage.gaussian_filter(np.asarray(face, np.float32) / 255, (0.7, 0.7, 0))
    return _padded(image, frame), frame


def render_reject(item: Item, seed: int) -> tuple[bytes, dict]:
    """The photo of one planned reject image: (JPEG bytes, notes)."""
    rng = np.random.default_rng([seed, SET_REJECTS, item.index])
    notes: dict = {}
    if item.kind in ("photo", "cat"):
        world, frame = _photo_world(rng) if item.kind == "photo" else _cat_world(rng)
        photo, camera = photograph(world, rng, None, max(frame) / 8, frame)
        return to_jpeg(photo, rng), {"camera": camera, "size": list(photo.size)}
    digit_height = float(np.exp(rng.uniform(np.log(28), np.log(150))))
    paper = {"blank": str(rng.choice(["white", "cream", "recycled", "sticky note"])),
             "ruled blank": str(rng.choice(["ruled", "squared"]))}.get(item.kind)
    ink = None
    if item.kind in ("letter", "word", "scribble"):
        pen = choose_pen(rng)
        ink = choose_ink(pen.name, rng)
        if item.kind == "scribble":
            centre_line = _scribble_centre_line(rng)
        else:
            text = LETTERS[int(rng.integers(len(LETTERS)))] if item.kind == "letter" else \
                WORDS[int(rng.integers(len(WORDS)))]
            centre_line = _text_centre_line(text, rng)
            notes["text"] = text
        line = scale_to(draw_with_pen(centre_line, pen, rng), digit_height)
        notes["pen"] = pen.name
    else:
        line = np.zeros((int(digit_height), int(digit_height * rng.uniform(1, 4))), np.float32)
    world, inked, paper_notes = lay_on_paper(line, digit_height, rng, ink, paper)
    photo, camera = photograph(world, rng, inked, digit_height, paper_notes.pop("frame"),
                               shadow=True if item.kind == "shadowed blank" else None)
    return to_jpeg(photo, rng), {**notes, **paper_notes, "camera": camera, "size": list(photo.size)}
