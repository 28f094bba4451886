"""digitlab.synth: synthetic images for training and tests — photos of numbers, drawings, low-resolution scans.

Usage:

    from digitlab.synth import render_photo, extra_training_data

    photo = render_photo(seed=900_001)          # a seeded photo of a handwritten number (PIL image, text, JPEG)
    x, y = extra_training_data("photos", count=8_000)   # digits the vision pipeline cuts from training photos

`photos` renders numbers with handwriting fonts on paper under uneven light;
its seed ranges keep test, calibration and training images apart.
`training_data` runs those photos (and MNIST digits as low-resolution scans)
through digitlab.vision, so a model learns what the reader hands it.
Reading real images is digitlab.vision's job; this package only makes them.
"""

from digitlab.synth.photos import (
    CALIBRATION_SEEDS,
    HANDWRITING_FONT_DIRS,
    TEST_SEEDS,
    TRAINING_SEEDS,
    SyntheticPhoto,
    fonts_installed,
    handwriting_fonts,
    render_drawing,
    render_mnist_drawing,
    render_non_digit,
    render_photo,
)
from digitlab.synth.training_data import extra_training_data, lowres_digits, photo_digits, render_low_resolution

__all__ = [
    "CALIBRATION_SEEDS", "HANDWRITING_FONT_DIRS", "SyntheticPhoto", "TEST_SEEDS", "TRAINING_SEEDS",
    "extra_training_data", "fonts_installed", "handwriting_fonts", "lowres_digits", "photo_digits",
    "render_drawing", "render_low_resolution", "render_mnist_drawing", "render_non_digit", "render_photo",
]
