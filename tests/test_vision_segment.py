"""Segmentation on hand-made masks: order, broken digits merged, specks dropped, touching digits split."""

from __future__ import annotations

import numpy as np

from digitlab.vision.segment import MAX_DIGITS, segment_digits


def bar(mask, x0, y0, x1, y1):
    mask[y0:y1, x0:x1] = True


def test_left_to_right_order_and_boxes():
    mask = np.zeros((100, 300), dtype=bool)
    for x in (200, 20, 110):
        bar(mask, x, 20, x + 40, 80)
    regions = segment_digits(mask)
    assert [region.box for region in regions] == [(20, 20, 60, 80), (110, 20, 150, 80), (200, 20, 240, 80)]
    assert all(region.mask.all() for region in regions)


def test_broken_five_is_merged():
    """A 5 whose top bar came loose: two pieces overlapping in x, one above the other."""
    mask = np.zeros((120, 120), dtype=bool)
    bar(mask, 30, 10, 80, 22)      # the loose top bar
    bar(mask, 30, 30, 42, 60)      # the body
    bar(mask, 30, 55, 80, 65)
    bar(mask, 70, 55, 80, 100)
    regions = segment_digits(mask)
    assert len(regions) == 1 and regions[0].box == (30, 10, 80, 100)


def test_specks_dots_and_underlines_are_dropped():
    mask = np.zeros((150, 300), dtype=bool)
    bar(mask, 20, 20, 60, 100)     # a digit
    bar(mask, 100, 20, 140, 100)   # a digit
    bar(mask, 200, 50, 203, 53)    # a speck
    bar(mask, 10, 130, 290, 136)   # an underline: wide but flat
    regions = segment_digits(mask)
    assert [region.box[0] for region in regions] == [20, 100]


def test_touching_digits_are_split_at_the_thinnest_column():
    mask = np.zeros((100, 300), dtype=bool)
    bar(mask, 20, 20, 60, 80)           # a single digit sets the line's digit width
    bar(mask, 100, 20, 140, 80)         # two digits touching through a thin bridge
    bar(mask, 140, 48, 152, 52)
    bar(mask, 152, 20, 192, 80)
    regions = segment_digits(mask)
    assert len(regions) == 3
    assert abs(regions[1].box[2] - 146) <= 7 and abs(regions[2].box[0] - 146) <= 7


def test_a_lone_wide_blob_is_split_by_aspect_ratio():
    mask = np.zeros((200, 400), dtype=bool)
    bar(mask, 20, 20, 380, 80)  # 6 × as wide as tall: about 8 digits of 0.75 × height
    regions = segment_digits(mask)
    assert 6 <= len(regions) <= 9


def test_blank_noise_and_full_masks_give_nothing():
    assert segment_digits(np.zeros((50, 50), dtype=bool)) == []
    assert segment_digits(np.ones((50, 50), dtype=bool)) == []
    rng = np.random.default_rng(0)
    speckled = rng.random((200, 200)) < 0.03
    assert len(segment_digits(speckled)) <= MAX_DIGITS
    assert segment_digits(speckled) == [] or all(region.height > 1 for region in segment_digits(speckled))
