"""The held-out numbers benchmark: a deterministic generator drawing only MNIST test digits, and right scoring.

The generator lives in benchmarks/heldout (outside the package: it must share no
code with digitlab.synth, whose images train the readers it measures), the
benchmark in benchmarks/heldout_numbers.py.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # the benchmarks import their siblings (common, heldout) by name
try:
    import heldout_numbers
    from heldout import REJECT_KINDS, load_test_digits, plan, render
    from heldout.rejects import handwriting_fonts, photo_paths
    from heldout.scoring import aligned_matches, error_kind, score
finally:
    sys.path.remove(str(BENCHMARKS))

SEED = 2027


@pytest.fixture(scope="module")
def mnist_test():
    return load_test_digits()


class RecordingImages:
    """The test images, noting which ones the generator looks at."""

    def __init__(self, images: np.ndarray):
        self.images, self.seen = images, set()

    def __getitem__(self, index):
        self.seen.add(int(index))
        return self.images[index]


def test_the_plan_draws_only_mnist_test_digits_and_records_them(mnist_test):
    from digitlab.data import load_mnist

    (_, _), (x_test, y_test) = load_mnist()
    images, labels = mnist_test
    assert np.array_equal(images, x_test) and np.array_equal(labels, y_test) and len(labels) == 10_000
    items = plan(1000, 2, SEED, labels)
    numbers = [item for item in items if item.kind == "number"]
    assert len(numbers) == 1000 and len(items) == 1000 + 2 * len(REJECT_KINDS)
    used = [index for item in numbers for index in item.mnist_test_indices]
    assert all(0 <= index < 10_000 for index in used)
    assert len(set(used)) == len(used), "a test digit is used twice in one set"
    assert all(item.text == "".join(str(labels[i]) for i in item.mnist_test_indices) for item in numbers)
    assert {len(item.text) for item in numbers} == set(range(1, 9))
    assert all(item.text == "" and not item.mnist_test_indices for item in items if item.kind != "number")
    assert plan(1000, 2, SEED, labels) == items
    assert plan(100, 0, SEED, labels) == numbers[:100], "a smaller set is the start of the larger one"


def test_a_number_is_drawn_from_its_recorded_test_digits_and_nothing_else(mnist_test):
    images, labels = mnist_test
    item = next(item for item in plan(50, 0, SEED, labels) if len(item.text) == 3)
    recording = RecordingImages(images)
    render(item, recording, SEED)
    assert recording.seen == set(item.mnist_test_indices)


def test_the_same_seed_gives_the_same_photos(mnist_test):
    images, labels = mnist_test
    items = [item for item in plan(30, 0, SEED, labels) if len(item.text) <= 2][:2]
    first = [render(item, images, SEED) for item in items]
    assert [render(item, images, SEED) for item in items] == first
    other = [render(item, images, SEED + 1)[0] for item in items]
    assert all(a[0] != b for a, b in zip(first, other))
    for data, notes in first:
        photo = Image.open(io.BytesIO(data))
        assert photo.format == "JPEG" and list(photo.size) == notes["size"]
        assert notes["spacing"] in ("touching", "tight", "normal", "wide")


def test_every_kind_to_refuse_renders(mnist_test):
    try:
        handwriting_fonts()
        photo_paths()
    except SystemExit as missing:  # the one sentence saying what to install
        pytest.skip(str(missing))
    images, labels = mnist_test
    items = plan(0, 1, SEED, labels)
    assert [item.kind for item in items] == list(REJECT_KINDS)
    for item in items:
        data, _ = render(item, images, SEED)
        assert Image.open(io.BytesIO(data)).format == "JPEG"


@pytest.mark.parametrize("truth, prediction, kind, aligned", [
    ("406", "406", "right", 3),
    ("406", "4006", "split", 3),  # a 0 with a gap read as two digits
    ("406", "46", "merge", 2),  # two digits read as one
    ("406", "408", "misread", 2),
    ("406", "", "reject", 0),
    ("12345", "2345", "merge", 4),
    ("7", "11", "split", 0),
    ("11", "1111", "split", 2),
])
def test_error_kinds_on_hand_made_cases(truth, prediction, kind, aligned):
    assert error_kind(truth, prediction) == kind
    assert aligned_matches(truth, prediction) == aligned


def test_the_summary_counts_digits_and_false_rejects():
    summary = score([("406", "406", "406"), ("406", "4006", "4006"), ("406", "408", "408"),
                     ("406", "", "406"), ("25", "", "255"), ("25", "", "")])
    assert summary.numbers == 6 and summary.digits == 16
    assert summary.kinds == {"right": 1, "split": 1, "misread": 1, "reject": 3}
    assert summary.seen_behind_rejects == {"right": 1, "split": 1, "nothing": 1}  # one false reject
    assert summary.count_matched_numbers == 2 and summary.digit_accuracy_count_matched == 5 / 6
    assert summary.digit_accuracy_aligned == (3 + 3 + 2) / 16


def test_the_report_puts_each_reader_in_its_own_column():
    def record(file, kind, text, cuts=()):
        return {"file": file, "kind": kind, "text": text, "spacing": "normal", "paper": "white", "pen": "ballpoint",
                "cuts": list(cuts) or ["none"] * len(text), "camera": []}

    records = [record("a.jpg", "number", "406", ["open-loop", "none", "none"]), record("b.jpg", "number", "12345"),
               record("c.jpg", "number", "7"), record("d.jpg", "number", "25"),
               record("e.jpg", "blank", ""), record("f.jpg", "cat", "")]
    Reading = heldout_numbers.Reading
    readings = {
        "today": [Reading("4006", "4006"), Reading("12345", "12345"), Reading("", "1"), Reading("2", "2"),
                  Reading("", ""), Reading("8", "8")],
        "next": [Reading("406", "406"), Reading("12345", "12345"), Reading("7", "7"), Reading("25", "25"),
                 Reading("", ""), Reading("", "")],
    }
    facts = {"command": "python benchmarks/heldout_numbers.py", "seed": SEED, "generate_seconds": 1.0,
             "read_seconds": {"today": 1.0, "next": 1.0}, "latency_images": 1, "total_seconds": 3.0}
    lines = heldout_numbers.report(records, readings, {"today": (1, 2, 1), "next": (2, 3, 2)},
                                   {"today": "today's reader", "next": "a new reader"}, facts)
    text = "\n".join(lines)
    assert "|  | today | next |" in text
    assert "| exact numbers | **25.0%** | **100.0%** |" in text
    for kind, cells in (("split", "25.0% (1) | 0.0% (0)"), ("merge", "25.0% (1) | 0.0% (0)"),
                        ("misread", "0.0% (0) | 0.0% (0)"), ("reject", "25.0% (1) | 0.0% (0)")):
        assert f"| {kind} | {cells} |" in text
    assert "| strokes: an open loop in a 0, 4 or 6 | 1 | 0.0% · 1 / 0 / 0 / 0 | 100.0% · 0 / 0 / 0 / 0 |" in text
    assert "| cat | 1 | 0.0% | 100.0% |" in text and "| blank | 1 | 100.0% | 100.0% |" in text
    assert "`a.jpg` → `4006`" in text and "`f.jpg` → `8`" in text
