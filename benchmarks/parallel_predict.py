"""Throughput on one machine: `digitlab predict --jobs N` and `digitlab batch --workers N` (a local Ray).

Usage:

    .venv/bin/python benchmarks/parallel_predict.py                  # writes benchmarks/RESULTS-parallel-predict.md
    .venv/bin/python benchmarks/parallel_predict.py --images 200 --rounds 2 --no-write
    .venv/bin/python benchmarks/parallel_predict.py --no-batch       # predict only (no Ray installed)

The folder: synthetic photos of 1–5 digit numbers (digitlab.synth.photos.render_photo,
seeds 700,000 and up: throughput only, no accuracy is measured), as JPEG files.
Each run is the real command in a child process (`digitlab predict --json
--jobs N FOLDER`, `digitlab batch FOLDER --out OUT.jsonl --workers N`), so its
time includes starting Python, loading the models, spawning the workers or
starting Ray, as a user pays them. The variants alternate within each round (the machine is shared and
its speed drifts), and the table gives the median and the spread over rounds.
Every run's output must be the same bytes as the first run's (batch's JSON
Lines are predict's), or the benchmark stops.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, finish, machine_line, run_process

from digitlab.synth.photos import render_photo

FIRST_SEED = 700_000


def variants(jobs: list[int], with_batch: bool) -> list[tuple[str, int]]:
    return [("predict", n) for n in jobs] + ([("batch", n) for n in jobs] if with_batch else [])


def run_variant(kind: str, count: int, folder: Path, out: Path) -> tuple[float, str]:
    """Wall seconds of the whole command, and what it wrote (predict's stdout, batch's output file)."""
    if kind == "predict":
        command = [sys.executable, "-m", "digitlab", "predict", "--json", "--jobs", str(count), str(folder)]
        wall, _, output = run_process(command, dict(os.environ))
        return wall, output
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "digitlab", "batch", str(folder), "--out", str(out), "--workers", str(count)]
    wall, _, printed = run_process(command, dict(os.environ))
    costs = [float(value) for value in re.findall(r"([0-9.]+) ms", printed.split("CPU time per image", 1)[-1])]
    CPU_MS_PER_IMAGE.append(sum(costs))
    return wall, out.read_text()


# CPU milliseconds per image that batch measured in its actors (all stages), one entry per batch run.
CPU_MS_PER_IMAGE: list[float] = []
# The paper estimate's cluster: nodes of this many cores, each core running one reading actor.
CORES_PER_NODE = 8


def estimate_lines(cpu_ms: float) -> list[str]:
    """What reading 1 million and 100 million images would take on N nodes, from the measured CPU cost."""
    lines = [
        "",
        "## A paper estimate for a cluster",
        "",
        f"From the CPU time per image that `batch` measured in its actors here (median {cpu_ms:.1f} ms: "
        "decoding, the vision pipeline and the models), assuming: nodes of "
        f"{CORES_PER_NODE} cores like these, one reading actor per core kept busy, shared storage that delivers "
        "the images as fast as they are read (at ~100 KB per photo, "
        f"{CORES_PER_NODE * 1000 / cpu_ms * 0.1:.0f} MB/s per node), no failures, and start-up (about a minute) "
        "left out. "
        "Not measured on a cluster: this machine has one node.",
        "",
        "| images | 1 node | 10 nodes | 100 nodes |",
        "|---|---|---|---|",
    ]
    for images in (1_000_000, 100_000_000):
        cells = []
        for nodes in (1, 10, 100):
            hours = images * cpu_ms / 1000 / (nodes * CORES_PER_NODE) / 3600
            minutes = hours * 60
            cells.append(f"{hours:.1f} h" if hours >= 1 else f"{minutes:.0f} min" if minutes >= 1
                         else f"{minutes * 60:.0f} s")
        lines.append(f"| {images:,} | " + " | ".join(cells) + " |")
    return lines


def write_photos(folder: Path, count: int) -> None:
    for index in range(count):
        photo = render_photo(FIRST_SEED + index)
        (folder / f"photo-{index:05d}.jpg").write_bytes(photo.jpeg)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=600, help="photos in the folder (default 600)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2],
                        help="values of predict --jobs and batch --workers to compare")
    parser.add_argument("--no-batch", action="store_true", help="leave out digitlab batch (Ray)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running every --jobs value once")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-parallel-predict.md")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no results file")
    args = parser.parse_args()
    runs = variants(args.jobs, not args.no_batch)
    walls: dict[tuple[str, int], list[float]] = {variant: [] for variant in runs}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "photos"
        folder.mkdir()
        write_photos(folder, args.images)
        reference = None
        for round_index in range(args.rounds):
            for kind, count in (runs if round_index % 2 == 0 else list(reversed(runs))):
                wall, output = run_variant(kind, count, folder, Path(temporary) / "batch.jsonl")
                if reference is None:
                    reference = output
                elif output != reference:
                    raise SystemExit(f"{kind} with {count} workers wrote something else than the first run; stopping.")
                walls[(kind, count)].append(wall)
                print(f"round {round_index + 1}: {kind} {count}: {wall:.1f} s", flush=True)
    base = statistics.median(walls[runs[0]])
    lines = [
        "# Reading a folder on one machine: `predict --jobs N` and `batch --workers N`",
        "",
        f"- {machine_line()}",
        f"- Command: `python benchmarks/parallel_predict.py --images {args.images} --rounds {args.rounds} "
        f"--jobs {' '.join(map(str, args.jobs))}{' --no-batch' if args.no_batch else ''}`",
        f"- Folder: {args.images} JPEG photos of 1–5 digit numbers (render_photo, seeds {FIRST_SEED:,}…), read "
        "with the default reader (auto). Every run wrote the same bytes.",
        "- Time: the whole command in a child process (Python start, models, worker processes or a local Ray "
        "started and stopped), median of the rounds (min–max); the variants alternate within each round.",
        "",
        "| command | workers | wall time | images/s | speed-up over the first |",
        "|---|---|---|---|---|",
    ]
    for kind, count in runs:
        median = statistics.median(walls[(kind, count)])
        flag = "--jobs" if kind == "predict" else "--workers"
        lines.append(f"| `digitlab {kind} {flag} {count}` | {count} | {median:.1f} s "
                     f"({min(walls[(kind, count)]):.1f}–{max(walls[(kind, count)]):.1f}) | "
                     f"{args.images / median:.1f} | {base / median:.2f}× |")
    lines += ["", f"Cores on this machine: {os.cpu_count()}."]
    if CPU_MS_PER_IMAGE:
        lines += estimate_lines(statistics.median(CPU_MS_PER_IMAGE))
    return finish(lines, args.out, args.no_write)


if __name__ == "__main__":
    raise SystemExit(main())
