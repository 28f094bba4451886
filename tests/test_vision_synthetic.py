"""The synthetic photo generator: deterministic, within its seed ranges, and segmentable."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.synth import photos as synthetic
from digitlab.vision.pipeline import analyze

pytestmark = pytest.mark.skipif(not synthetic.fonts_installed(),
                                reason="handwriting fonts missing: make system-test-deps "
                                "(apt-get install fonts-dkg-handwriting fonts-humor-sans ...)")


def test_same_seed_same_photo():
    first, second = synthetic.render_photo(900_001), synthetic.render_photo(900_001)
    assert first.text == second.text and first.jpeg == second.jpeg
    assert synthetic.render_photo(900_002).jpeg != first.jpeg
    assert first.image.mode == "RGB"


def test_seed_ranges_do_not_overlap():
    assert set(synthetic.TEST_SEEDS).isdisjoint(synthetic.CALIBRATION_SEEDS)
    assert min(synthetic.CALIBRATION_SEEDS) == 800_000


@pytest.mark.parametrize("seed, text", [(900_010, "2026"), (900_011, "31415"), (900_012, "7")])
def test_the_pipeline_finds_every_digit_of_a_photo(seed, text):
    photo = synthetic.render_photo(seed, text=text)
    analysis = analyze(photo.jpeg)
    assert len(analysis.digits) == len(text)
    centers = [(box[0] + box[2]) / 2 for box in (crop.box for crop in analysis.digits)]
    assert centers == sorted(centers)


def test_non_digits_cover_every_kind():
    kinds = {synthetic.render_non_digit(seed).kind for seed in range(800_000, 800_030)}
    assert kinds == {"letter", "scribble", "blank", "noise"}
    assert all(sample.text == "" for sample in map(synthetic.render_non_digit, range(800_000, 800_005)))


def test_phone_photo_size():
    photo = synthetic.render_photo(900_020, text="12", size=(1200, 900), digit_height=150)
    assert photo.image.size == (1200, 900)
    assert np.asarray(photo.image).std() > 1
