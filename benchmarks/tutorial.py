"""Measure the tutorial pipeline as a user runs it: `digitlab run` over several seeds.

Usage:

    .venv/bin/python benchmarks/tutorial.py [--seeds 1 2 3] [--out benchmarks/RESULTS-tutorial.md]

Each seed runs `digitlab run --seed S` as its own process (so Keras start-up is
counted, as for a user) and the script tabulates test accuracy, errors, the
reload check and where the time went, then writes a Markdown table. Every
tutorial figure quoted in the README comes from this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one


def run_once(seed: int, runs_dir: Path) -> dict:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "digitlab", "run", "--quiet", "--seed", str(seed), "--runs-dir", str(runs_dir)],
        check=True, stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    run_dir = max(runs_dir.iterdir(), key=lambda path: path.stat().st_mtime)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"seed": seed, "wall": wall, **metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-tutorial.md"))
    args = parser.parse_args()

    # Warm the data cache first so every measured run loads it the same way.
    subprocess.run([sys.executable, "-m", "digitlab", "data", "fetch"], check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as scratch:
        results = [run_once(seed, Path(scratch)) for seed in args.seeds]

    accuracies = [result["test_accuracy"] for result in results]
    rows = [
        "| seed | test accuracy | errors / 10,000 | test loss | reload identical | train s | whole process s | top confused pairs |",
        "|---:|---:|---:|---:|:---:|---:|---:|---|",
    ]
    for result in results:
        pairs = ", ".join(f"{pair['pair']} ({pair['total']})" for pair in result["confused_pairs"][:3])
        rows.append(
            f"| {result['seed']} | {result['test_accuracy']:.2%} | {result['error_count']} | {result['test_loss']:.4f} "
            f"| {'yes' if result['reload_identical'] else 'NO'} | {result['timings_seconds']['train']:.1f} "
            f"| {result['wall']:.1f} | {pairs} |"
        )
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    versions = results[0]["versions"]
    text = "\n".join([
        "# The tutorial pipeline (`digitlab run`), measured",
        "",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · machine: {platform.machine()}, "
        f"{os.cpu_count()} cores · Python {versions['python']} · Keras {versions['keras']} "
        f"({versions['backend']} backend)",
        "",
        f"Reproduce: `.venv/bin/python benchmarks/tutorial.py --seeds {' '.join(map(str, args.seeds))}`",
        "",
        *rows,
        "",
        f"Mean test accuracy {statistics.mean(accuracies):.2%} ± {spread:.2%} (sample std over {len(results)} seeds); "
        "the Keras tutorial reports 97.67 %.",
        "",
        "`whole process` is the wall time of `digitlab run` from start to exit (data cached), "
        "including Keras start-up, figures and the report.",
        "",
    ])
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
