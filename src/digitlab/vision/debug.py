"""`--debug DIR`: every pipeline stage as a PNG, so a user can see why a digit was misread.

Usage:

    write_debug_images(analysis, result, Path("debug/photo"))

Writes, in pipeline order:

    1-gray.png          the decoded image, grayscale, at working size
    1b-paper.png        only for a sheet photographed on a table: the table painted in the paper's tone
    2-background.png    the estimated paper + lighting
    3-ink.png           ink after dividing out the lighting (MNIST polarity: ink bright)
    4-mask.png          the thresholded ink
    4b-level-mask.png   only for a tilted line: the mask after leveling it (what was segmented)
    4c-line-strip.png   the line as one 32-row strip: what the line reader reads (digitlab.vision.line)
    5-digits.png        the working image with each digit's box, reading order and answer
    6-digit-<n>-<d>.png each digit read as a 28×28 image (enlarged 10×), n = position, d = digit read
                        (the segmentation's crops as the classifier saw them; the line reader's digits
                        cut from its strip)
    result.txt          the prediction, confidences and why nothing was read

Each file is written atomically (digitlab.formats), so a full disk leaves no half PNG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digitlab.formats import atomic_path, write_text_atomic

ENLARGE = 10


def _save(image: Image.Image, path: Path) -> None:
    with atomic_path(path) as partial:
        image.save(partial, format="PNG")


def _to_png(values: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(values, 0.0, 1.0) * 255).round().astype(np.uint8), mode="L")


def _shown_digits(analysis, result) -> list[tuple[tuple, np.ndarray, object]]:
    """(box in working pixels, 28×28 image, reading or None) per digit, left to right.

    The result's own digits when it has any: the line reader's digits are not the
    segmentation's crops, so each reading brings its own box and image. Else the crops.
    """
    if result is not None and result.digits:
        scale = analysis.decoded.scale
        return [(tuple(value / scale for value in reading.box), reading.model_input, reading)
                for reading in result.digits]
    return [(crop.work_box, crop.model_input, None) for crop in analysis.digits]


def _boxes_image(gray: np.ndarray, digits: list) -> Image.Image:
    image = _to_png(gray).convert("RGB")
    draw = ImageDraw.Draw(image)
    for index, (box, _, reading) in enumerate(digits):
        x0, y0, x1, y1 = box
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(220, 30, 30), width=2)
        label = f"{index + 1}"
        if reading is not None:
            label += f": {reading.digit} ({reading.confidence:.2f})"
        draw.text((x0 + 2, max(0, y0 - 12)), label, fill=(20, 90, 220))
    return image


def write_debug_images(analysis, result, directory: Path) -> Path:
    """Write the stage images of one analysis (and its ReadResult, if any) into directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, values in analysis.stages.items():
        _save(_to_png(values), directory / f"{name}.png")
    digits = _shown_digits(analysis, result)
    _save(_boxes_image(analysis.decoded.gray, digits), directory / "5-digits.png")
    lines = [
        f"ink: {'dark on light' if analysis.dark_ink else 'light on dark'} (made bright for the model)",
        f"threshold: {analysis.threshold:.3f}",
        f"line tilt: {analysis.tilt:.1f}° (leveled before segmentation)" if analysis.tilt else "line tilt: none",
        f"working size: {analysis.decoded.gray.shape[1]}x{analysis.decoded.gray.shape[0]}, "
        f"scale to original: {analysis.decoded.scale:.3f}",
    ]
    for index, (_, model_input, reading) in enumerate(digits):
        digit = "x"
        if reading is not None:
            digit = str(reading.digit)
            top = np.argsort(reading.probabilities)[::-1][:3]
            ranked = ", ".join(f"{k}: {reading.probabilities[k]:.3f}" for k in top)
            lines.append(f"digit {index + 1}: box {list(reading.box)} → {digit}  ({ranked})")
        enlarged = _to_png(model_input).resize((28 * ENLARGE, 28 * ENLARGE), Image.Resampling.NEAREST)
        _save(enlarged, directory / f"6-digit-{index + 1}-{digit}.png")
    if result is not None:
        lines.insert(0, f"prediction: {result.prediction!r}  confidence: {result.confidence:.4f}"
                        + (f"  ({result.note})" if result.note else ""))
    elif analysis.note:
        lines.insert(0, analysis.note)
    write_text_atomic(directory / "result.txt", "\n".join(lines) + "\n")
    return directory
