"""Training speed, side by side in one run: the Keras tutorial script vs `digitlab train`.

Usage:

    .venv/bin/python benchmarks/training.py [--repeats 3] [--out benchmarks/RESULTS-training.md]

Runs, alternating, each as its own process with the data cached:
  - reference: benchmarks/reference_tutorial.py (plain Keras + TensorFlow model.fit);
  - digitlab train --model mlp --engine keras (the same model.fit inside digitlab);
  - digitlab train --model mlp (the default fast engine: one JAX program per epoch).
For each: whole-process wall time, training-loop time, test accuracy and peak
RSS; then ratios, and the compute floor (the MLP's training FLOPs ÷ the
matrix-multiply FLOP/s measured at the start of the same run). Timings on a
shared machine are noisy: compare within one run, and read the ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from common import ensure_data, digitlab_train, machine_line, matmul_flops_per_second, run_process
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

EPOCHS, N_TRAIN, N_VALIDATION = 10, 54_000, 6_000
# The tutorial MLP's multiply-adds per image, layer by layer (784→128→64→10).
LAYER_MACS = [784 * 128, 128 * 64, 64 * 10]


def training_flops() -> float:
    """FLOPs of the 10-epoch recipe: forward (2·MAC), weight gradients (2·MAC), input
    gradients (2·MAC, none for the first layer), plus the validation forward passes."""
    forward = 2 * sum(LAYER_MACS)
    per_training_image = 3 * forward - 2 * LAYER_MACS[0]
    return EPOCHS * (N_TRAIN * per_training_image + N_VALIDATION * forward)


def measure(variant: str, runs_dir: Path) -> dict:
    if variant == "reference":
        wall, rss, output = run_process([sys.executable, "benchmarks/reference_tutorial.py"])
        result = json.loads(output.strip().splitlines()[-1])
        return {"wall": wall, "rss": rss, "train": result["fit_seconds"], "accuracy": result["test_accuracy"]}
    engine = "keras" if variant == "digitlab --engine keras" else "fast"
    wall, rss, metrics = digitlab_train(["--model", "mlp", "--engine", engine], runs_dir)
    return {"wall": wall, "rss": rss, "train": metrics["timings_seconds"]["train"],
            "accuracy": metrics["test_accuracy"], "backend": metrics["versions"]["backend"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-training.md"))
    args = parser.parse_args()

    ensure_data()
    flops_per_second = matmul_flops_per_second()
    floor = training_flops() / flops_per_second
    variants = ["reference", "digitlab --engine keras", "digitlab (fast engine)"]
    results: dict[str, list[dict]] = {variant: [] for variant in variants}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            # Alternate the order so slow drifts of the machine hit every variant alike.
            for variant in (variants if repeat % 2 == 0 else variants[::-1]):
                results[variant].append(measure(variant, Path(scratch)))
                print(variant, results[variant][-1], flush=True)

    def median(variant: str, key: str) -> float:
        return statistics.median(run[key] for run in results[variant])

    reference_wall, reference_train = median("reference", "wall"), median("reference", "train")
    rows = [
        "| variant | whole process s | training loop s | test accuracy | peak RSS MB | process speed-up | loop speed-up | loop ÷ floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in variants:
        wall, train = median(variant, "wall"), median(variant, "train")
        accuracies = ", ".join(f"{run['accuracy']:.2%}" for run in results[variant])
        rows.append(
            f"| {variant} | {wall:.1f} | {train:.2f} | {accuracies} | {median(variant, 'rss'):.0f} "
            f"| {reference_wall / wall:.1f}× | {reference_train / train:.1f}× | {train / floor:.1f}× |"
        )
    text = "\n".join([
        "# Training speed: the tutorial MLP, 10 epochs",
        "",
        f"Date: {machine_line()} · median of {args.repeats} runs per variant, alternating order",
        "",
        f"Reproduce: `.venv/bin/python benchmarks/training.py --repeats {args.repeats}`",
        "",
        *rows,
        "",
        f"Compute floor: {training_flops() / 1e9:.1f} GFLOP for the recipe (54,000 training + 6,000 validation "
        f"images × 10 epochs) at {flops_per_second / 1e9:.0f} GFLOP/s (NumPy float32 2048² matmul, best of 5, "
        f"measured at the start of this run) = {floor:.2f} s.",
        "",
        "Whole process: start to exit, data cached, including Python and Keras start-up; digitlab's also evaluates, "
        "calibrates, saves and reloads the model and writes the figures and the HTML report. Training loop: "
        "`model.fit` for the reference, metrics.json `timings_seconds.train` for digitlab (compilation included). "
        "Speed-ups are the reference's time ÷ the variant's.",
        "",
    ])
    write_text_atomic(args.out, text)
    fast = "digitlab (fast engine)"
    summary = {  # for benchmarks/run.py's goal table
        "process_speedup": reference_wall / median(fast, "wall"),
        "loop_speedup": reference_train / median(fast, "train"),
        "loop_over_floor": median(fast, "train") / floor,
        "accuracy": min(run["accuracy"] for run in results[fast]),
    }
    write_text_atomic(args.out.with_suffix(".json"), json.dumps(summary, indent=1))
    print(text)


if __name__ == "__main__":
    main()
