"""A sheet photographed on a table: the table is painted over; shadows, full-frame paper and chalkboards are not."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digitlab.vision import preprocess
from digitlab.vision.page import paper_only, sheet_mask, without_border_bands
from digitlab.vision.pipeline import analyze


def sheet_on_table(table: float = 0.3, angle: float = 12) -> np.ndarray:
    """A light sheet with a dark '4' and '7' written on it, tilted, on a darker table (gray, 1 = white)."""
    sheet = Image.new("L", (300, 200), 235)
    draw = ImageDraw.Draw(sheet)
    draw.line([(90, 50), (70, 120), (130, 120)], fill=30, width=9)
    draw.line([(115, 60), (115, 150)], fill=30, width=9)
    draw.line([(160, 60), (220, 60), (185, 150)], fill=30, width=9)
    photo = Image.new("L", (460, 360), int(table * 255))
    photo.paste(sheet.rotate(angle, expand=True, fillcolor=int(table * 255)), (70, 50))
    return np.asarray(photo, dtype=np.float32) / 255


def test_the_table_around_a_sheet_is_painted_in_the_paper_tone():
    gray = sheet_on_table()
    painted = paper_only(gray)
    assert painted is not gray
    assert painted[:20, :20].mean() > 0.85 and painted[-20:, -20:].mean() > 0.85  # table corners: paper now
    ink = gray < 0.2
    ink[:40], ink[-40:], ink[:, :60], ink[:, -60:] = False, False, False, False  # the writing, not the table
    assert np.array_equal(painted[ink], gray[ink])                                # the writing is untouched


def test_digits_on_a_sheet_on_a_table_are_read():
    analysis = analyze(sheet_on_table())
    assert len(analysis.digits) == 2


def test_paper_filling_the_frame_a_shadow_and_a_chalkboard_are_left_alone():
    rows, cols = np.mgrid[0:240, 0:320].astype(np.float32)
    shadowed = 0.45 + 0.5 * cols / 320                                  # light falling off across the page
    shadowed[100:110, 120:200] = 0.1                                   # a stroke
    assert sheet_mask(shadowed) is None and paper_only(shadowed) is shadowed
    full_frame = np.full((240, 320), 0.9, dtype=np.float32)
    full_frame[60:180, 150:160] = 0.1
    assert paper_only(full_frame) is full_frame
    chalkboard = np.full((240, 320), 0.2, dtype=np.float32)
    chalkboard[60:180, 150:162] = 0.9
    assert paper_only(chalkboard) is chalkboard


def test_digits_in_a_hard_shadow_that_passes_for_the_table_are_kept():
    """A sharp shadow over half the page looks like a table beside a sheet; the digits written in it stay."""
    gray = np.full((240, 320), 0.85, dtype=np.float32)
    gray[:, 160:] = 0.55                                               # the shadow: sharp-edged, half the frame
    gray[90:150, 220:228] = 0.05                                       # a 1 written in the shadow
    painted = paper_only(gray)
    assert painted is not gray                                         # taken for a sheet on a table…
    assert painted[90:150, 220:228].max() < 0.1                        # …but the 1 is not painted away
    assert painted[:60, 200:].min() > 0.8                              # the shadow's bare paper is
    assert len(analyze(gray).digits) == 1


def test_pencil_in_a_deep_shadow_that_passes_for_the_table_is_kept():
    """Light divides paper and ink alike: a pencil 1 in the shadow is dark for the shadow, not for the sheet."""
    gray = np.full((240, 320), 0.85, dtype=np.float32)
    gray[:, 160:] = 0.45                                               # the shadow: sharp-edged, half the frame
    gray[90:150, 220:228] = 0.45 * 0.55                                # a pencil 1 in it (0.55 of its paper)
    assert 0.45 - 0.45 * 0.55 < 0.85 - 0.45                            # (less contrast than sheet to shadow)
    painted = paper_only(gray)
    assert painted is not gray and painted[90:150, 220:228].max() < 0.3
    assert painted[:60, 200:].min() > 0.8


def _band_test_mask(with_band: bool = True):
    from digitlab.vision.threshold import InkMask

    mask = np.zeros((200, 300), dtype=bool)
    mask[80:120, 100:108] = True                                       # a 1
    mask[80:120, 140:165] = True                                       # a blot of a digit
    if with_band:
        mask[185:, :] = True                                           # the table along the bottom side
    return InkMask(mask, 0, 0, mask.shape, 0.2)


def test_ink_along_a_side_of_the_image_is_dropped_when_digits_remain():
    kept = without_border_bands(_band_test_mask()).full()
    assert not kept[185:].any()
    assert kept[80:120, 100:108].all() and kept[80:120, 140:165].all()
    unchanged = _band_test_mask(with_band=False)
    assert without_border_bands(unchanged) is unchanged


def test_a_tight_crop_whose_only_ink_runs_along_a_side_is_kept():
    from digitlab.vision.threshold import InkMask

    mask = np.zeros((100, 80), dtype=bool)
    mask[:12, :] = True                                                # the bar of a 7 on the top row
    mask[:, 60:72] = True
    ink_mask = InkMask(mask, 0, 0, mask.shape, 0.2)
    assert without_border_bands(ink_mask) is ink_mask


def test_a_sheet_mostly_in_a_hard_shadow_is_read_as_dark_ink():
    """The frame is in shadow, so the lit rest of the sheet is brighter than "the paper": it is no light ink."""
    image = Image.new("L", (480, 320), 215)
    draw = ImageDraw.Draw(image)
    draw.line([(250, 130), (235, 190), (285, 190)], fill=120, width=6)  # a 4 in pencil…
    draw.line([(270, 140), (270, 215)], fill=120, width=6)
    draw.line([(310, 135), (360, 135), (330, 215)], fill=120, width=6)  # …and a 7
    gray = np.asarray(image, dtype=np.float32) / 255
    rows, cols = np.mgrid[0:320, 0:480]
    lit = (cols - 100) + 0.8 * (rows - 100) < 0                       # a lit patch in the top left corner
    photo = np.where(lit, gray, gray * 0.5)                           # the rest under a hand's shadow
    photo = np.clip(photo + np.random.default_rng(0).normal(0, 0.015, photo.shape), 0, 1).astype(np.float32)
    assert not preprocess.has_dark_ink(photo)                          # the frame's median is the shadow…
    assert not preprocess.light_ink_is_strokes(photo)                  # …but the lit patch is no stroke
    analysis = analyze(photo)
    assert analysis.dark_ink and len(analysis.digits) == 2


def test_a_tall_wedge_of_shadow_in_a_corner_is_dropped_and_a_digit_cut_by_the_crop_is_not():
    from digitlab.vision.threshold import InkMask

    mask = np.zeros((200, 300), dtype=bool)
    for left in (120, 150, 180):
        mask[90:120, left:left + 18] = True                            # three digits, 30 rows tall
    rows, columns = np.mgrid[0:200, 0:300]
    mask |= (rows < 140) & (columns > 230 + rows / 2)                   # a wedge of shadow in the top right corner
    mask[92:118, :14] = True                                           # a digit cut by the left side
    kept = without_border_bands(InkMask(mask, 0, 0, mask.shape, 0.2)).full()
    assert not kept[:140, 240:].any()
    assert kept[92:118, :14].all() and kept[90:120, 120:198].sum() == 3 * 30 * 18


def test_a_scan_filling_its_frame_keeps_its_digit_beside_a_loose_piece():
    """A tight crop: the digit runs along a side, a loose piece of it is the only ink clear of the border."""
    from digitlab.vision.threshold import InkMask

    mask = np.zeros((40, 40), dtype=bool)
    mask[0:6, 5:35] = True                                             # the bar of a 7 along the top side
    mask[6:40, 25:31] = True                                           # its stem, down to the bottom side
    mask[18:22, 14:22] = True                                          # a loose cross-stroke
    ink_mask = InkMask(mask, 0, 0, mask.shape, 0.2)
    assert without_border_bands(ink_mask) is ink_mask
