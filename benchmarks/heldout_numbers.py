"""Read held-out photos of whole numbers (MNIST test digits, our own paper and camera), reader beside reader.

Usage:

    .venv/bin/python benchmarks/heldout_numbers.py                  # writes benchmarks/RESULTS-numbers.md
    .venv/bin/python benchmarks/heldout_numbers.py --numbers 200 --rejects-per-kind 10 --no-write
    .venv/bin/python benchmarks/heldout_numbers.py --write DIR      # only make the images (and DIR/truth.jsonl)
    .venv/bin/python benchmarks/heldout_numbers.py --images DIR     # read a set made with --write
    .venv/bin/python benchmarks/heldout_numbers.py --sheet docs/heldout-numbers.png   # a contact sheet

The set (benchmarks/heldout, deterministic from --seed): --numbers photos of
numbers of 1–8 digits written with MNIST *test* digits, and --rejects-per-kind
photos of each thing a reader must refuse (blank, ruled and shadowed paper, real
photos, a cat, letters, words, scribbles); a smaller --numbers gives the first
numbers of the full set, for a quick look. It is held out: nothing is trained,
tuned or chosen on it. Each reader in READERS reads every file the way
`digitlab predict` does (Recognizer.read_many, 32 files a call), and the report
gives, per reader: exact numbers, digits right, rejects and errors by kind
(split: more digits than written; merge: fewer; misread: as many, wrong;
reject: nothing read), by length and by how the number was written, the
rejection rate of each reject kind, and the latency of one 5-digit photo.

To compare a new reader, add one line to READERS (a Recognizer option, or any
callable that takes paths and returns Readings); every table gains its column.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import ROOT, ensure_data, machine_line, write_results
from heldout import REJECT_KINDS, TRUTH_FILE, contact_sheet, load_test_digits, plan, render, write_set
from heldout.scoring import ERRORS, Summary, error_kind, score

from digitlab.recognize import ImageError, Recognizer

BATCH_SIZE = 32  # as `digitlab predict` reads a folder (cli/predict_output.py)
LATENCY_IMAGES, LATENCY_ROUNDS = 20, 3
EXAMPLES = 6


@dataclass
class Reading:
    prediction: str  # the reader's answer, "" when it refuses
    seen: str  # the digits it found whatever their confidence, "" when none


class RecognizerReader:
    """digitlab's Recognizer reading files as `digitlab predict` does; options go to Recognizer()."""

    def __init__(self, **options):
        self.recognizer = Recognizer(**options)
        self.options = options

    def describe(self) -> str:
        info = self.recognizer.info
        extra = "".join(f", {key}={value!r}" for key, value in self.options.items())
        recognizer = self.recognizer
        thresholds = {"segments": f"reject below {recognizer.segments_reject_below}",
                      "line": f"line reader, reject below {recognizer.line_reject_below}",
                      "auto": f"line reader (reject below {recognizer.line_reject_below}) and the model for a lone "
                              f"digit (reject below {recognizer.segments_reject_below})"}[recognizer.reader]
        return f"Recognizer({extra.lstrip(', ')}): model `{info['name']}` on {info['runtime']}, {thresholds}"

    def __call__(self, paths: list[Path]) -> list[Reading]:
        readings = []
        for start in range(0, len(paths), BATCH_SIZE):
            for result in self.recognizer.read_many(paths[start:start + BATCH_SIZE]):
                if isinstance(result, ImageError):
                    readings.append(Reading("", ""))
                else:
                    readings.append(Reading(result.prediction, "".join(str(d.digit) for d in result.digits)))
        return readings


# One line per reader; each becomes a column of every table.
READERS = {
    # The reader before the line reader: segmentation, then the default model on each digit.
    "segments": lambda: RecognizerReader(reader="segments"),
    # The line reader: the whole number at once (CTC), recognition deciding where the digits are.
    "line": lambda: RecognizerReader(reader="line"),
    # `digitlab predict` as shipped: the line reader, a lone digit read by the classifier.
    "auto": lambda: RecognizerReader(),
}


def _share(count: int, total: int) -> str:
    return f"{count / total:.1%}" if total else "–"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


CUT_NAMES = {"gap": "a small gap", "open-loop": "an open loop", "pieces": "a digit in broken pieces"}
EASY = "easy: whole strokes, normal or wide spacing, no shadow, no desk"
GROUPS = ([EASY] + [f"length {n}" for n in "12345"] + ["length 6–8"]
          + [f"spacing: {s}" for s in ("touching", "tight", "normal", "wide")]
          + ["strokes: whole", "strokes: a small gap", "strokes: an open loop", "strokes: an open loop in a 0, 4 or 6",
             "strokes: a digit in broken pieces", "paper: plain", "paper: ruled or squared",
             "paper: on a desk, its edges in view", "pen: pencil",
             "camera: shadow", "camera: out of focus", "camera: motion blur"])


def number_groups(records: list[dict]) -> dict[str, list[int]]:
    """Which numbers (positions in records) each row of the 'how it was written' table covers."""
    groups: dict[str, list[int]] = defaultdict(list)
    for position, record in enumerate(records):
        length = len(record["text"])
        groups["length " + (str(length) if length <= 5 else "6–8")].append(position)
        groups[f"spacing: {record['spacing']}"].append(position)
        cuts = set(record["cuts"]) - {"none"}
        if not cuts:
            groups["strokes: whole"].append(position)
        for cut in cuts:
            groups[f"strokes: {CUT_NAMES[cut]}"].append(position)
        if any(c == "open-loop" and d in "046" for c, d in zip(record["cuts"], record["text"])):
            groups["strokes: an open loop in a 0, 4 or 6"].append(position)
        plain = record["paper"].replace(" on a desk", "") not in ("ruled", "squared")
        groups["paper: plain" if plain else "paper: ruled or squared"].append(position)
        if record["paper"].endswith(" on a desk"):
            groups["paper: on a desk, its edges in view"].append(position)
        if record["pen"] == "pencil":
            groups["pen: pencil"].append(position)
        for note in record["camera"]:
            groups[f"camera: {note}"].append(position)
        if not cuts and record["spacing"] in ("normal", "wide") and "shadow" not in record["camera"] \
                and not record["paper"].endswith(" on a desk"):
            groups[EASY].append(position)
    return {key: groups[key] for key in GROUPS if groups.get(key)}


def latency(readers: dict, paths: list[Path]) -> dict[str, tuple[float, float, float]]:
    """Per reader: median and p90 wall ms, median CPU ms of reading one photo; readers alternate per photo."""
    for name, reader in readers.items():
        reader(paths)  # warm-up: sessions, caches
    wall, cpu = defaultdict(list), defaultdict(list)
    for _ in range(LATENCY_ROUNDS):
        for path in paths:
            for name, reader in readers.items():
                started_wall, started_cpu = time.perf_counter(), time.process_time()
                reader([path])
                wall[name].append((time.perf_counter() - started_wall) * 1e3)
                cpu[name].append((time.process_time() - started_cpu) * 1e3)
    return {name: (float(np.median(wall[name])), float(np.percentile(wall[name], 90)), float(np.median(cpu[name])))
            for name in readers}


def report(records: list[dict], readings: dict[str, list[Reading]], timings: dict, descriptions: dict,
           facts: dict) -> list[str]:
    names = list(readings)
    numbers = [i for i, r in enumerate(records) if r["kind"] == "number"]
    summaries: dict[str, Summary] = {
        name: score([(records[i]["text"], readings[name][i].prediction, readings[name][i].seen) for i in numbers])
        for name in names}
    lines = [
        "# Held-out numbers: photos of whole numbers written with MNIST test digits",
        "",
        f"- Date, machine: {machine_line()}",
        f"- Command: `{facts['command']}`",
        f"- Set: {len(numbers):,} numbers ({sum(len(records[i]['text']) for i in numbers):,} MNIST test digits) and "
        f"{len(records) - len(numbers):,} images to refuse, seed {facts['seed']}; made by `benchmarks/heldout/` "
        "(no code shared with `digitlab.synth`); `--write DIR` writes the same files with these names.",
        f"- Run time: {facts['total_seconds']:.0f} s in all"
        + (f", {facts['generate_seconds']:.0f} s of it making the set" if facts["generate_seconds"] else
           " (the set read from a folder made earlier with `--write`)") + ".",
        "- Held out: no model, threshold or default is chosen on this set.",
        *[f"- Reader **{name}**: {descriptions[name]}; read the set in {facts['read_seconds'][name]:.0f} s"
          for name in names],
        "",
        "## Numbers",
        "",
        "Exact: the whole number right. Digits right: per digit, on the numbers read with as many digits as "
        "written, and over all numbers by alignment (fewest edits; a refusal scores none). Split: more digits than "
        "written; merge: fewer; misread: as many, wrong; reject: nothing read. A false reject is a refusal whose "
        "digits, had they been given, were right.",
        "",
    ]
    rows = [["exact numbers", *[f"**{summaries[n].exact:.1%}**" for n in names]],
            ["digits right, numbers read with the right count",
             *[f"{summaries[n].digit_accuracy_count_matched:.2%} ({summaries[n].count_matched_numbers:,} numbers)"
               for n in names]],
            ["digits right, all numbers by alignment", *[f"{summaries[n].digit_accuracy_aligned:.2%}" for n in names]]]
    rows += [[kind, *[f"{summaries[n].share(kind):.1%} ({summaries[n].kinds[kind]})" for n in names]]
             for kind in ERRORS]
    rows.append(["false rejects (right digits, refused)",
                 *[f"{summaries[n].seen_behind_rejects['right']} of {summaries[n].kinds['reject']}" for n in names]])
    # The docs include this table (docs/reading-images.md) between these markers (pymdownx.snippets sections).
    lines += ["<!-- --8<-- [start:summary] -->", *_table(["", *names], rows), "<!-- --8<-- [end:summary] -->"]
    lines += ["", "### By length and by how the number was written", "",
              "Each cell: exact, then the errors as split / merge / misread / reject (counts).", ""]
    group_rows = []
    for group, positions in number_groups([records[i] for i in numbers]).items():
        cells = []
        for name in names:
            part = score([(records[numbers[p]]["text"], readings[name][numbers[p]].prediction,
                           readings[name][numbers[p]].seen) for p in positions])
            cells.append(f"{part.exact:.1%} · " + " / ".join(str(part.kinds[k]) for k in ERRORS))
        group_rows.append([group, f"{len(positions):,}", *cells])
    lines += _table(["numbers", "count", *names], group_rows)
    lines += ["", "## Images to refuse", "", "Refused: the reader answered nothing (\"\").", ""]
    reject_rows = []
    for kind in REJECT_KINDS + ("all",):
        positions = [i for i, r in enumerate(records) if r["kind"] != "number" and kind in ("all", r["kind"])]
        reject_rows.append([kind, f"{len(positions)}", *[_share(sum(readings[n][i].prediction == "" for i in positions),
                                                                 len(positions)) for n in names]])
    lines += _table(["kind", "images", *[f"refused, {n}" for n in names]], reject_rows)
    lines += ["", "## Latency of one 5-digit photo", "",
              f"The first {facts['latency_images']} five-digit photos of the set, each read alone through the reader "
              f"(as `digitlab predict photo.jpg` reads it, model loaded), {LATENCY_ROUNDS} rounds after a warm-up, "
              "readers alternating photo by photo. Wall time on a shared machine; CPU time for the work itself.", ""]
    lines += _table(["reader", "median", "p90", "median CPU"],
                    [[n, *[f"{value:.1f} ms" for value in timings[n]]] for n in names])
    lines += ["", f"## Examples ({names[0]})", "", "The first numbers of each kind of error, as `file → read`:", ""]
    for kind in ERRORS:
        found = [f"`{records[i]['file']}` → `{readings[names[0]][i].prediction or readings[names[0]][i].seen}`"
                 for i in numbers if error_kind(records[i]["text"], readings[names[0]][i].prediction) == kind]
        if kind == "reject":
            found = [f"{item} (seen)" for item in found]
        lines.append(f"- {kind}: " + (", ".join(found[:EXAMPLES]) if found else "none"))
    kept = [f"`{r['file']}` → `{readings[names[0]][i].prediction}`" for i, r in enumerate(records)
            if r["kind"] != "number" and readings[names[0]][i].prediction]
    lines.append("- not refused: " + (", ".join(kept[:EXAMPLES]) if kept else "none"))
    return lines + [""]


def load_written(folder: Path) -> list[dict]:
    truth = folder / TRUTH_FILE
    if not truth.is_file():
        raise SystemExit(f"{folder} has no {TRUTH_FILE}: make the set with --write {folder} first.")
    return [json.loads(line) for line in truth.read_text(encoding="utf-8").splitlines() if line.strip()]


def sheet(path: Path, seed: int, count: int = 32) -> None:
    """A contact sheet: the first numbers of each spacing, cut and length, then one of each reject kind."""
    images, labels = load_test_digits()
    items = plan(200, 1, seed, labels)
    tiles = []
    for item in items:
        if item.kind == "number" and len(tiles) < count - len(REJECT_KINDS):
            data, notes = render(item, images, seed)
            cuts = ", ".join(sorted(set(notes["cuts"]) - {"none"}))
            tiles.append((data, f"{item.text} · {notes['spacing']}" + (f" · {cuts}" if cuts else "")))
        elif item.kind != "number":
            tiles.append((render(item, images, seed)[0], item.kind))
    size = contact_sheet(path, tiles)
    print(f"{path}: {len(tiles)} images, {size / 1024:.0f} KB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1000, help="photos of numbers (default 1000)")
    parser.add_argument("--rejects-per-kind", type=int, default=40, help="photos of each reject kind (default 40)")
    parser.add_argument("--seed", type=int, default=2027, help="the set's seed (default 2027)")
    parser.add_argument("--readers", nargs="+", choices=list(READERS), default=list(READERS), help="readers to run")
    parser.add_argument("--images", type=Path, help="read this set (made with --write) instead of making one")
    parser.add_argument("--write", type=Path, metavar="DIR", help="only write the set's images and truth.jsonl to DIR")
    parser.add_argument("--sheet", type=Path, metavar="PNG", help="only write a contact sheet of the set")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-numbers.md")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no results file")
    args = parser.parse_args()
    ensure_data()
    if args.sheet:
        sheet(args.sheet, args.seed)
        return 0
    begun = started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="heldout-numbers-") as temporary:
        folder = args.write or args.images or Path(temporary) / "set"
        if args.images:
            records = load_written(folder)
        else:
            images, labels = load_test_digits()
            records = write_set(folder, plan(args.numbers, args.rejects_per_kind, args.seed, labels), images, args.seed)
        generate_seconds = None if args.images else time.perf_counter() - started
        if args.write:
            print(f"{len(records)} images and {TRUTH_FILE} in {folder} ({time.perf_counter() - begun:.0f} s)")
            return 0
        readers = {name: READERS[name]() for name in args.readers}
        paths = [folder / record["file"] for record in records]
        readings, read_seconds = {}, {}
        for name, reader in readers.items():
            started = time.perf_counter()
            readings[name] = reader(paths)
            read_seconds[name] = time.perf_counter() - started
        five = [folder / r["file"] for r in records if r["kind"] == "number" and len(r["text"]) == 5][:LATENCY_IMAGES]
        timings = latency(readers, five)
    facts = {"command": " ".join(["python benchmarks/heldout_numbers.py", *sys.argv[1:]]), "seed": args.seed,
             "generate_seconds": generate_seconds, "read_seconds": read_seconds, "latency_images": len(five),
             "total_seconds": time.perf_counter() - begun}
    lines = report(records, readings, timings, {name: r.describe() for name, r in readers.items()}, facts)
    if args.no_write:
        print("\n".join(lines))
    else:
        write_results(args.out, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
