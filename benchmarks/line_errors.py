"""Where line readers go wrong on validation photos: errors by kind, and by how the digits were spaced.

Usage:

    .venv/bin/python benchmarks/line_errors.py models/line-reader/model.onnx      # RESULTS-line-errors.md
    .venv/bin/python benchmarks/line_errors.py models/line-reader/model.onnx runs/<time>-line-reader
    .venv/bin/python benchmarks/line_errors.py --photos 1000 --no-write models/line-reader/model.onnx

The photos are the validation strips' own (digitlab.synth.strip_data: the
line reader's generator with MNIST's validation digits, training images
54,000-59,999, the same seeds), numbers only; the strip is what today's
pipeline cuts, and a photo whose line it misses is left out, as in training.
Each candidate (a model.onnx or model.keras, or a line-reader run dir) reads
every strip by best path, as `digitlab predict` does (the frame scores averaged
over the strip's row shifts, LineReader.ROW_SHIFTS). A reading with fewer digits than the number is a
merge, with more a split, with as many but some wrong a misread; the table
splits them by the number's spacing style (digitlab.synth.strips.SPACING,
overlapping to wide), and gives the digits right among the readings of the
right length. Validation data only: held-out numbers never choose anything.
"""

from __future__ import annotations

import argparse
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from common import ensure_data, finish, machine_line
from line_readers import describe, model_file, shifts_text

from digitlab.synth.strip_data import REFUSE_EVERY, SPLIT_SEEDS
from digitlab.synth.strips import SPACING

VALIDATION_PHOTOS = 4_000
CHUNK = 200
KINDS = ("exact", "merge", "split", "misread")


def _strips(seeds: range) -> list[tuple[np.ndarray, str, str]]:
    """(strip, number, spacing style) of each number photo among `seeds` whose line the pipeline finds."""
    from digitlab.synth.strip_data import photo_strip, validation_digit_source
    from digitlab.synth.strips import render_number_photo

    digits = validation_digit_source()
    made = []
    for seed in seeds:
        if seed % REFUSE_EVERY == REFUSE_EVERY - 1:  # the validation strips' things to refuse
            continue
        photo, ink_box = render_number_photo(seed, digits)
        pixels = photo_strip(photo, ink_box)
        if pixels is not None:
            made.append((pixels, photo.text, photo.spacing))
    return made


def kind(reading: str, number: str) -> str:
    if reading == number:
        return "exact"
    if len(reading) != len(number):
        return "merge" if len(reading) < len(number) else "split"
    return "misread"


def _table(readings: list[str], strips: list[tuple[np.ndarray, str, str]]) -> list[str]:
    rows = ["| spacing | numbers | exact | merge | split | misread | digits right (right length) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for style in (*SPACING, "all"):
        chosen = [(reading, number) for reading, (_, number, spacing) in zip(readings, strips)
                  if style in ("all", spacing)]
        counts = Counter(kind(reading, number) for reading, number in chosen)
        same_length = [(reading, number) for reading, number in chosen if len(reading) == len(number)]
        digits = sum(len(number) for _, number in same_length)
        right = sum(a == b for reading, number in same_length for a, b in zip(reading, number))
        cells = " | ".join(f"{counts[name] / len(chosen):.1%}" for name in KINDS)
        label = f"**{style}**" if style == "all" else style
        rows.append(f"| {label} | {len(chosen):,} | {cells} | {right / max(digits, 1):.2%} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidates", nargs="+", type=Path, help="model files or line-reader run dirs")
    parser.add_argument("--photos", type=int, default=VALIDATION_PHOTOS, help="validation photos (default 4000)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "RESULTS-line-errors.md")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    args = parser.parse_args()
    ensure_data()
    from digitlab.recognize.ctc import decode_text
    from digitlab.recognize.line_reader import ROW_SHIFTS, LineReader

    first = SPLIT_SEEDS["validation"]
    chunks = [range(start, min(start + CHUNK, first + args.photos)) for start in range(first, first + args.photos, CHUNK)]
    with ProcessPoolExecutor(2) as pool:
        strips = [item for chunk in pool.map(_strips, chunks) for item in chunk]
    lines = [
        "# Line-reader errors on validation photos, by kind and by spacing",
        "",
        f"- {machine_line()}",
        f"- Command: `python benchmarks/line_errors.py {' '.join(str(candidate) for candidate in args.candidates)}`",
        f"- Data: the {len(strips):,} numbers among the first {args.photos:,} validation-strip photos (seeds "
        f"{first:,}…) whose line today's pipeline finds; MNIST validation digits only.",
        f"- Each strip read as `digitlab predict` reads it (frame scores averaged over the row shifts "
        f"{shifts_text(ROW_SHIFTS)}, then the card's temperature and CTC prefix beam search).",
        "- Merge: fewer digits read than written; split: more; misread: as many, some wrong. "
        "The last column counts digits among readings of the right length.",
    ]
    for candidate in args.candidates:
        reader = LineReader(model_file(candidate))
        readings = [decode_text(reader.frames(pixels)) for pixels, _, _ in strips]
        lines += ["", f"## `{candidate}`", "", describe(candidate), "", *_table(readings, strips)]
        print("\n".join(lines[-(len(SPACING) + 3):]), flush=True)
    return finish(lines, args.out, args.no_write)


if __name__ == "__main__":
    raise SystemExit(main())
