"""Ray Train against one process: `digitlab train --ray-workers 2` reaches the one-process accuracy?

Usage:

    .venv/bin/python benchmarks/ray_train_parity.py                      # mlp and cnn, seed 42; writes RESULTS
    .venv/bin/python benchmarks/ray_train_parity.py --models mlp --seeds 1 2 3 --no-write

For each model and seed, the same recipe trains twice, each the real command in
a child process: `digitlab train --model M --seed S` (one process: Keras'
model.fit on TensorFlow, or the fast JAX engine where the recipe allows), and
`digitlab train --model M --seed S --ray-workers 2` (a local Ray, two Ray Train
workers with one CPU each, Keras on PyTorch, DistributedDataParallel). Both see
the same 54,000 training images in global batches of the recipe's size, with
the recipe's epochs and learning rate. The table gives each run's validation and
test accuracy (from its metrics.json) and the differences. Nothing is chosen
here: the figures say whether the two ways of training agree (the goal: within
0.2 percentage points), and what two workers on this 2-core machine cost in time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from common import ROOT, digitlab_train, ensure_data, finish, machine_line

GOAL_POINTS = 0.2


def train(model: str, seed: int, runs_dir: Path, ray_workers: int | None) -> dict:
    """One `digitlab train` in a child process: its metrics.json's figures, with the command's wall time."""
    arguments = ["--model", model, "--seed", str(seed)] + (["--ray-workers", str(ray_workers)] if ray_workers else [])
    wall, _, metrics = digitlab_train(arguments, runs_dir, dict(os.environ))
    return {"wall": round(wall, 1), "validation": metrics["validation_accuracy"], "test": metrics["test_accuracy"],
            "train_seconds": metrics["train_seconds"], "epochs": metrics["epochs_run"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--workers", type=int, default=2, help="Ray Train workers (default 2)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-ray-train.md")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no results file")
    args = parser.parse_args()
    ensure_data()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        runs_dir = Path(temporary)
        for model in args.models:
            for seed in args.seeds:
                # Alternating which goes first: the machine's speed drifts.
                order = [None, args.workers] if len(rows) % 2 == 0 else [args.workers, None]
                results = {}
                for workers in order:
                    results[workers] = train(model, seed, runs_dir, workers)
                    print(f"{model} seed {seed} {'one process' if workers is None else f'{workers} Ray workers'}: "
                          f"{json.dumps(results[workers])}", flush=True)
                rows.append((model, seed, results[None], results[args.workers]))
    lines = [
        f"# Ray Train ({args.workers} workers) against one process: the same recipe, the same accuracy?",
        "",
        f"- {machine_line()}",
        f"- Command: `python benchmarks/ray_train_parity.py --models {' '.join(args.models)} "
        f"--seeds {' '.join(map(str, args.seeds))} --workers {args.workers}`",
        "- One process: `digitlab train --model M --seed S` (the recipe's engine). Ray: the same with "
        f"`--ray-workers {args.workers}` on a local Ray (one CPU per worker, Keras on PyTorch, "
        "DistributedDataParallel, Keras' Adam; each global batch split between the workers).",
        f"- Goal: test accuracy within {GOAL_POINTS} percentage points of the one-process run. Nothing is "
        "chosen on these figures.",
        "",
        "| model | seed | epochs | one process: validation / test | Ray workers: validation / test | "
        "test difference | training time (one process / Ray) |",
        "|---|---|---|---|---|---|---|",
    ]
    differences = []
    for model, seed, single, ray in rows:
        difference = (ray["test"] - single["test"]) * 100
        differences.append((model, abs(difference)))
        lines.append(f"| {model} | {seed} | {single['epochs']} | {single['validation']:.2%} / {single['test']:.2%} | "
                     f"{ray['validation']:.2%} / {ray['test']:.2%} | {difference:+.2f} pp | "
                     f"{single['train_seconds']:.0f} s / {ray['train_seconds']:.0f} s |")
    lines.append("")
    for model in args.models:
        worst = max(value for name, value in differences if name == model)
        mean = statistics.mean(value for name, value in differences if name == model)
        verdict = "within" if worst <= GOAL_POINTS else "outside"
        lines.append(f"- {model}: largest test difference {worst:.2f} pp (mean {mean:.2f} pp): {verdict} the "
                     f"{GOAL_POINTS} pp goal.")
    lines += ["", f"Cores on this machine: {os.cpu_count()}: the two workers share them with the driver, so "
              "the time column says what the distributed path costs here, not what a cluster gains."]
    return finish(lines, args.out, args.no_write)


if __name__ == "__main__":
    raise SystemExit(main())
