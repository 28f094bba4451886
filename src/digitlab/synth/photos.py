"""Synthetic "photos" of handwritten numbers, for tests and benchmarks: seeded and deterministic.

Usage:

    photo = render_photo(seed=900_001)                 # a random 1–5 digit number
    photo = render_photo(seed=7, text="2026")          # a given number
    photo.image, photo.text, photo.jpeg                # PIL RGB image, "2026", JPEG bytes
    sample = render_non_digit(seed=800_003)            # a letter, symbol, scribble, blank or noise
    drawing = render_drawing(seed=900_001)             # a number drawn on the web page's pad (RGBA PNG)
    data = render_mnist_drawing(x_test[0], size=200)   # an MNIST digit as the page's drawing (PNG bytes)

Each photo draws every digit with a handwriting font from Debian packages
(fonts-dkg-handwriting, fonts-humor-sans, fonts-breip, fonts-bwht, … see
HANDWRITING_FONT_DIRS; `make test` installs them), with its own small rotation,
size and baseline jitter and sometimes touching its neighbour, in an ink colour
(ballpoint blue, black, red, pencil) on tinted paper under uneven light (a
gradient and a soft shadow), then rotates the page ±15°, offsets it, blurs,
adds sensor noise and saves it as JPEG at quality 35–95.

Seeds — keep the test sets out of training:
    TEST_SEEDS         range(900_000, 1_000_000)  benchmarks/realworld.py and the tests
    CALIBRATION_SEEDS  range(800_000, 900_000)    choosing the reject threshold
    TRAINING_SEEDS     range(0, 100_000)          digits for training (digitlab.synth.training_data)
    100_000–799_999 were used to tune the pipeline (benchmarks/realworld.py --dev).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

TEST_SEEDS = range(900_000, 1_000_000)
CALIBRATION_SEEDS = range(800_000, 900_000)
TRAINING_SEEDS = range(0, 100_000)

# Debian font packages with handwriting-like digits (fonts-<name>).
HANDWRITING_FONT_DIRS = (
    "truetype/fifthhorseman", "truetype/humor-sans", "truetype/breip", "truetype/rufscript",
    "truetype/sjfonts", "truetype/klee", "truetype/kristi", "truetype/tomsontalks",
    "truetype/yusei-magic", "opentype/bwht", "opentype/comic-neue", "opentype/dancingscript",
    "opentype/kaushanscript",
)
FONT_ROOT = Path("/usr/share/fonts")
# Sjfonts' Delphine has digits no reader would take for MNIST-style handwriting;
# Comic Neue's light weights are hairlines.
_EXCLUDED_FONTS = ("Delphine", "Light")

INK_COLOURS = {
    "ballpoint blue": (25, 45, 150),
    "black": (20, 20, 25),
    "red": (170, 25, 30),
    "pencil": (90, 90, 95),
    "green": (20, 110, 50),
}
# Letters and symbols a digit reader should refuse: no look-alikes of digits
# (O o D Q I l i L S s Z z B b G g q T t A J y, ...).
NON_DIGIT_CHARACTERS = "CEFHKMNPRUVWXYacdefhkmnprvwx#%&@?+=*<>"


@dataclass
class SyntheticPhoto:
    image: Image.Image  # RGB, as decoded from the JPEG
    text: str  # the number drawn, "" for non-digits
    jpeg: bytes
    kind: str = "number"  # number, letter, scribble, blank, noise
    spacing: str = ""  # a number strip's spacing style (digitlab.synth.strips.SPACING), for error breakdowns


@lru_cache(maxsize=1)
def handwriting_fonts() -> tuple[Path, ...]:
    """Installed handwriting fonts, sorted (the same list on every machine with the same packages)."""
    found = []
    for directory in HANDWRITING_FONT_DIRS:
        for path in sorted((FONT_ROOT / directory).glob("*")):
            if path.suffix.lower() in (".ttf", ".otf") and not any(word in path.name for word in _EXCLUDED_FONTS):
                found.append(path)
    if not found:
        raise RuntimeError("no handwriting fonts found; install them with `make system-test-deps` (as root: "
                           "the Makefile's TEST_DEBIAN_PACKAGES, fonts-dkg-handwriting, fonts-humor-sans and more)")
    return tuple(found)


def fonts_installed() -> bool:
    """True when handwriting_fonts() finds any (tests that draw digits skip without them)."""
    try:
        handwriting_fonts()
    except RuntimeError:
        return False
    return True


def render_glyph(character: str, font: ImageFont.FreeTypeFont, angle: float, stroke: int) -> Image.Image:
    """One character as an 'L' coverage image, rotated, cropped to its ink."""
    left, top, right, bottom = font.getbbox(character, stroke_width=stroke)
    pad = 4 + stroke
    canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(canvas).text((pad - left, pad - top), character, font=font, fill=255,
                                stroke_width=stroke, stroke_fill=255)
    canvas = canvas.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    box = canvas.getbbox()
    return canvas.crop(box) if box else canvas


def _line_coverage(text: str, rng: np.random.Generator, height: int) -> np.ndarray:
    """Ink coverage (float 0..1) of a line of characters, each jittered like handwriting."""
    fonts = handwriting_fonts()
    font_path = fonts[rng.integers(len(fonts))]
    # One writer per line: the same font and pen; size and slant vary per character.
    pen = float(rng.choice([0, 0, 0, 1, 2]))
    glyphs = []
    for character in text:
        size = int(height * rng.uniform(0.85, 1.1))
        font = ImageFont.truetype(str(font_path), size)
        glyphs.append(render_glyph(character, font, rng.uniform(-8, 8), int(pen * size / 60)))
    gaps = [int(height * rng.uniform(-0.05, 0.3)) for _ in glyphs]  # negative: touching neighbours
    width = sum(glyph.width for glyph in glyphs) + sum(gaps[:-1]) + 2 * height
    tallest = max(glyph.height for glyph in glyphs)
    line = np.zeros((tallest + height, max(width, height)), dtype=np.float32)
    x = height
    for glyph, gap in zip(glyphs, gaps):
        y = int(height / 2 + (tallest - glyph.height) / 2 + rng.uniform(-0.06, 0.06) * height)
        patch = np.asarray(glyph, dtype=np.float32) / 255.0
        region = line[y:y + patch.shape[0], x:x + patch.shape[1]]
        np.maximum(region, patch[:region.shape[0], :region.shape[1]], out=region)
        x += glyph.width + gap
    return line


def scribble_coverage(rng: np.random.Generator, height: int) -> np.ndarray:
    """A random pen scribble: a few smooth strokes that are no digit."""
    size = (int(height * rng.uniform(1.0, 2.5)), height)
    canvas = Image.new("L", (size[0] + height, size[1] + height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(2, 5)):
        points = rng.uniform(0, 1, size=(rng.integers(3, 7), 2)) * size + height / 2
        draw.line([tuple(point) for point in points], fill=255, width=max(2, height // 12), joint="curve")
    return np.asarray(canvas, dtype=np.float32) / 255.0


def compose_photo(coverage: np.ndarray, rng: np.random.Generator, size: tuple[int, int] | None,
                  ink_boxes: list | None = None) -> Image.Image:
    """Ink coverage → an RGB photo: paper tint, lighting, ink colour, rotation, offset, blur, noise.

    `ink_boxes`, when given, gets the (x0, y0, x1, y1) box of the ink as placed in the photo appended.
    """
    line_height, line_width = coverage.shape
    if size is None:
        scale = rng.uniform(1.3, 2.5)
        size = (int(line_width * scale), int(max(line_height * scale, line_width * scale * rng.uniform(0.4, 0.8))))
    width, height = size
    # Place the line: rotated ±15°, anywhere its whole extent fits.
    layer = Image.fromarray((coverage * 255).astype(np.uint8), mode="L")
    layer = layer.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BICUBIC, expand=True)
    fit = min(1.0, 0.9 * width / layer.width, 0.9 * height / layer.height)
    if fit < 1.0:
        layer = layer.resize((max(1, int(layer.width * fit)), max(1, int(layer.height * fit))),
                             Image.Resampling.LANCZOS)
    page = Image.new("L", (width, height), 0)
    page.paste(layer, (int(rng.uniform(0, width - layer.width)), int(rng.uniform(0, height - layer.height))))
    ink = np.asarray(page, dtype=np.float32)[..., None] / 255.0
    if ink_boxes is not None:
        ink_boxes.append(page.getbbox() or (0, 0, 0, 0))

    brightness = rng.uniform(0.8, 1.0)
    paper = brightness * np.array([1.0, rng.uniform(0.93, 1.0), rng.uniform(0.82, 1.0)], np.float32)
    colour_name = list(INK_COLOURS)[rng.integers(len(INK_COLOURS))]
    colour = np.array(INK_COLOURS[colour_name], np.float32) / 255.0
    strength = rng.uniform(0.6, 1.0) if colour_name == "pencil" else rng.uniform(0.85, 1.0)
    image = paper * (1 - ink * strength) + colour * ink * strength

    # Uneven light: a gradient across the page and a soft shadow somewhere.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * xs / width + np.sin(angle) * ys / height)
    light = 1.0 - rng.uniform(0.0, 0.35) * (gradient - gradient.min()) / max(np.ptp(gradient), 1e-6)
    center = rng.uniform(0, 1, 2) * (width, height)
    radius = rng.uniform(0.3, 0.8) * max(width, height)
    shadow = np.exp(-(((xs - center[0]) ** 2 + (ys - center[1]) ** 2) / (2 * radius ** 2)))
    light *= 1.0 - rng.uniform(0.0, 0.3) * shadow
    image = image * light[..., None]
    image += rng.normal(0, rng.uniform(0.005, 0.04), image.shape).astype(np.float32)

    photo = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8), mode="RGB")
    return photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.5) * max(width, height) / 600))


def as_jpeg(image: Image.Image, rng: np.random.Generator) -> tuple[Image.Image, bytes]:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(35, 96)))
    data = buffer.getvalue()
    return Image.open(io.BytesIO(data)).convert("RGB"), data


def render_photo(seed: int, text: str | None = None, size: tuple[int, int] | None = None,
                 digit_height: int | None = None) -> SyntheticPhoto:
    """A photo of a handwritten number (random 1–5 digits unless `text` is given), JPEG-compressed."""
    rng = np.random.default_rng(seed)
    if text is None:
        length = int(rng.integers(1, 6))
        text = "".join(str(digit) for digit in rng.integers(0, 10, length))
    if not text or not text.isdigit():
        raise ValueError(f"text must be a string of digits, got {text!r}")
    height = digit_height or int(rng.integers(28, 120))
    image, data = as_jpeg(compose_photo(_line_coverage(text, rng, height), rng, size), rng)
    return SyntheticPhoto(image, text, data)


def render_non_digit(seed: int, size: tuple[int, int] | None = None) -> SyntheticPhoto:
    """Something a digit reader should refuse: a letter, a symbol, a scribble, blank paper or noise."""
    rng = np.random.default_rng(seed)
    kind = ["letter", "letter", "scribble", "blank", "noise"][int(rng.integers(5))]
    height = int(rng.integers(28, 120))
    if kind == "letter":
        coverage = _line_coverage(NON_DIGIT_CHARACTERS[rng.integers(len(NON_DIGIT_CHARACTERS))], rng, height)
    elif kind == "scribble":
        coverage = scribble_coverage(rng, height)
    else:
        coverage = np.zeros((height * 2, height * 2), dtype=np.float32)
    image = compose_photo(coverage, rng, size)
    if kind == "noise":
        noise = rng.uniform(0, 255, (image.height, image.width, 1)) * rng.uniform(0.2, 1.0)
        mixed = np.asarray(image, dtype=np.float32) * 0.5 + noise
        image = Image.fromarray(np.clip(mixed, 0, 255).astype(np.uint8), mode="RGB")
    image, data = as_jpeg(image, rng)
    return SyntheticPhoto(image, "", data, kind)


def _drawing_png(coverage: Image.Image, size: int, position: tuple[int, int]) -> tuple[Image.Image, bytes]:
    """Black ink with this coverage ('L') at `position` on a transparent size×size canvas: the page's export."""
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(Image.new("RGBA", coverage.size, (0, 0, 0, 255)), position, coverage)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return canvas, buffer.getvalue()


def render_drawing(seed: int, text: str | None = None, size: int = 128) -> SyntheticPhoto:
    """A drawing as the web page sends it: a size×size RGBA PNG, black ink on a transparent canvas.

    A random 1–3 digit number unless `text` is given, in a handwriting font
    with the same per-digit jitter as render_photo, scaled to fill most of the
    pad's width or height, as someone drawing it would. `jpeg` holds the PNG
    bytes (the field's name is the photos'); `image` is the RGBA image.
    """
    rng = np.random.default_rng(seed)
    if text is None:
        text = "".join(str(digit) for digit in rng.integers(0, 10, int(rng.integers(1, 4))))
    if not text or not text.isdigit():
        raise ValueError(f"text must be a string of digits, got {text!r}")
    coverage = Image.fromarray(np.round(_line_coverage(text, rng, 96) * 255).astype(np.uint8), mode="L")
    coverage = coverage.crop(coverage.getbbox())
    fill = rng.uniform(0.55, 0.8) * size / max(coverage.size)
    coverage = coverage.resize((max(1, round(coverage.width * fill)), max(1, round(coverage.height * fill))),
                               Image.Resampling.LANCZOS)
    # Anywhere on the pad, off its very edge (the page keeps strokes inside the pad).
    left = int(rng.integers(2, max(3, size - coverage.width - 1)))
    top = int(rng.integers(2, max(3, size - coverage.height - 1)))
    canvas, data = _drawing_png(coverage, size, (left, top))
    return SyntheticPhoto(canvas, text, data, kind="drawing")


def render_mnist_drawing(digit: np.ndarray, size: int) -> bytes:
    """An MNIST digit (28×28 uint8, ink bright) as the web page sends a drawing: a size×size RGBA PNG.

    Black ink, its coverage taken from the digit's pixels, on a transparent
    canvas; the digit scaled to 5/7 of the pad and centred, as one drawn to fill it.
    """
    scaled, offset = round(size * 5 / 7), round(size / 7)
    alpha = Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize((scaled, scaled), Image.Resampling.BILINEAR)
    return _drawing_png(alpha, size, (offset, offset))[1]
