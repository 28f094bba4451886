"""Scoring a reader's answers on the held-out numbers: exact numbers, digits, and each error's kind.

Usage:

    error_kind("406", "4006")        # "split": more digits than written
    error_kind("406", "46")          # "merge": fewer
    error_kind("406", "408")         # "misread": as many, but wrong
    error_kind("406", "")            # "reject": nothing read
    aligned_matches("406", "4006")   # 3: digits right in the best alignment (fewest edits)
    summary = score([("406", "4006", "406"), ...])   # (truth, prediction, seen) per number

`seen` is what the reader found whatever its confidence (the digits behind a
refusal): a refusal whose seen digits were right is a *false reject*, one of the
errors the next reader must not make.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

KINDS = ("right", "split", "merge", "misread", "reject")
ERRORS = KINDS[1:]


def error_kind(truth: str, prediction: str) -> str:
    if prediction == truth:
        return "right"
    if prediction == "":
        return "reject"
    if len(prediction) > len(truth):
        return "split"
    if len(prediction) < len(truth):
        return "merge"
    return "misread"


def aligned_matches(truth: str, prediction: str) -> int:
    """Digits of `truth` read right in a minimum-edit alignment with `prediction` (most matches among ties)."""
    # Each cell: (edits, -matches) of the best alignment of the prefixes; tuples compare edits first.
    previous = [(j, 0) for j in range(len(prediction) + 1)]
    for i in range(1, len(truth) + 1):
        current = [(i, 0)]
        for j in range(1, len(prediction) + 1):
            same = truth[i - 1] == prediction[j - 1]
            diagonal = previous[j - 1]
            current.append(min(
                (diagonal[0] + (0 if same else 1), diagonal[1] - (1 if same else 0)),
                (previous[j][0] + 1, previous[j][1]),
                (current[j - 1][0] + 1, current[j - 1][1]),
            ))
        previous = current
    return -previous[-1][1]


@dataclass
class Summary:
    """A reader's figures on a set of numbers."""

    numbers: int = 0
    digits: int = 0
    kinds: Counter = field(default_factory=Counter)
    seen_behind_rejects: Counter = field(default_factory=Counter)  # right (a false reject), split, merge, misread
    count_matched_numbers: int = 0
    count_matched_digits: int = 0
    count_matched_right: int = 0
    aligned_right: int = 0

    def share(self, kind: str) -> float:
        return self.kinds[kind] / self.numbers if self.numbers else 0.0

    @property
    def exact(self) -> float:
        return self.share("right")

    @property
    def digit_accuracy_count_matched(self) -> float:
        return self.count_matched_right / self.count_matched_digits if self.count_matched_digits else 0.0

    @property
    def digit_accuracy_aligned(self) -> float:
        return self.aligned_right / self.digits if self.digits else 0.0


def score(readings: list[tuple[str, str, str]]) -> Summary:
    """(truth, prediction, seen) per number → the Summary."""
    summary = Summary()
    for truth, prediction, seen in readings:
        kind = error_kind(truth, prediction)
        summary.numbers += 1
        summary.digits += len(truth)
        summary.kinds[kind] += 1
        if kind == "reject":
            summary.seen_behind_rejects["nothing" if seen == "" else error_kind(truth, seen)] += 1
        if prediction and len(prediction) == len(truth):
            summary.count_matched_numbers += 1
            summary.count_matched_digits += len(truth)
            summary.count_matched_right += sum(a == b for a, b in zip(truth, prediction))
        summary.aligned_right += aligned_matches(truth, prediction)
    return summary
