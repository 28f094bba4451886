"""The canvas path: drawings on an even canvas are recognized and read like photos, at a smaller size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlab.synth import photos as synthetic
from digitlab.vision.canvas import DRAWING_MAX_SIDE, even_canvas_tone
from digitlab.vision.decode import decode_full_size
from digitlab.vision.pipeline import analyze

needs_fonts = pytest.mark.skipif(not synthetic.fonts_installed(),
                                 reason="handwriting fonts missing: make system-test-deps "
                                 "(apt-get install fonts-dkg-handwriting fonts-humor-sans ...)")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _drawn(size: int = 280, ink: int = 0, paper: int = 255, mode: str = "L", touch_edge: bool = False) -> Image.Image:
    """A 7 drawn with a thick pen, as on the page's pad."""
    image = Image.new(mode, (size, size), paper)
    right = size if touch_edge else size * 0.7
    ImageDraw.Draw(image).line([(size * 0.3, size * 0.25), (right, size * 0.25), (size * 0.45, size * 0.8)],
                               fill=ink, width=max(2, size // 14))
    return image


def test_an_even_canvas_is_recognized_with_its_tone():
    assert even_canvas_tone(decode_full_size(_png(_drawn())).gray) == pytest.approx(1.0)
    assert even_canvas_tone(decode_full_size(_png(_drawn(ink=255, paper=0))).gray) == pytest.approx(0.0)
    # The page's export: dark ink on a transparent canvas, which is paper (white).
    rgba = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(30, 30), (90, 100)], fill=(0, 0, 0, 255), width=9)
    assert even_canvas_tone(decode_full_size(_png(rgba)).gray) == pytest.approx(1.0)


def test_photos_stroke_on_the_frame_and_shaded_paper_are_not_a_canvas():
    assert even_canvas_tone(decode_full_size(_png(_drawn(touch_edge=True))).gray) is None
    # Even frame, but a shadow across the inside: most of the image is not the frame's tone.
    shaded = np.full((200, 200), 250, dtype=np.uint8)
    shaded[10:-10, 10:-10] = np.linspace(250, 150, 180, dtype=np.uint8)[None, :]
    assert even_canvas_tone(decode_full_size(shaded).gray) is None


@needs_fonts
def test_a_photo_takes_the_photo_path():
    photo = synthetic.render_photo(900_010, text="2026")
    assert even_canvas_tone(decode_full_size(photo.jpeg).gray) is None


def test_a_drawing_is_read_at_the_drawing_size_with_boxes_in_its_own_pixels():
    data = _png(_drawn(size=400))
    fast, photo_way = analyze(data), analyze(data, drawing_max_side=None)
    assert max(fast.decoded.gray.shape) == DRAWING_MAX_SIDE
    assert max(photo_way.decoded.gray.shape) == 400
    assert len(fast.digits) == len(photo_way.digits) == 1
    # Boxes are in the original image's pixels both ways, within the coarser working pixel.
    scale = fast.decoded.scale
    assert np.allclose(fast.digits[0].box, photo_way.digits[0].box, atol=2 * scale)


@pytest.mark.parametrize("ink, paper", [(0, 255), (255, 0), (40, 200)])
def test_both_ways_give_nearly_the_same_model_input(ink, paper):
    data = _png(_drawn(size=256, ink=ink, paper=paper))
    fast, photo_way = analyze(data), analyze(data, drawing_max_side=None)
    assert fast.dark_ink is (ink < paper)
    difference = np.abs(fast.digits[0].model_input - photo_way.digits[0].model_input)
    assert difference.mean() < 0.05


@needs_fonts
@pytest.mark.parametrize("seed", [900_003, 900_004, 900_005])
def test_a_drawn_number_gives_the_same_digits_both_ways(seed):
    drawing = synthetic.render_drawing(seed, size=128)
    fast, photo_way = analyze(drawing.jpeg), analyze(drawing.jpeg, drawing_max_side=None)
    assert len(fast.digits) == len(photo_way.digits) == len(drawing.text)
    for mine, theirs in zip(fast.digits, photo_way.digits):
        assert np.abs(mine.model_input - theirs.model_input).mean() < 0.05


@needs_fonts
def test_render_drawing_is_deterministic_and_looks_like_the_page_export():
    first, second = synthetic.render_drawing(900_001), synthetic.render_drawing(900_001)
    assert first.jpeg == second.jpeg and first.text == second.text and first.text.isdigit()
    image = Image.open(io.BytesIO(first.jpeg))
    assert image.mode == "RGBA" and image.size == (128, 128)
    alpha = np.asarray(image)[:, :, 3]
    assert alpha.max() == 255 and alpha[0].max() == alpha[-1].max() == 0  # ink, off the edge
    with pytest.raises(ValueError):
        synthetic.render_drawing(1, text="12a")


def test_a_sheet_on_an_even_table_is_not_a_canvas():
    table = np.full((300, 400), 70, dtype=np.uint8)
    table[60:260, 90:330] = 240  # a sheet, 40 % of the image, on a dark even table
    assert even_canvas_tone(decode_full_size(table).gray) is None


def test_a_tiny_image_takes_the_photo_path_even_on_an_even_canvas():
    # Low-resolution scans (and the training data made from them) are read as before: enlarged.
    small = np.asarray(_drawn(size=48))
    assert even_canvas_tone(decode_full_size(small).gray) is None
    assert max(analyze(small).decoded.gray.shape) >= 96


def test_an_mnist_digit_drawn_on_the_pad_is_one_digit_on_the_canvas_path():
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[5:23, 12:16] = 255  # a 1
    data = synthetic.render_mnist_drawing(digit, size=200)
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGBA" and image.size == (200, 200)
    assert even_canvas_tone(decode_full_size(data).gray) == pytest.approx(1.0)
    assert len(analyze(data).digits) == 1
