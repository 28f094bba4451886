"""Throughput of `digitlab predict --jobs N` on one machine: the same folder read with N = 1, 2, ...

Usage:

    .venv/bin/python benchmarks/parallel_predict.py                  # writes benchmarks/RESULTS-parallel-predict.md
    .venv/bin/python benchmarks/parallel_predict.py --images 200 --rounds 2 --no-write

The folder: synthetic photos of 1–5 digit numbers (digitlab.synth.photos.render_photo,
seeds 700,000 and up: throughput only, no accuracy is measured), as JPEG files.
Each run is the real command in a child process (`digitlab predict --json
--jobs N FOLDER`), so its time includes starting Python, loading the models and,
for N > 1, spawning the workers, as a user pays them. The variants alternate
within each round (the machine is shared and its speed drifts), and the table
gives the median and the spread over rounds. Every run's output must be the
same bytes as --jobs 1's, or the benchmark stops.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import ROOT, machine_line, run_process, write_results

from digitlab.synth.photos import render_photo

FIRST_SEED = 700_000


def write_photos(folder: Path, count: int) -> None:
    for index in range(count):
        photo = render_photo(FIRST_SEED + index)
        (folder / f"photo-{index:05d}.jpg").write_bytes(photo.jpeg)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=600, help="photos in the folder (default 600)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="values of --jobs to compare")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running every --jobs value once")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-parallel-predict.md")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no results file")
    args = parser.parse_args()
    walls: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        write_photos(folder, args.images)
        reference = None
        for round_index in range(args.rounds):
            order = args.jobs if round_index % 2 == 0 else list(reversed(args.jobs))
            for jobs in order:
                command = [sys.executable, "-m", "digitlab", "predict", "--json", "--jobs", str(jobs), str(folder)]
                wall, _, output = run_process(command, dict(os.environ))
                if reference is None:
                    reference = output
                elif output != reference:
                    raise SystemExit(f"--jobs {jobs} printed something else than the first run; stopping.")
                walls[jobs].append(wall)
                print(f"round {round_index + 1}: --jobs {jobs}: {wall:.1f} s", flush=True)
    base = statistics.median(walls[args.jobs[0]])
    lines = [
        "# `digitlab predict --jobs N`: one machine, N worker processes",
        "",
        f"- {machine_line()}",
        f"- Command: `python benchmarks/parallel_predict.py --images {args.images} --rounds {args.rounds} "
        f"--jobs {' '.join(map(str, args.jobs))}`",
        f"- Folder: {args.images} JPEG photos of 1–5 digit numbers (render_photo, seeds {FIRST_SEED:,}…), read "
        "with the default reader (auto). Every run printed the same bytes.",
        "- Time: the whole command in a child process (Python start, models, workers), median of the rounds "
        "(min–max); the variants alternate within each round.",
        "",
        "| --jobs | wall time | images/s | speed-up over the first |",
        "|---|---|---|---|",
    ]
    for jobs in args.jobs:
        median = statistics.median(walls[jobs])
        lines.append(f"| {jobs} | {median:.1f} s ({min(walls[jobs]):.1f}–{max(walls[jobs]):.1f}) | "
                     f"{args.images / median:.1f} | {base / median:.2f}× |")
    lines += ["", f"Cores on this machine: {os.cpu_count()}."]
    if args.no_write:
        print("\n".join(lines))
    else:
        print(write_results(args.out, lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
