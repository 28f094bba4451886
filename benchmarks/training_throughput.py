"""Training speed of every registered model on both engines, in samples/s and against the compute floor.

Usage:

    .venv/bin/python benchmarks/training_throughput.py [--models mlp cnn] [--images 12000]

For each model and engine (keras: model.fit on TensorFlow; fast: digitlab's
compiled epochs on JAX) two `digitlab train` processes run on the first
--images MNIST training images (a tenth held out for validation), without
augmentation, for 1 and for 3 epochs (after a first run that fills JAX's
compilation cache). Half the difference of their training times is one
epoch's steady-state time (compilation and start-up cancel out), so

    samples/s = training images ÷ ((train time of 3 epochs − train time of 1 epoch) / 2).

Floor: 3 × forward FLOPs per image (forward pass, then gradients for the
weights and for the activations) × images ÷ the matmul rate of this run; the
table gives how many times the floor each engine takes. Peak RSS is that of
the 3-epoch process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ensure_data, digitlab_train, machine_line, matmul_flops_per_second, write_results

ENGINES = {"keras": "tensorflow", "fast": "jax"}
# Below this, the 3-epoch and 1-epoch runs' training times are too close to tell one
# epoch from the noise (the MLP's epoch on the fast engine is a few hundredths of a second).
MIN_DIFFERENCE_SECONDS = 0.5


def train_seconds(model: str, engine: str, epochs: int, images: int, runs_dir: Path) -> tuple[float, int]:
    _, rss, metrics = digitlab_train(
        # One batch size for every model (`quick`'s recipe uses 32), so the rows compare architectures.
        ["--model", model, "--engine", engine, "--no-augment", "--epochs", str(epochs), "--batch-size", "128",
         "--limit-train", str(images), "--limit-test", "1000"],
        runs_dir, {**os.environ, "KERAS_BACKEND": ENGINES[engine]},
    )
    return metrics["timings_seconds"]["train"], rss


def model_forward_flops(model: str) -> int:
    """Built in a child process: this one never imports Keras."""
    code = ("import json, sys; sys.path.insert(0, 'benchmarks'); from common import forward_flops; "
            "from digitlab.models import import_keras; import_keras(); from digitlab.models import create_model; "
            f"print(json.dumps(forward_flops(create_model({model!r}))))")
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                     cwd=Path(__file__).resolve().parents[1]).stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="default: every registered model")
    parser.add_argument("--images", type=int, default=12_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-training-throughput.md"))
    args = parser.parse_args()
    if not args.models:
        from digitlab.models import list_models

        args.models = list_models()
    ensure_data()
    flops_per_second = matmul_flops_per_second()
    training_images = args.images - args.images // 10
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for model in args.models:
            flops = 3 * model_forward_flops(model)
            for engine in ENGINES:
                # A first run fills JAX's compilation cache, so the 1- and 3-epoch runs both find it filled.
                train_seconds(model, engine, 1, args.images, Path(scratch) / "warm-up")
                one, _ = train_seconds(model, engine, 1, args.images, Path(scratch))
                three, rss = train_seconds(model, engine, 3, args.images, Path(scratch))
                epoch = (three - one) / 2
                if three - one < MIN_DIFFERENCE_SECONDS:
                    # Two epochs shorter than the run-to-run noise of a whole process: no figure.
                    rows.append({"model": model, "engine": engine, "rate": None, "epoch": epoch, "rss": rss,
                                 "floor_ratio": None, "flops": flops})
                    print(rows[-1], flush=True)
                    continue
                rate = training_images / epoch
                floor_rate = flops_per_second / flops
                rows.append({"model": model, "engine": engine, "rate": rate, "epoch": epoch, "rss": rss,
                             "floor_ratio": floor_rate / rate, "flops": flops})
                print(rows[-1], flush=True)

    lines = [
        "# Training throughput per model and engine",
        "",
        f"Date: {machine_line()} · matmul {flops_per_second / 1e9:.0f} GFLOP/s (NumPy float32 2048², best of 5, "
        "measured at the start of this run)",
        "",
        f"Reproduce: `.venv/bin/python benchmarks/training_throughput.py --models {' '.join(args.models)} "
        f"--images {args.images}`",
        "",
        "| model | engine (backend) | MFLOP per training image | samples/s | × floor | peak RSS MB | fast ÷ keras |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    by_key = {(row["model"], row["engine"]): row for row in rows}
    for row in rows:
        keras_rate = by_key[(row["model"], "keras")]["rate"]
        if row["rate"] is None:
            lines.append(f"| {row['model']} | {row['engine']} ({ENGINES[row['engine']]}) | {row['flops'] / 1e6:.2f} "
                         f"| below resolution | — | {row['rss']:,} | — |")
            continue
        ratio = (f"{row['rate'] / keras_rate:.2f}×" if row["engine"] == "fast" and keras_rate else
                 "1.00×" if row["engine"] == "keras" else "—")
        lines.append(f"| {row['model']} | {row['engine']} ({ENGINES[row['engine']]}) | {row['flops'] / 1e6:.2f} "
                     f"| {row['rate']:,.0f} | {row['floor_ratio']:.1f} | {row['rss']:,} | {ratio} |")
    lines += [
        "",
        f"Each figure: {training_images:,} training images (+ {args.images // 10:,} validation) for one epoch, "
        "batch 128, no augmentation, measured as half the difference of a 3-epoch and a 1-epoch `digitlab train` "
        "(validation included). × floor: the epoch's time ÷ the time its FLOPs would take at the matmul rate. "
        f"\"Below resolution\": the two runs differed by less than {MIN_DIFFERENCE_SECONDS} s, within the noise of "
        "timing whole processes, so no rate is given; the tutorial MLP's loop on the fast engine is timed over "
        "the full data in benchmarks/training.py instead.",
        "",
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
