"""Choose how `auto` reads: the segments reader, the line reader and ways to combine them, on validation data only.

Usage:

    .venv/bin/python benchmarks/readers_validation.py              # writes benchmarks/RESULTS-readers-validation.md
    .venv/bin/python benchmarks/readers_validation.py --photos 300 --scans 200 --no-write

Validation data, never the held-out numbers or a test seed: photos made by the
line reader's training generator (digitlab.synth.strips) with MNIST's
validation digits (training images 54,000–59,999) and no font, every sixth one
something to refuse (letters, a word, a scribble); and MNIST validation digits
as low-resolution scans (digitlab.synth.render_low_resolution), the kind of
image the line reader reads worst. Each image is analysed once and read by
both readers; the rules below combine the two readings. The rule with no
loss against `segments` (the reader before the line reader) on any kind, and
the most numbers read, is the one `auto` uses
(digitlab.recognize.recognizer.combined_reading).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from common import ROOT, ensure_data, machine_line, write_results

from digitlab.data import load_mnist, validation_start
from digitlab.recognize import Recognizer
from digitlab.recognize.recognizer import combined_reading
from digitlab.synth import render_low_resolution
from digitlab.synth.strip_data import SPLIT_SEEDS, validation_digit_source
from digitlab.synth.strips import render_number_photo
from digitlab.vision import analyze

# Far past the validation strips the line reader's calibration used (SPLIT_SEEDS["validation"] onwards).
FIRST_SEED = SPLIT_SEEDS["validation"] + 100_000
KINDS = ("number", "single", "scan", "refuse")


def _more_confident(by_segments, by_line):
    if by_line.prediction and (not by_segments.prediction or by_line.confidence >= by_segments.confidence):
        return by_line
    return by_segments


def _lone_digit_when_both_see_one(by_segments, by_line):
    if len(by_segments.digits) == 1 and by_segments.prediction and len(by_line.digits) == 1:
        return by_segments
    return by_line


RULES = {
    "segments": lambda by_segments, by_line: by_segments,
    "line": lambda by_segments, by_line: by_line,
    "the more confident": _more_confident,
    "line; a lone digit by the classifier when the line reader sees one": _lone_digit_when_both_see_one,
    "line; a lone digit by the classifier when the line reader sees at most one (auto)": combined_reading,
}


def validation_items(photos: int, scans: int) -> list[tuple[str, str, object]]:
    """(kind, truth, analysis) for the validation photos and scans."""
    items = []
    digits = validation_digit_source()
    for seed in range(FIRST_SEED, FIRST_SEED + photos):
        photo, _ = render_number_photo(seed, digits, text="" if seed % 6 == 5 else None)
        kind = "refuse" if not photo.text else ("single" if len(photo.text) == 1 else "number")
        items.append((kind, photo.text, analyze(photo.jpeg)))
    (images, labels), _ = load_mnist()
    start = validation_start(len(images))
    rng = np.random.default_rng(5)
    for index in range(start, start + scans):
        items.append(("scan", str(labels[index]), analyze(render_low_resolution(images[index], rng))))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=600, help="validation photos (default 600)")
    parser.add_argument("--scans", type=int, default=400, help="validation digits as low-resolution scans (400)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    args = parser.parse_args()
    ensure_data()
    items = validation_items(args.photos, args.scans)
    analyses = [analysis for _, _, analysis in items]
    by_segments = Recognizer(reader="segments").read_analyses(analyses)
    by_line = Recognizer(reader="line").read_analyses(analyses)
    counts = {kind: sum(item[0] == kind for item in items) for kind in KINDS}
    lines = [
        "# Readers on validation data: segments, line, and ways to combine them",
        "",
        f"- Date, machine: {machine_line()}",
        f"- Command: `{' '.join(['python', 'benchmarks/readers_validation.py', *sys.argv[1:]])}`",
        f"- Data: {args.photos} photos from the line reader's generator with MNIST validation digits "
        f"(seeds {FIRST_SEED}…; {counts['number']} numbers of 2–8 digits, {counts['single']} single digits, "
        f"{counts['refuse']} things to refuse) and {counts['scan']} MNIST validation digits as low-resolution scans.",
        "- Each cell: numbers, digits and scans read exactly right; things to refuse refused.",
        "",
        # The docs include the table (docs/reading-images.md) between these markers (pymdownx.snippets sections).
        "<!-- --8<-- [start:table] -->",
        "| rule | numbers | single digits | scans | refused |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rule in RULES.items():
        cells = []
        for kind in KINDS:
            chosen = [(truth, rule(segments, line)) for (item_kind, truth, _), segments, line
                      in zip(items, by_segments, by_line) if item_kind == kind]
            share = np.mean([(reading.prediction == "" if kind == "refuse" else reading.prediction == truth)
                             for truth, reading in chosen]) if chosen else float("nan")
            cells.append(f"{share:.1%}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("<!-- --8<-- [end:table] -->")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_results(ROOT / "benchmarks" / "RESULTS-readers-validation.md", lines)


if __name__ == "__main__":
    main()
