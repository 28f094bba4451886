"""Reading the line reader's frames: CTC best-path decoding, with each digit's frames and probabilities.

Usage:

    probabilities = frame_probabilities(logits)           # (frames, 11) softmax, blank last
    for read in best_path(probabilities):
        read.digit, read.first, read.last                  # the digit and the frames [first, last] it spans
        read.probabilities                                 # its 10 digit probabilities (blank left out)
        read.confidence                                    # how sure the frames are of it (see below)

Best path: each frame's most likely class; runs of the same class are one
symbol; blanks separate symbols and are dropped. A digit's probabilities are
those of its peak frame (where its own class is most likely) over the ten
digits, blank excluded and renormalised, as the predict JSON gives them per
digit. Its confidence is its peak frame's probability of the digit against
every class including blank: a digit the frames barely see is not a sure one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_DIGITS = 10
BLANK = NUM_DIGITS


@dataclass
class FrameDigit:
    digit: int
    first: int  # first frame of the run (inclusive)
    last: int  # last frame of the run (inclusive)
    confidence: float
    probabilities: np.ndarray  # (10,), sums to 1


def frame_probabilities(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(frames, 11) logits → softmax(logits / temperature), computed stably in float64."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def best_path(probabilities: np.ndarray) -> list[FrameDigit]:
    """The digits of the most likely frame labelling, left to right (see the module doc)."""
    classes = np.argmax(probabilities, axis=-1)
    digits: list[FrameDigit] = []
    start = 0
    for frame in range(1, len(classes) + 1):
        if frame < len(classes) and classes[frame] == classes[start]:
            continue
        label = int(classes[start])
        if label != BLANK:
            run = probabilities[start:frame]
            peak = start + int(np.argmax(run[:, label]))
            digit_part = probabilities[peak, :NUM_DIGITS]
            digits.append(FrameDigit(label, start, frame - 1, float(probabilities[peak, label]),
                                     digit_part / max(float(digit_part.sum()), 1e-12)))
        start = frame
    return digits


def best_path_text(probabilities: np.ndarray) -> str:
    """Only the digit string of best_path."""
    return "".join(str(digit.digit) for digit in best_path(probabilities))
