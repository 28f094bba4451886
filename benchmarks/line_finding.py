"""How often the vision pipeline finds the line of digits in a photo, and why it misses: validation photos only.

Usage:

    .venv/bin/python benchmarks/line_finding.py                        # writes benchmarks/RESULTS-line-finding.md
    .venv/bin/python benchmarks/line_finding.py --compare b10690e~1     # the same photos, also read by that commit
    .venv/bin/python benchmarks/line_finding.py --photos 300 --no-write

The line reader reads the strip the pipeline cuts (digitlab.vision.line); a
strip that misses a digit, or that holds a shadow's edge instead of the
number, cannot be read right whatever the model. Photos: the line reader's
generator (digitlab.synth.strips) with MNIST's validation digits (training
images 54,000–59,999), numbers only, seeds far past those of the validation
strips and of benchmarks/readers_validation.py. A photo's line is found when
its strip holds the number's ink and not much else (found_the_line, the test
the training strips pass). Blank sheets under a hard shadow (the same
generator's paper and light, nothing written) should give no line at all; a
line found there is a shadow read as ink. `--compare REV` reads the same
photos with the vision code of a git revision (a temporary worktree), in the
same run. Each photo is also read as `digitlab predict` reads it (`auto`,
the installed models), so a change to the pipeline is judged by the numbers
it reads, not only by the lines it finds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from common import ROOT, ensure_data, finish, machine_line

FIRST_SEED = 20_200_000  # digitlab.synth.strip_data.SPLIT_SEEDS["validation"] + 200,000
BLANK_SEED = 30_000_000  # blank sheets: seeds of their own
CHUNK = 100
REASONS = ("found", "no digit found", "cuts the number short", "mostly other ink", "too tall or off the line")


def _reason(found_box, ink_box) -> str:
    from digitlab.synth.strip_data import MIN_INK_COVERED, MIN_STRIP_INK, found_the_line

    if found_the_line(found_box, ink_box):
        return "found"
    shared = min(found_box[2], ink_box[2]) - max(found_box[0], ink_box[0])
    if shared < MIN_INK_COVERED * (ink_box[2] - ink_box[0]) and shared > 0:
        return "cuts the number short"
    if shared < MIN_STRIP_INK * (found_box[2] - found_box[0]):
        return "mostly other ink"
    return "too tall or off the line"


def _chunk(seeds: list[int]) -> list[tuple[int, str, str, float, str]]:
    """(seed, number, reason, CPU ms of analyze, what `auto` read) per photo."""
    from digitlab.recognize import Recognizer
    from digitlab.synth.strip_data import validation_digit_source
    from digitlab.synth.strips import render_number_photo
    from digitlab.vision import ImageError, analyze

    digits = validation_digit_source()
    recognizer = Recognizer(threads=1)
    rows = []
    for seed in seeds:
        photo, ink_box = render_number_photo(seed, digits, text=None)
        started = time.process_time()
        try:
            analysis = analyze(photo.jpeg)
        except ImageError:
            analysis = None
        cpu_ms = 1000 * (time.process_time() - started)
        read = "" if analysis is None else recognizer.read_analyses([analysis])[0].prediction
        if analysis is None or analysis.line is None:
            rows.append((seed, photo.text, "no digit found", cpu_ms, read))
            continue
        reason = _reason(analysis.strip_box(0, analysis.line.width), ink_box)
        rows.append((seed, photo.text, reason, cpu_ms, read))
    return rows


def shadowed_blank(seed: int) -> bytes:
    """A JPEG of a blank sheet under a hard shadow (the training generator's paper, light, shadow and JPEG)."""
    from digitlab.synth.photos import as_jpeg, compose_photo
    from digitlab.synth.strips import hard_shadow
    from PIL import Image

    rng = np.random.default_rng(seed)
    height = int(rng.integers(20, 80))
    nothing = np.zeros((2 * height, int(height * rng.uniform(3, 8))), np.float32)
    side = min(800, nothing.shape[1] * rng.uniform(1.2, 4.0))
    photo = compose_photo(nothing, rng, (int(side), int(side * rng.uniform(0.3, 0.8))))
    shadowed = hard_shadow(np.asarray(photo, dtype=np.float32) / 255.0, rng)
    return as_jpeg(Image.fromarray((np.clip(shadowed, 0, 1) * 255).astype(np.uint8)), rng)[1]


def write_blanks(folder: Path, count: int) -> list[Path]:
    """BLANK_SEED onwards: `count` shadowed_blank sheets, as files."""
    paths = []
    for seed in range(BLANK_SEED, BLANK_SEED + count):
        paths.append(folder / f"blank-{seed}.jpg")
        paths[-1].write_bytes(shadowed_blank(seed))
    return paths


def _blank_lines(paths: list[str]) -> list[tuple[bool, bool]]:
    from digitlab.recognize import Recognizer
    from digitlab.vision import ImageError, analyze

    recognizer = Recognizer(threads=1)
    found = []
    for path in paths:
        try:
            analysis = analyze(path)
        except ImageError:
            found.append((False, False))
            continue
        found.append((analysis.line is not None, bool(recognizer.read_analyses([analysis])[0].prediction)))
    return found


def blank_lines(paths: list[Path]) -> list[tuple[bool, bool]]:
    """For each blank sheet, whether the pipeline finds a line of digits in it, and whether `auto` reads a
    number in it (neither should happen)."""
    names = [str(path) for path in paths]
    with ProcessPoolExecutor(max_workers=2) as pool:
        return [found for chunk in pool.map(_blank_lines, [names[i:i + CHUNK] for i in range(0, len(names), CHUNK)])
                for found in chunk]


def measure(photos: int, first_seed: int) -> list[tuple[int, str, str, float, str]]:
    seeds = list(range(first_seed, first_seed + photos))
    with ProcessPoolExecutor(max_workers=2) as pool:
        return [row for rows in pool.map(_chunk, [seeds[i:i + CHUNK] for i in range(0, len(seeds), CHUNK)])
                for row in rows]


def measure_at(revision: str, photos: int, first_seed: int, blanks: Path
               ) -> tuple[list[tuple[int, str, str, float, str]], list[tuple[bool, bool]]]:
    """measure() and blank_lines() with the digitlab code of a git revision, in a child process on a worktree."""
    with tempfile.TemporaryDirectory() as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), revision],
                       check=True)
        try:
            environment = {"PYTHONPATH": str(tree / "src")}
            output = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--json", "--photos", str(photos),
                 "--first-seed", str(first_seed), "--blanks-from", str(blanks)], check=True, capture_output=True,
                text=True,
                env={**os.environ, **environment}).stdout
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    measured = json.loads(output)
    return [tuple(row) for row in measured["photos"]], measured["blanks"]


def _table(columns: dict[str, list[list[tuple[int, str, str, float, str]]]],
           blanks: dict[str, list[tuple[bool, bool]]]) -> list[str]:
    """Reasons from each column's first round; CPU time per photo as the median over all its rounds."""
    names = list(columns)
    lines = ["| | " + " | ".join(f"`{name}`" for name in names) + " |", "|---|" + "---:|" * len(names)]
    for reason in REASONS:
        cells = []
        for name in names:
            counts = Counter(row[2] for row in columns[name][0])
            total = len(columns[name][0])
            cells.append(f"{counts[reason] / total:.1%} ({counts[reason]})")
        label = "**line found**" if reason == "found" else f"missed: {reason}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| **numbers read exactly** (`auto`, the installed models) | " + " | ".join(
        f"{np.mean([row[1] == row[4] for row in columns[name][0]]):.2%}" for name in names) + " |")
    for index, what in enumerate(("a line found", "a number read (`auto`)")):
        lines.append(f"| blank sheets under a hard shadow: {what} (should be none) | " + " | ".join(
            f"{np.mean([row[index] for row in blanks[name]]):.1%} ({sum(row[index] for row in blanks[name])})"
            for name in names) + " |")
    medians = [float(np.median([row[3] for rows in columns[name] for row in rows])) for name in names]
    lines.append("| CPU ms per photo (`vision.analyze`, median) | " + " | ".join(f"{m:.1f}" for m in medians) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=1200)
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    parser.add_argument("--compare", metavar="REV", help="also read the photos with this git revision's code")
    parser.add_argument("--rounds", type=int, default=1, help="with --compare: rounds, the two alternating")
    parser.add_argument("--blanks", type=int, default=400, help="blank sheets under a hard shadow (400)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # for --compare's child
    parser.add_argument("--blanks-from", type=Path, help=argparse.SUPPRESS)  # the child reads the parent's files
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-line-finding.md")
    args = parser.parse_args(argv)
    ensure_data()
    if args.json:
        blanks = sorted(args.blanks_from.glob("blank-*.jpg"))
        print(json.dumps({"photos": measure(args.photos, args.first_seed), "blanks": blank_lines(blanks)}))
        return 0
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    this = f"{head} (this code)"
    columns: dict[str, list] = {args.compare: [], this: []} if args.compare else {this: []}
    blanks: dict[str, list[tuple[bool, bool]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        blank_files = write_blanks(Path(folder), args.blanks)
        for round_number in range(args.rounds if args.compare else 1):
            # Alternating which goes first, so a slow spell of a shared machine hits both alike.
            order = list(columns) if round_number % 2 == 0 else list(columns)[::-1]
            for name in order:
                if name == this:
                    columns[name].append(measure(args.photos, args.first_seed))
                    blanks.setdefault(name, blank_lines(blank_files))
                else:
                    rows, found = measure_at(args.compare, args.photos, args.first_seed, Path(folder))
                    columns[name].append(rows)
                    blanks.setdefault(name, found)
    command = " ".join(["python benchmarks/line_finding.py"] + (argv if argv is not None else sys.argv[1:]))
    lines = [
        "# Finding the line of digits in validation photos",
        "",
        f"- {machine_line()}",
        f"- Command: `{command}`",
        f"- Photos: {args.photos:,} numbers of 1–8 digits from digitlab.synth.strips with MNIST validation digits "
        f"(seeds {args.first_seed:,}…{args.first_seed + args.photos - 1:,}); a line is found when its strip holds "
        "the number's ink and not much else (digitlab.synth.strip_data.found_the_line). CPU time: two worker "
        "processes, each photo's `vision.analyze` (decoding included, the reading not), "
        + (f"{args.rounds} rounds, the revisions alternating. " if args.compare else "one round. ")
        + "Read exactly: what `digitlab predict` gives (`auto`, the installed models, each revision's code) "
        "is the number.",
        f"- Blank sheets: {args.blanks} photos of nothing written (seeds {BLANK_SEED:,}…), the training "
        "generator's paper, light and JPEG with a hard shadow across (digitlab.synth.strips.hard_shadow).",
        "",
        *_table(columns, blanks),
    ]
    return finish(lines, args.out, args.no_write)


if __name__ == "__main__":
    sys.exit(main())
