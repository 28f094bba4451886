"""Each vision stage on hand-made images: decode, polarity, lighting, threshold, MNIST 28×28."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageDraw, ImageFile
from scipy import ndimage

from digitlab.vision import decode, preprocess
from digitlab.vision.errors import ImageError
from digitlab.vision.pipeline import analyze


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def drawn_digit(size=(120, 90), dark_ink=True, mode="L") -> Image.Image:
    """A thick '7'-like stroke pair on paper."""
    paper, ink = (255, 0) if dark_ink else (0, 255)
    image = Image.new("L", size, paper)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.line([(w * 0.3, h * 0.25), (w * 0.7, h * 0.25), (w * 0.45, h * 0.8)], fill=ink, width=max(2, h // 12))
    return image.convert(mode)


# --- decode ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"])
def test_decode_every_format(fmt):
    decoded = decode.decode_image(encode(drawn_digit(mode="RGB"), fmt))
    assert decoded.gray.dtype == np.float32 and decoded.gray.ndim == 2
    assert decoded.gray.min() < 0.3 and decoded.gray.max() > 0.9


def test_transparent_background_is_paper():
    """A canvas drawing: black strokes on a transparent background reads as ink on white paper."""
    stroke = drawn_digit()
    rgba = Image.new("RGBA", stroke.size, (0, 0, 0, 0))
    rgba.putalpha(Image.eval(stroke, lambda value: 255 - value))  # opaque black where the stroke is
    gray = decode.decode_image(encode(rgba, "PNG")).gray
    assert np.median(gray) > 0.99 and gray.min() < 0.05
    assert preprocess.has_dark_ink(gray)


def test_exif_orientation_is_honoured():
    tall = Image.new("RGB", (60, 120), "white")
    ImageDraw.Draw(tall).rectangle((0, 0, 59, 20), fill="black")  # a bar at the top
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    decoded = decode.decode_image(encode(tall, "JPEG", exif=exif))
    assert decoded.original_size == (120, 60)
    assert decoded.gray.shape[1] > decoded.gray.shape[0]  # now wide
    # The bar that was at the top is now on the right.
    assert decoded.gray[:, -5:].mean() < 0.3 and decoded.gray[:, :5].mean() > 0.8


def test_sixteen_bit_and_palette_images():
    deep = Image.fromarray((np.asarray(drawn_digit(), dtype=np.uint16) * 257).astype(np.uint16))
    assert decode.decode_image(encode(deep, "PNG")).gray.min() < 0.05
    palette = drawn_digit(mode="RGB").convert("P")
    assert decode.decode_image(encode(palette, "PNG")).gray.max() > 0.9


def test_tiny_image_is_enlarged_and_huge_image_reduced():
    tiny = decode.decode_image(np.asarray(drawn_digit(size=(8, 8))))
    assert max(tiny.gray.shape) >= decode.WORK_MIN_SIDE and tiny.original_size == (8, 8)
    huge = decode.decode_image(encode(drawn_digit(size=(3000, 2000), mode="RGB"), "JPEG"))
    assert max(huge.gray.shape) <= decode.WORK_MAX_SIDE
    assert huge.original_size == (3000, 2000)
    assert huge.scale == pytest.approx(3000 / huge.gray.shape[1], rel=1e-6)


@pytest.mark.parametrize("data, kind", [
    (b"", "empty"),
    (b"hello, I am a text file", "not_image"),
    (None, "corrupt"),  # a truncated PNG, made below
])
def test_bad_bytes(data, kind):
    if data is None:
        data = encode(drawn_digit(size=(400, 300)), "PNG")[:300]
    with pytest.raises(ImageError) as caught:
        decode.decode_image(data)
    assert caught.value.kind == kind
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)


def test_bad_paths(tmp_path):
    with pytest.raises(ImageError) as caught:
        decode.decode_image(tmp_path / "missing.png")
    assert caught.value.kind == "missing"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageError) as caught:
        decode.decode_image(tmp_path / "empty.jpg")
    assert caught.value.kind == "empty"


def test_pixel_limit_is_checked_before_decoding(monkeypatch):
    """A decompression bomb: the header's size is refused without decoding the pixels."""
    big = encode(Image.new("L", (5000, 5000), 255), "PNG")

    decoded = []
    with monkeypatch.context() as patched, pytest.raises(ImageError) as caught:
        patched.setattr(ImageFile.ImageFile, "load", lambda image: decoded.append(image))
        decode.decode_image(big, max_pixels=10_000_000)
    assert caught.value.kind == "too_large" and "25,000,000" in str(caught.value)
    assert decoded == []
    # Pillow's own bomb limit (about 179 MP) is also reported as too_large.
    bomb = encode(Image.new("1", (15000, 15000), 1), "PNG")
    with pytest.raises(ImageError) as caught:
        decode.decode_image(bomb, max_pixels=10**9)
    assert caught.value.kind == "too_large"


# --- polarity, lighting, threshold ---------------------------------------------------------------

@pytest.mark.parametrize("dark_ink", [True, False])
def test_polarity(dark_ink):
    gray = np.asarray(drawn_digit(dark_ink=dark_ink), dtype=np.float32) / 255
    assert preprocess.has_dark_ink(gray) is dark_ink
    ink, _ = preprocess.flatten_illumination(gray, dark_ink)
    # Either way, the output is MNIST polarity: ink bright, paper dark.
    stroke = gray < 0.5 if dark_ink else gray > 0.5
    assert ink[stroke].mean() > 0.8 and ink[~stroke].mean() < 0.05


def test_flattening_removes_a_strong_gradient_and_shadow():
    gray = np.asarray(drawn_digit(size=(400, 300)), dtype=np.float32) / 255
    ys, xs = np.mgrid[0:300, 0:400]
    light = 1.0 - 0.5 * xs / 400 - 0.3 * np.exp(-((xs - 80) ** 2 + (ys - 250) ** 2) / (2 * 60 ** 2))
    lit = gray * light
    ink, _ = preprocess.flatten_illumination(lit, preprocess.has_dark_ink(lit))
    mask, _ = preprocess.binarize(ink)
    stroke = gray < 0.5
    assert (mask & stroke).sum() > 0.9 * stroke.sum()
    assert (mask & ~stroke).sum() < 0.01 * (~stroke).sum()


def test_blank_and_noisy_paper_give_no_ink():
    rng = np.random.default_rng(0)
    for gray in (np.full((200, 300), 0.9, np.float32), np.clip(0.8 + rng.normal(0, 0.04, (200, 300)), 0, 1)):
        ink, _ = preprocess.flatten_illumination(gray.astype(np.float32), preprocess.has_dark_ink(gray))
        mask, threshold = preprocess.binarize(ink)
        assert threshold >= preprocess.MIN_INK_CONTRAST
        assert mask.mean() < 0.001


def test_otsu_splits_two_levels():
    values = np.concatenate([np.full(1000, 0.1), np.full(200, 0.8)])
    assert 0.1 < preprocess.otsu_threshold(values) < 0.8


# --- one digit → 28×28 ---------------------------------------------------------------------------

def test_to_mnist_geometry():
    """An off-center, tall digit: longer side 20 px, center of mass at (14, 14)."""
    crop = np.zeros((200, 60), dtype=np.float32)
    crop[10:190, 20:40] = 1.0
    pixels = preprocess.to_mnist(crop)
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    rows = np.flatnonzero(pixels.max(axis=1) > 0.05)
    assert rows.max() - rows.min() + 1 == 20
    center_y, center_x = ndimage.center_of_mass(pixels)
    assert abs(center_y - 14) <= 1 and abs(center_x - 14) <= 1


def test_thin_strokes_are_thickened():
    crop = np.zeros((300, 300), dtype=np.float32)
    crop[20:280, 148:151] = 1.0  # a 3 px line in a 260 px tall digit
    crop[20:23, 60:240] = 1.0
    pixels = preprocess.to_mnist(crop)
    assert (pixels > 0.5).sum() >= 30  # a visible stroke, not a faint hairline


def test_analyze_off_center_rotated_and_inverted():
    image = Image.new("L", (400, 300), 0)
    ImageDraw.Draw(image).line([(300, 200), (380, 200), (330, 290)], fill=255, width=10)
    analysis = analyze(np.asarray(image.rotate(12, fillcolor=0)))
    assert not analysis.dark_ink and len(analysis.digits) == 1
    x0, y0, x1, y1 = analysis.digits[0].box
    assert x0 > 250 and y0 > 150


# --- properties ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 60), st.integers(1, 60))))
def test_any_gray_array_gives_valid_model_inputs(array):
    analysis = analyze(array)
    for digit in analysis.digits:
        assert digit.model_input.shape == (28, 28) and digit.model_input.dtype == np.float32
        assert 0.0 <= digit.model_input.min() and digit.model_input.max() <= 1.0
        x0, y0, x1, y1 = digit.box
        assert 0 <= x0 < x1 <= array.shape[1] and 0 <= y0 < y1 <= array.shape[0]


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(0, 40)),
              elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_to_mnist_gives_28x28_or_a_clear_value_error(crop):
    try:
        pixels = preprocess.to_mnist(crop)
    except ValueError as error:
        assert str(error)
        return
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.one_of(
    arrays(np.float32, st.sampled_from([(28, 28), (784,), (1, 28, 28), (28, 27), (3,)]),
           elements=st.floats(-1, 300, width=32)),
    st.lists(st.lists(st.integers(0, 255), min_size=28, max_size=28), min_size=28, max_size=28),
))
def test_normalize_pixels(pixels):
    try:
        image = preprocess.normalize_pixels(pixels)
    except ValueError as error:
        assert str(error)
        return
    assert image.shape == (28, 28) and image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
