"""digitlab.vision: real images (photos, scans, drawings) → MNIST-style 28×28 digits.

Usage:

    from digitlab.vision import analyze, ImageError
    analysis = analyze("photo.jpg")                  # digits left to right, boxes, model inputs

Most callers want digitlab.recognize.Recognizer, which runs this pipeline and
the model together. Modules, in pipeline order: decode.py (file → grayscale),
page.py (a sheet on a table), preprocess.py (polarity, lighting, 28×28),
threshold.py (ink → mask), rules.py (a ruled sheet's lines out of the mask),
shadow.py (shadowed paper is no ink), segment.py (digits), junction.py (where touching
digits meet), deskew.py (level a tilted line), slant.py (undo extreme
italics), canvas.py (drawings from the web app's pad), pipeline.py (all
stages), kernels.py (exact fast stand-ins for SciPy calls on small arrays),
debug.py (stage images for `predict --debug`). Synthetic photos for training
and tests are digitlab.synth; printing results is the CLI's.
"""

from digitlab.vision.debug import write_debug_images
from digitlab.vision.errors import ImageError, PixelsError
from digitlab.vision.pipeline import DigitCrop, PageAnalysis, analyze
from digitlab.vision.preprocess import normalize_pixels

__all__ = ["DigitCrop", "ImageError", "PageAnalysis", "PixelsError", "analyze", "normalize_pixels",
           "write_debug_images"]
