"""A sheet photographed on a table: the table is painted over; shadows, full-frame paper and chalkboards are not."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from digitlab.vision.page import paper_only, sheet_mask
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
