"""How training time grows with the number of training images and with the batch size (tutorial MLP).

Usage:

    .venv/bin/python benchmarks/scaling.py [--out benchmarks/RESULTS-scaling.md]

Data: `digitlab train --model mlp` (10 epochs, batch 128) on the first 15,000,
30,000 and 60,000 MNIST training images (1×, 2×, 4×), on both engines. Batch:
the fast engine on all 60,000 images with batch 32 to 512. Each figure is the
run's training time (metrics.json `timings_seconds.train`; on the fast engine
after a first run of the same sizes fills JAX's compilation cache); "per 1,000 images" divides it by the
images seen, so a constant column means training time is linear in the data.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
from common import ensure_data, digitlab_train, machine_line, write_results

SIZES = (15_000, 30_000, 60_000)
BATCHES = (32, 64, 128, 256, 512)
ENGINES = {"keras": "tensorflow", "fast": "jax"}


def train(engine: str, images: int, batch: int, runs_dir: Path) -> dict:
    _, _, metrics = digitlab_train(
        ["--model", "mlp", "--engine", engine, "--limit-train", str(images), "--batch-size", str(batch)],
        runs_dir, {**os.environ, "KERAS_BACKEND": ENGINES[engine]},
    )
    return {"train": metrics["timings_seconds"]["train"], "accuracy": metrics["test_accuracy"],
            "seen": 10 * images}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-scaling.md"))
    args = parser.parse_args()
    ensure_data()
    with tempfile.TemporaryDirectory() as scratch:
        runs = Path(scratch)

        def measure(engine: str, size: int, batch: int) -> dict:
            if engine == "fast":  # each data and batch size compiles its own program: fill the cache first
                train(engine, size, batch, runs / "warm-up")
            return train(engine, size, batch, runs)

        by_size = {(engine, size): measure(engine, size, 128) for engine in ENGINES for size in SIZES}
        by_batch = {batch: by_size[("fast", SIZES[-1])] if batch == 128 else measure("fast", SIZES[-1], batch)
                    for batch in BATCHES}

    lines = [
        "# Training time against data size and batch size (tutorial MLP, 10 epochs)",
        "",
        f"Date: {machine_line()}",
        "",
        "Reproduce: `.venv/bin/python benchmarks/scaling.py`",
        "",
        "| images | engine | training s | per 1,000 images seen, ms | × the 1× time | test accuracy |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for engine in ENGINES:
        base = by_size[(engine, SIZES[0])]["train"]
        for size in SIZES:
            run = by_size[(engine, size)]
            lines.append(f"| {size:,} ({size // SIZES[0]}×) | {engine} ({ENGINES[engine]}) | {run['train']:.2f} "
                         f"| {1000 * 1000 * run['train'] / run['seen']:.2f} | {run['train'] / base:.2f}× "
                         f"| {run['accuracy']:.2%} |")
    lines += [""]
    for engine in ENGINES:
        # Least squares over the three sizes: time = fixed + per-image cost × images seen.
        seen = [by_size[(engine, size)]["seen"] for size in SIZES]
        seconds = [by_size[(engine, size)]["train"] for size in SIZES]
        slope, intercept = np.polyfit(seen, seconds, 1)
        worst = max(abs(intercept + slope * x - y) / y for x, y in zip(seen, seconds))
        lines.append(f"- {engine}: training time ≈ {intercept:.2f} s fixed (start-up, compilation, first-epoch "
                     f"costs) + {slope * 1e6:.2f} ms per 1,000 images seen; the straight line is within "
                     f"{worst:.1%} of every measurement.")
    lines += [
        "",
        "| batch size (fast engine, 60,000 images) | training s | per 1,000 images seen, ms | test accuracy |",
        "|---:|---:|---:|---:|",
    ]
    for batch, run in by_batch.items():
        lines.append(f"| {batch} | {run['train']:.2f} | {1000 * 1000 * run['train'] / run['seen']:.2f} "
                     f"| {run['accuracy']:.2%} |")
    lines += [
        "",
        "Training s includes compiling (from the cache) and the validation pass of every epoch. A tenth of each "
        "subset is held out for validation, as in the recipe. Larger batches take fewer, larger steps: "
        "faster per image, but 10 epochs then make fewer updates, so accuracy moves too.",
        "",
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
