"""Reading the line reader's frames: CTC decoding, with each digit's frames and probabilities.

Usage:

    probabilities = frame_probabilities(logits)           # (frames, 11) softmax, blank last
    for read in decode(probabilities):                    # or best_path(probabilities)
        read.digit, read.first, read.last                  # the digit and the frames [first, last] it spans
        read.probabilities                                 # its 10 digit probabilities (blank left out)
        read.confidence                                    # how sure the frames are of it (see below)

Best path: each frame's most likely class; runs of the same class are one
symbol; blanks separate symbols and are dropped. It reads the most likely
*path*, not the most likely *number*: a number is the sum of all the paths
that spell it, and where the frames hesitate (between a digit and blank, or
at a double digit) the two differ. `decode` reads the most likely number by
prefix beam search (BEAM_WIDTH numbers kept at each frame), then finds each
digit's frames by the number's most likely path (Viterbi alignment); where it
reads what best path reads, which is most strips, it is best path.

A digit's probabilities are those of its peak frame (where its own class is
most likely) over the ten digits, blank excluded and renormalised, as the
predict JSON gives them per digit. Its confidence is its peak frame's
probability of the digit against every class including blank: a digit the
frames barely see is not a sure one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NUM_DIGITS = 10
BLANK = NUM_DIGITS
# Numbers kept at each frame by decode's prefix beam search; classes below BEAM_FLOOR at a frame are not
# tried there. On validation strips, beam search reads 82.69 % of the numbers exactly against best path's
# 82.18 % with the shipped reader (benchmarks/line_readers.py --decoder best-path --decoder beam).
BEAM_WIDTH, BEAM_FLOOR = 8, 1e-4


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
    runs: list[tuple[int, int, int]] = []
    start = 0
    for frame in range(1, len(classes) + 1):
        if frame < len(classes) and classes[frame] == classes[start]:
            continue
        if classes[start] != BLANK:
            runs.append((int(classes[start]), start, frame - 1))
        start = frame
    return [_frame_digit(probabilities, *run) for run in runs]


def _frame_digit(probabilities: np.ndarray, label: int, first: int, last: int) -> FrameDigit:
    """A digit read from frames first..last: its peak frame's probabilities (see the module doc)."""
    peak = first + int(np.argmax(probabilities[first:last + 1, label]))
    digit_part = probabilities[peak, :NUM_DIGITS]
    return FrameDigit(label, first, last, float(probabilities[peak, label]),
                      digit_part / max(float(digit_part.sum()), 1e-12))


def decode(probabilities: np.ndarray, width: int = BEAM_WIDTH) -> list[FrameDigit]:
    """The digits of the most likely number (prefix beam search), each with its frames (see the module doc)."""
    by_path = best_path(probabilities)
    labels = prefix_beam_search(probabilities, width)
    if labels == tuple(digit.digit for digit in by_path):
        return by_path
    return [_frame_digit(probabilities, label, first, last)
            for label, (first, last) in zip(labels, aligned_frames(probabilities, labels))]


def decode_text(probabilities: np.ndarray, width: int = BEAM_WIDTH) -> str:
    """Only the digit string of decode."""
    return "".join(map(str, prefix_beam_search(probabilities, width)))


def prefix_beam_search(probabilities: np.ndarray, width: int = BEAM_WIDTH) -> tuple[int, ...]:
    """The most likely digit sequence found keeping `width` prefixes, each scored by all its paths so far."""
    # prefix -> (probability of its paths ending in blank, ending in its last digit), rescaled every frame
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}
    for frame in np.asarray(probabilities, dtype=np.float64):
        grown: dict[tuple[int, ...], list[float]] = {}
        tried = [label for label in range(NUM_DIGITS) if frame[label] >= BEAM_FLOOR]
        for prefix, (ends_blank, ends_digit) in beams.items():
            total = ends_blank + ends_digit
            grown.setdefault(prefix, [0.0, 0.0])[0] += total * frame[BLANK]
            for label in tried:
                if prefix and prefix[-1] == label:  # the same digit again needs a blank between
                    grown[prefix][1] += ends_digit * frame[label]
                    grown.setdefault(prefix + (label,), [0.0, 0.0])[1] += ends_blank * frame[label]
                else:
                    grown.setdefault(prefix + (label,), [0.0, 0.0])[1] += total * frame[label]
        kept = sorted(grown.items(), key=lambda item: -(item[1][0] + item[1][1]))[:width]
        scale = sum(blank + digit for _, (blank, digit) in kept) or 1.0
        beams = {prefix: (blank / scale, digit / scale) for prefix, (blank, digit) in kept}
    return max(beams.items(), key=lambda item: item[1][0] + item[1][1])[0]


def aligned_frames(probabilities: np.ndarray, labels: tuple[int, ...]) -> list[tuple[int, int]]:
    """Each label's frames (first, last) on the most likely path that spells `labels` (Viterbi)."""
    if not labels:
        return []
    frames = len(probabilities)
    states = [BLANK]  # blank, label 1, blank, label 2, ..., blank
    for label in labels:
        states += [label, BLANK]
    logs = np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-300, None))[:, states]
    score = np.full(len(states), -np.inf)
    score[:2] = logs[0, :2]
    # A path may skip a blank only to go from one digit to a different one.
    no_skip = [index for index in range(len(states))
               if states[index] == BLANK or (index >= 2 and states[index - 2] == states[index])]
    came_from = np.zeros((frames, len(states)), dtype=np.int64)
    for frame in range(1, frames):
        stay, step = score, np.concatenate([[-np.inf], score[:-1]])
        skip = np.concatenate([[-np.inf, -np.inf], score[:-2]])
        skip[no_skip] = -np.inf
        choices = np.stack([stay, step, skip])
        best = np.argmax(choices, axis=0)
        came_from[frame] = np.arange(len(states)) - best
        score = choices[best, np.arange(len(states))] + logs[frame]
    state = len(states) - 1 if score[-1] >= score[-2] else len(states) - 2
    path = [state]
    for frame in range(frames - 1, 0, -1):
        state = int(came_from[frame, state])
        path.append(state)
    path.reverse()
    spans = []
    for index in range(len(labels)):
        on = [frame for frame, state in enumerate(path) if state == 2 * index + 1]
        spans.append((on[0], on[-1]))
    return spans


def best_path_text(probabilities: np.ndarray) -> str:
    """Only the digit string of best_path."""
    return "".join(str(digit.digit) for digit in best_path(probabilities))
