"""Recognizer: the one way the CLI, the web app and batch jobs read digits with a model.

Usage:

    from digitlab.recognize import Recognizer, ImageError

    recognizer = Recognizer()                  # best shipped model, else the newest run in runs/
    result = recognizer.read("photo.jpg")      # path, bytes, file object, PIL image or numpy array
    result.prediction, result.confidence       # "2026", 0.97
    result.to_json()                           # the DESIGN.md object without "path"
    recognizer.predict_pixels(canvas_28x28)    # one MNIST-style 28×28 array (ink bright)
    results = recognizer.read_many(paths)      # ReadResult or ImageError per input, one model call
    results = recognizer.read_analyses([recognizer.analyze(path) for path in paths])   # the same, in two steps

Images go through digitlab.vision (decode → grayscale → illumination flattening
→ polarity → threshold → segmentation → MNIST-style 28×28 per digit); the model
sees exactly what `--debug DIR` shows.

The reject option: a digit whose confidence (softmax maximum) is below
`reject_below` (REJECT_BELOW unless given) makes the whole prediction "" — the
reader says "I cannot read this" rather than give a confident wrong number. The
digits are still listed, so a caller can show what was seen. See the README
("Reading your own images") for how the threshold was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab.formats import (
    CARD, READER_MODEL, finite_number, model_temperature, resolve_model_path, rundir, sidecar_value,
)
from digitlab.recognize.line_reader import open_line_reader
from digitlab.recognize.runtimes import INT8_FILE, ONNX_FILE, open_runtime
from digitlab.recognize.temperature import apply_temperature
from digitlab.vision import ImageError, analyze, normalize_pixels, write_debug_images

__all__ = ["Recognizer", "ReadResult", "DigitReading", "ImageError", "REJECT_BELOW"]

# Chosen on calibration data, never the benchmark sets, for the default model `reader`:
# `benchmarks/realworld.py --calibrate` picks the highest threshold that refuses at most
# 1 % of right readings (synthetic photos and low-resolution scans); see the README.
REJECT_BELOW = 0.50


@dataclass
class DigitReading:
    """One digit: what the model saw (model_input) and what it answered."""

    digit: int
    confidence: float
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1) in the original image's pixels, x1/y1 exclusive
    probabilities: list[float]
    model_input: np.ndarray = field(repr=False)  # 28×28 float32, MNIST polarity

    def to_json(self) -> dict:
        return {
            "digit": int(self.digit),
            "confidence": round(float(self.confidence), 6),
            "box": [int(value) for value in self.box],
            "probabilities": [round(float(value), 6) for value in self.probabilities],
        }


@dataclass
class ReadResult:
    """What was read from one image: the digit string, its confidence and each digit."""

    prediction: str
    confidence: float
    digits: list[DigitReading]
    note: str = ""  # why nothing was read ("no ink found", "low confidence", ...), "" when read

    def to_json(self) -> dict:
        """Exactly the DESIGN.md predict object, without "path"."""
        return {
            "prediction": self.prediction,
            "confidence": round(float(self.confidence), 6),
            "digits": [digit.to_json() for digit in self.digits],
        }


def _model_info(path: Path, name: str, runtime) -> dict:
    """Name, path, runtime, test accuracy (from card.json or the run's metrics.json) and size of a model."""
    accuracy = sidecar_value(path, (CARD, "test_accuracy"), (rundir.METRICS, "test_accuracy"))
    if runtime.name == "onnx-int8":  # the int8 file's own figure, when its card records one
        accuracy = sidecar_value(path, (CARD, "onnx_int8", "test_accuracy"))
    return {
        "name": name, "path": str(path), "runtime": runtime.name, "test_accuracy": finite_number(accuracy),
        "parameters": runtime.parameters,
    }


def _model_name(path: Path) -> str:
    """A shipped model's folder name (an ensemble's card.json too), a run dir's name, or a bare file's stem."""
    if path.name in ("model.keras", ONNX_FILE, INT8_FILE, CARD):
        return path.parent.name
    return path.stem


class Recognizer:
    """A loaded model plus the vision pipeline; thread-safe, load once and reuse."""

    def __init__(
        self,
        model: str | Path | None = None,
        runs_dir: str | Path = "runs",
        max_pixels: int = 40_000_000,
        reject_below: float | None = None,
        runtime: str = "auto",
        reader: str = "auto",
        threads: int | None = None,
    ):
        self.path = Path(resolve_model_path(None if model is None else str(model), runs_dir, purpose="images"))
        self.name = _model_name(self.path)
        self.max_pixels = int(max_pixels)
        # Images are read digit by digit ("segments": segmentation, then this model on each piece), by
        # the line reader ("line": the whole number at once, line_reader.py), or both ("auto", the
        # default when a line reader is installed: see combined_reading). A classifier asked for by
        # name (`--model vgg`) reads alone: that model is the one asked to read.
        if reader == "auto" and model is not None and self.name != READER_MODEL:
            reader = "segments"
        # `threads`: ONNX Runtime threads per model (None: its default); a worker of a pool asks for 1.
        self.line_reader = open_line_reader(reader, runtime, threads)
        self.reader = "segments" if self.line_reader is None else reader
        # Each reader's own reject threshold, unless one is given for both.
        self.segments_reject_below = float(REJECT_BELOW if reject_below is None else reject_below)
        self.line_reject_below = (float(self.line_reader.reject_below if reject_below is None else reject_below)
                                  if self.line_reader else None)
        self.reject_below = self.line_reject_below if self.reader == "line" else self.segments_reject_below
        # Keras, or ONNX Runtime when an exported model.onnx is beside the .keras file
        # ("onnx-int8": the int8 model.int8.onnx beside it, only when asked; an ensemble:
        # its members' runtimes, averaged).
        self.runtime = open_runtime(self.path, runtime, threads)
        # Confidences are calibrated: softmax(logits / T), T fitted on the model's
        # validation split at training time (digitlab.evaluate.fit_temperature); 1 when unknown.
        self.temperature = model_temperature(self.path)
        self.info = _model_info(self.path, self.name, self.runtime)
        self.info["temperature"] = self.temperature
        self.info["reader"] = self.reader
        if self.line_reader:
            self.info["line_reader"] = {"path": str(self.line_reader.path), "runtime": self.line_reader.runtime_name,
                                        "temperature": self.line_reader.temperature}

    # The single place where model outputs become probabilities (calibration goes here).
    def _probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(n, 28, 28) float32 MNIST-style images → (n, 10) class probabilities."""
        batch = np.asarray(batch, dtype=np.float32)
        if len(batch) == 0:
            return np.zeros((0, 10), dtype=np.float64)
        probabilities = self.runtime.predict(batch)
        if self.temperature != 1.0:
            probabilities = apply_temperature(probabilities, self.temperature).astype(np.float64)
        return probabilities / np.clip(probabilities.sum(axis=1, keepdims=True), 1e-12, None)

    def _readings(self, crops: list, probabilities: np.ndarray) -> ReadResult:
        """Digit crops of one image + their probabilities → a ReadResult with the reject rule applied."""
        return self._judged([
            DigitReading(
                digit=int(np.argmax(row)),
                confidence=float(np.max(row)),
                box=tuple(int(value) for value in crop.box),
                probabilities=[float(value) for value in row],
                model_input=crop.model_input,
            )
            for crop, row in zip(crops, probabilities)
        ])

    def _judged(self, digits: list[DigitReading], reject_below: float | None = None) -> ReadResult:
        """An image's digits → its ReadResult: the number, its confidence, and the reject rule applied."""
        if not digits:
            return ReadResult("", 0.0, [], note="no digits found")
        # The number is right only if every digit is: the product is its confidence.
        confidence = float(np.prod([digit.confidence for digit in digits]))
        threshold = self.segments_reject_below if reject_below is None else reject_below
        if min(digit.confidence for digit in digits) < threshold:
            return ReadResult("", confidence, digits, note="low confidence; not read")
        return ReadResult("".join(str(digit.digit) for digit in digits), confidence, digits)

    def predict_pixels(self, pixels) -> dict:
        """One 28×28 MNIST-style image (ink bright; [0, 1] or 0..255) → the predict object without "path"."""
        image = normalize_pixels(pixels)
        if float(image.max()) <= 0.0:
            return ReadResult("", 0.0, [], note="blank").to_json()
        crop = _PixelCrop(box=(0, 0, 28, 28), model_input=image)
        return self._readings([crop], self._probabilities(image[None])).to_json()

    def analyze(self, image, debug_dir: Path | None = None):
        """Run the vision pipeline only (no model): see digitlab.vision.pipeline.analyze."""
        return analyze(image, max_pixels=self.max_pixels, keep_stages=debug_dir is not None)

    def read(self, image, debug_dir: Path | None = None) -> ReadResult:
        """Read the digits in one image; raises ImageError for an unreadable input."""
        analysis = self.analyze(image, debug_dir)
        return self._read([analysis], [None if debug_dir is None else Path(debug_dir)])[0]

    def read_many(self, images: list, debug_dir: Path | None = None) -> list[ReadResult | ImageError]:
        """Read many images with one batched model call; an unreadable input gives its ImageError."""
        analyses: list = []
        for image in images:
            try:
                analyses.append(self.analyze(image, debug_dir))
            except ImageError as error:
                analyses.append(_without_frames(error))
        return self.read_analyses(analyses, debug_dir)

    def read_analyses(self, analyses: list, debug_dir: Path | None = None) -> list[ReadResult | ImageError]:
        """Read images already run through `analyze` (ImageError items pass through), one batched model call.

        The vision pipeline does not depend on the model, so one analysis can be read by several
        models or runtimes (benchmarks/quantize.py compares float and int8 on the same crops).
        """
        paths = [None if debug_dir is None else Path(debug_dir) / f"{index:04d}" for index in range(len(analyses))]
        return self._read(analyses, paths)

    def _read(self, analyses: list, debug_paths: list[Path | None]) -> list[ReadResult | ImageError]:
        """read_analyses, with each image's debug folder (None: no debug images)."""
        segments = self._segment_results(analyses) if self.reader != "line" else [None] * len(analyses)
        results: list[ReadResult | ImageError] = []
        for item, by_segments, debug_path in zip(analyses, segments, debug_paths):
            if isinstance(item, ImageError):
                results.append(item)
                continue
            by_line = self._line_result(item) if self.reader != "segments" else None
            result = (combined_reading(by_segments, by_line, one_digit_image(item))
                      if self.reader == "auto" else by_segments or by_line)
            if not result.digits and item.note:
                result.note = item.note
            if debug_path is not None:
                write_debug_images(item, result, debug_path)
            results.append(result)
        return results

    def _segment_results(self, analyses: list) -> list[ReadResult | None]:
        """Each analysis's digits read by the classifier, in one batched model call (None for an ImageError)."""
        crops = [crop for item in analyses if not isinstance(item, ImageError) for crop in item.digits]
        probabilities = self._probabilities(_model_inputs(crops))
        results: list[ReadResult | None] = []
        start = 0
        for item in analyses:
            if isinstance(item, ImageError):
                results.append(None)
                continue
            count = len(item.digits)
            results.append(self._readings(item.digits, probabilities[start:start + count]))
            start += count
        return results

    def _line_result(self, analysis) -> ReadResult:
        """One image's analysis read by the line reader."""
        digits = [DigitReading(digit.digit, digit.confidence, digit.box, digit.probabilities, digit.model_input)
                  for digit in self.line_reader.read(analysis)]
        return self._judged(digits, self.line_reject_below)


# An image at most this many pixels on its longest side is a scan or thumbnail of one digit, which the
# classifier (trained on 28×28 digits) reads and the line reader (trained on photos of numbers) may miss.
# On validation data (benchmarks/RESULTS-readers-validation.md): scans read 89.5 % at 48 px, 90.8 % from
# 64 px on; things to refuse refused 94.7 % up to 64 px, 93.8 % at 96 px, 92.0 % at 128 px.
LONE_DIGIT_IMAGE_SIDE = 64


def one_digit_image(analysis) -> bool:
    """Whether an analysed image is the kind that holds one digit, where the classifier's reading stands
    even if the line reader sees none: a drawing or clean scan (the canvas path), or an image at most
    LONE_DIGIT_IMAGE_SIDE pixels on its longest side."""
    return analysis.canvas or max(analysis.decoded.original_size) <= LONE_DIGIT_IMAGE_SIDE


def combined_reading(by_segments: ReadResult, by_line: ReadResult, digit_image: bool) -> ReadResult:
    """The reading "auto" gives: the line reader's, except for a lone digit the classifier read.

    The classifier reads one isolated digit about as well as the line reader, and
    low-resolution scans and drawings better; the line reader reads whole numbers far
    better (touching, broken and widely spaced digits) and refuses what is no number.
    So when the segmentation found exactly one digit and the classifier read it (above
    its reject threshold): if the line reader saw one digit too, the more confident of
    the two readings is given; if it saw none, the classifier's, but only in a
    `digit_image` (one_digit_image: a drawing, a clean scan, or a scan or thumbnail of
    at most LONE_DIGIT_IMAGE_SIDE pixels). In a photo the line reader's "nothing"
    stands: there the classifier's lone digit was mostly a letter, a scribble, an
    object or a shadow. Otherwise the line reader's reading. Chosen on validation data
    only (MNIST training digits 54,000-59,999 in synthetic photos, as low-resolution
    scans and as drawings, and things to refuse), against other rules: see
    docs/reading-images.md.
    """
    if len(by_segments.digits) == 1 and by_segments.prediction:
        if len(by_line.digits) == 1:
            return by_line if by_line.prediction and by_line.confidence >= by_segments.confidence else by_segments
        if not by_line.digits and digit_image:
            return by_segments
    return by_line


def _without_frames(error: ImageError) -> ImageError:
    """The error as a value, cut from the frames it was raised through.

    Its traceback (and the one of the error it was raised from) holds frames, whose
    callers' locals hold the list the error is kept in: a reference cycle that keeps
    every image of the call alive until a full garbage collection. Those count
    objects, not bytes, so under load (`digitlab serve`) that was gigabytes.
    """
    error.__traceback__ = error.__context__ = error.__cause__ = None
    return error


def _model_inputs(crops: list) -> np.ndarray:
    """The crops' 28×28 model inputs as one (n, 28, 28) batch (n may be 0)."""
    if not crops:
        return np.zeros((0, 28, 28), dtype=np.float32)
    return np.stack([crop.model_input for crop in crops])


@dataclass
class _PixelCrop:
    box: tuple[int, int, int, int]
    model_input: np.ndarray
