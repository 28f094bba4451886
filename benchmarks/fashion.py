"""Train registered models on Fashion-MNIST and tabulate their test accuracy.

Usage:

    .venv/bin/python benchmarks/fashion.py [--models mlp cnn] [--out benchmarks/RESULTS-fashion.md]
    .venv/bin/python benchmarks/fashion.py --models mlp cnn vgg vgg:no-augment --runs-dir runs/fashion

A model written NAME:no-augment is trained with `--no-augment` (the registered
recipes augment for handwriting: rotation and stroke width suit digits, not clothes).

Each model is trained with its own recipe (`digitlab train --model NAME --dataset
fashion --seed 42`) in a scratch runs directory, or in --runs-dir, where a
finished Fashion-MNIST run of that model (seed 42, full data) is used instead of
training again: a CNN takes most of an hour here, so it can be trained in the
background (and resumed with `digitlab train --resume RUN`) and tabulated later.
The table reports test accuracy, errors, training time and the most-confused
pairs from each run's metrics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one


def finished_run(runs_dir: Path, model: str, augment: bool | None) -> Path | None:
    """The newest finished full-data Fashion-MNIST run of `model` with seed 42 in runs_dir, if any.

    augment=None: the model's own recipe; False: a --no-augment run.
    """
    from digitlab.models import model_recipe

    for run_dir in sorted(runs_dir.glob(f"*-{model}"), reverse=True):
        try:
            config = json.loads((run_dir / "config.json").read_text())
            finished = (run_dir / "metrics.json").is_file()
        except (OSError, ValueError):
            continue
        wanted = model_recipe(model).get("augment", False) if augment is None else augment
        recipe_ok = config.get("augment", False) == wanted
        if (finished and recipe_ok and config.get("model") == model and config.get("dataset") == "fashion"
                and config.get("seed") == 42 and not config.get("limit_train")):
            return run_dir
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "cnn"])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-fashion.md"))
    parser.add_argument("--runs-dir", type=Path, help="keep runs here and reuse finished ones (default: a scratch dir)")
    args = parser.parse_args()
    from digitlab.formats import run_training_seconds  # across --resume: runs trained in the background

    rows = [
        "| model | recipe | test accuracy | errors / 10,000 | training s | most-confused pairs |",
        "|---|---|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for entry in args.models:
            name, _, variant = entry.partition(":")
            augment = False if variant == "no-augment" else None
            runs_dir = args.runs_dir or Path(scratch) / entry.replace(":", "-")
            run_dir = finished_run(runs_dir, name, augment)
            if run_dir is None:
                command = ["digitlab", "train", "--model", name, "--dataset", "fashion", "--seed", "42", "--quiet",
                           "--runs-dir", str(runs_dir)] + (["--no-augment"] if augment is False else [])
                subprocess.run([sys.executable, "-m", *command], check=True, stdout=subprocess.DEVNULL)
                run_dir = finished_run(runs_dir, name, augment)
            metrics = json.loads((run_dir / "metrics.json").read_text())
            config = json.loads((run_dir / "config.json").read_text())
            epochs = f"{config['epochs']} epoch{'s' if config['epochs'] != 1 else ''}"
            recipe = f"{epochs}, {config['engine']} engine" + (", augmented" if config["augment"] else "")
            pairs = ", ".join(f"{pair['pair']} ({pair['total']})" for pair in metrics["confused_pairs"][:3])
            rows.append(
                f"| {entry} | {recipe} | {metrics['test_accuracy']:.2%} | {metrics['error_count']} "
                f"| {run_training_seconds(run_dir, metrics):.0f} | {pairs} |"
            )
            print(rows[-1], flush=True)
    text = "\n".join([
        "# Fashion-MNIST",
        "",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()}, {os.cpu_count()} cores",
        "",
        f"Reproduce: `.venv/bin/python benchmarks/fashion.py --models {' '.join(args.models)}`"
        + (f" (runs kept in `{args.runs_dir}`)" if args.runs_dir else ""),
        "",
        *rows,
        "",
        "Same architectures and recipes as for MNIST (`digitlab train --model NAME --dataset fashion --seed 42`); "
        "test set: the 10,000 Fashion-MNIST test images.",
        "",
    ])
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
