"""The line reader at reading time: a strip → its frames (ONNX Runtime) → digits with boxes and probabilities.

Usage:

    reader = LineReader(Path(".../line-reader/model.onnx"))     # or model.keras (Keras), card.json beside it
    digits = reader.read(analysis)            # analysis: digitlab.vision.analyze(...); list of LineDigit
    digit.digit, digit.confidence, digit.box, digit.probabilities, digit.model_input

The strip (digitlab.vision.line) goes through the model alone, with no other
image's strip (a batch of itself moved one row up and one down, ROW_SHIFTS,
whose frame scores are averaged), so the answer for an image never depends on
what else was read with it. Frames are decoded by CTC prefix beam search (ctc.decode: the
most likely number, each digit's frames by its most likely path) after the
temperature fitted on validation strips (card.json's `temperature`). A digit's
box: the strip columns from halfway between it and its left neighbour to
halfway to its right neighbour (the frames CTC aligned to it and half the
blank frames on each side), tightened to the ink in them, in the original
image's pixels. Its model_input is those columns as an MNIST-style 28×28
image, for `--debug` and the web page, which show what was read where.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitlab.errors import UserError
from digitlab.formats import CARD, finite_number, rundir, shipped_models, sidecar_value
from digitlab.models import import_keras
from digitlab.recognize.ctc import NUM_DIGITS, FrameDigit, decode, frame_probabilities
from digitlab.recognize.runtimes import ONNX_FILE, onnx_session
from digitlab.vision.line import STRIP_HEIGHT, WIDTH_MULTIPLE
from digitlab.vision.preprocess import to_mnist

LINE_READER = "line-reader"  # the shipped line reader's name (its folder and card)
READERS = ("auto", "line", "segments")
# A line-reader model file to use instead of the shipped one (a model.keras or model.onnx being trained or tried).
LINE_READER_ENVIRONMENT = "DIGITLAB_LINE_READER"
# Strip columns per frame a line reader may have (it is the model's: strip width / its frame count).
FRAME_WIDTHS = tuple(width for width in (1, 2, 4, 8) if WIDTH_MULTIPLE % width == 0)
# Card defaults when a line reader has no fitted values (a fresh training run's model.keras).
DEFAULT_REJECT_BELOW = 0.5
# The strip is read as cut and moved one row up and one row down (one batch of three), and the frame
# scores are averaged: chosen on validation strips, where it reads 91.15 % of the numbers exactly
# against 90.61 % for the strip alone and 91.07 % with two rows too (benchmarks/line_readers.py).
ROW_SHIFTS = (0, -1, 1)


@dataclass
class LineDigit:
    digit: int
    confidence: float
    box: tuple[int, int, int, int]
    probabilities: list[float]
    model_input: np.ndarray


class LineReader:
    """A line-reader model (ONNX Runtime for .onnx, Keras for .keras) with its card's temperature and threshold."""

    def __init__(self, path: Path, threads: int | None = None, row_shifts: tuple[int, ...] = ROW_SHIFTS):
        self.path = Path(path)
        self.row_shifts = tuple(row_shifts)
        if not self.path.is_file():
            raise UserError(f"line reader model {self.path} does not exist.")
        self.temperature = finite_number(sidecar_value(self.path, (CARD, "temperature"))) or 1.0
        self.reject_below = finite_number(sidecar_value(self.path, (CARD, "reject_below"))) or DEFAULT_REJECT_BELOW
        self._run = self._open_onnx(threads) if self.path.suffix == ".onnx" else self._open_keras()

    def _open_onnx(self, threads: int | None):
        session = onnx_session(self.path, threads)
        inputs = session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].shape[1] != STRIP_HEIGHT:
            raise UserError(f"{self.path} is not a line reader (it does not take strips {STRIP_HEIGHT} rows high).")
        name = inputs[0].name
        self.runtime_name = "onnx"
        return lambda strips: session.run(None, {name: strips})[0]

    def _open_keras(self):
        keras = import_keras()
        try:
            model = keras.saving.load_model(self.path, compile=False, safe_mode=True)
        except Exception as error:  # Keras raises many types for a damaged or foreign file
            raise UserError(f"{self.path} could not be loaded as a line reader ({type(error).__name__}).") from None
        lock = threading.Lock()  # Keras models are not safe to call from two threads at once
        self.runtime_name = "keras"

        def run(strips: np.ndarray) -> np.ndarray:
            with lock:
                return np.asarray(model.predict_on_batch(strips))
        return run

    frame_width: int | None = None  # strip columns per frame, known after the first strip

    def logits(self, strip: np.ndarray) -> np.ndarray:
        """One strip (32, width) → its (width / frame_width, 11) frame scores, before the temperature:
        the mean of the model's scores for the strip moved by each of `row_shifts` rows."""
        strip = np.ascontiguousarray(strip, np.float32)
        return self.model_logits(np.stack([moved_rows(strip, rows) for rows in self.row_shifts])).mean(axis=0)

    def model_logits(self, strips: np.ndarray) -> np.ndarray:
        """Strips of one width (n, 32, width) → the model's own (n, frames, 11) scores, checked."""
        logits = np.asarray(self._run(np.ascontiguousarray(strips, np.float32)[:, :, :, None]))
        count, width = strips.shape[0], strips.shape[2]
        frame_width = width // logits.shape[1] if logits.ndim == 3 and logits.shape[1] else 0
        expected = (count, width // frame_width if frame_width in FRAME_WIDTHS else -1, NUM_DIGITS + 1)
        if (logits.shape != expected or expected[1] * frame_width != width
                or (self.frame_width or frame_width) != frame_width or not np.all(np.isfinite(logits))):
            raise UserError(f"{self.path} gave outputs of shape {logits.shape} for a strip {width} columns "
                            "wide, not one row of 11 finite scores per frame; it is not a working line reader.")
        self.frame_width = frame_width
        return logits

    def frames(self, strip: np.ndarray) -> np.ndarray:
        """One strip (32, width) → (frames, 11) frame probabilities after the temperature."""
        return frame_probabilities(self.logits(strip), self.temperature)

    def read(self, analysis) -> list[LineDigit]:
        """The digits of an analysed image's line, left to right ([] when it has no line)."""
        if analysis.line is None:
            return []
        strip = analysis.line.pixels
        found = decode(self.frames(strip))
        return [_line_digit(analysis, strip, digit, columns)
                for digit, columns in zip(found, _column_spans(found, strip.shape[1], self.frame_width))]


def moved_rows(strip: np.ndarray, rows: int) -> np.ndarray:
    """The strip moved `rows` rows down (up when negative), paper (0) coming in at the edge."""
    if rows == 0:
        return strip
    moved = np.zeros_like(strip)
    if rows > 0:
        moved[rows:] = strip[:-rows]
    else:
        moved[:rows] = strip[-rows:]
    return moved


def _column_spans(found: list[FrameDigit], width: int, frame_width: int) -> list[tuple[int, int]]:
    """Each digit's strip columns: its frames and half the blank frames between it and each neighbour."""
    edges = [0]
    for left, right in zip(found, found[1:]):
        edges.append(frame_width * (left.last + 1 + right.first) // 2)
    edges.append(width)
    return list(zip(edges[:-1], edges[1:]))


def _line_digit(analysis, strip: np.ndarray, digit: FrameDigit, columns: tuple[int, int]) -> LineDigit:
    start, end = columns
    inked = np.flatnonzero(strip[:, start:end].max(axis=0) > 0.5)
    if inked.size:  # tightened to the ink in its columns
        start, end = start + int(inked[0]), start + int(inked[-1]) + 1
    crop = strip[:, start:end]
    model_input = to_mnist(crop) if crop.size and crop.max() > 0 else np.zeros((28, 28), np.float32)
    return LineDigit(digit.digit, digit.confidence, analysis.strip_box(start, end),
                     [float(value) for value in digit.probabilities], model_input)


def find_line_reader(runtime: str = "auto") -> Path | None:
    """$DIGITLAB_LINE_READER, else the shipped line reader's model (model.keras for runtime "keras"), else None."""
    configured = os.environ.get(LINE_READER_ENVIRONMENT)
    if configured:
        return Path(configured).expanduser()
    card = shipped_models().get(LINE_READER)
    if card is None:
        return None
    folder = Path(card["path"]).parent
    keras_file, onnx_file = folder / rundir.MODEL, folder / ONNX_FILE
    if runtime == "keras" and keras_file.is_file():
        return keras_file
    return onnx_file if onnx_file.is_file() else keras_file if keras_file.is_file() else None


def open_line_reader(reader: str = "auto", runtime: str = "auto", threads: int | None = None) -> LineReader | None:
    """The line reader for `reader` ("line": required; "auto": the installed one, if any; "segments": none)."""
    if reader not in READERS:
        raise UserError(f"--reader must be one of {', '.join(READERS)}, got {reader!r}.")
    if reader == "segments":
        return None
    path = find_line_reader(runtime)
    if path is None:
        if reader == "auto":
            return None
        raise UserError(f"no line reader is installed; `digitlab models pull {LINE_READER}`, or use "
                        "--reader segments.")
    return LineReader(path, threads)
