"""Every speed benchmark in one run, on one machine, into benchmarks/RESULTS.md.

Usage:

    .venv/bin/python benchmarks/run.py                 # all sections, ~40 min on 2 cores
    .venv/bin/python benchmarks/run.py --only training inference

Measures the matrix-multiply rate once, hands it to every section (so every
compute floor uses the same figure), runs each section's script in turn as a
child process (each also writes its own RESULTS-<section>.md), then writes
RESULTS.md: the machine, versions, date and command, the issue's goals as
ratios from this run, and every section's tables. Sections:

- training: the tutorial MLP, reference Keras script vs `digitlab train` (training.py)
- throughput: training samples/s of every registered model on both engines (training_throughput.py)
- convolutions: one CNN training step on JAX, XLA's convolution vs the fast engine's (convolutions.py)
- mlp-epoch: the tutorial MLP's epoch on the fast engine, its matrix multiplies, XLA's other CPU libraries
  and bfloat16 (mlp_epoch.py)
- time-to-accuracy: CNN time to 99.0 % / 99.5 % vs the keras-io convnet (time_to_accuracy.py)
- scaling: training time against data size and batch size (scaling.py)
- inference: images/s and single-image latency per model and runtime (inference.py)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from common import MATMUL_ENVIRONMENT, ROOT, ensure_data, machine_line, measure_matmul_flops_per_second, write_results

HERE = Path(__file__).resolve().parent
SECTIONS = {
    "training": (["training.py", "--repeats", "3"], "RESULTS-training.md"),
    "throughput": (["training_throughput.py"], "RESULTS-training-throughput.md"),
    "convolutions": (["convolutions.py"], "RESULTS-convolutions.md"),
    "mlp-epoch": (["mlp_epoch.py"], "RESULTS-mlp-epoch.md"),
    "time-to-accuracy": (["time_to_accuracy.py"], "RESULTS-time-to-accuracy.md"),
    "scaling": (["scaling.py"], "RESULTS-scaling.md"),
    "inference": (["inference.py", "--models", "mlp", "cnn", "vgg", "deotte", "ensemble"], "RESULTS-inference.md"),
}
PACKAGES = ("keras", "jax", "tensorflow-cpu", "tensorflow", "onnxruntime", "numpy")


def versions() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def _load(name: str):
    path = HERE / name
    return json.loads(path.read_text()) if path.is_file() else None


def goal_rows() -> list[str]:
    """The issue's goals, each as measured (from the sections' JSON summaries) and whether it is met."""
    rows = ["| goal | target | measured | met |", "|---|---|---|---|"]

    def add(goal: str, target: str, value: float | None, text: str, met: bool | None) -> None:
        verdict = "not measured" if value is None else ("yes" if met else "no")
        rows.append(f"| {goal} | {target} | {text if value is not None else '—'} | {verdict} |")

    training = _load("RESULTS-training.json")
    if training:
        add("tutorial MLP, whole `digitlab train` process vs the reference script's", "≥ 4×",
            training["process_speedup"], f"{training['process_speedup']:.1f}×", training["process_speedup"] >= 4)
        add("its test accuracy", "≥ 97.5 %", training["accuracy"], f"{training['accuracy']:.2%}",
            training["accuracy"] >= 0.975)
        add("training loop vs the reference's `model.fit`", "≥ 6×", training["loop_speedup"],
            f"{training['loop_speedup']:.1f}×", training["loop_speedup"] >= 6)
        add("training loop vs the compute floor", "≤ 1.5×", training["loop_over_floor"],
            f"{training['loop_over_floor']:.1f}×", training["loop_over_floor"] <= 1.5)
    cnn = _load("RESULTS-time-to-accuracy.json")
    if cnn:
        to_99 = cnn["0.990"]
        value = None
        if to_99["digitlab_seconds"] and to_99["reference_seconds"]:
            value = to_99["reference_seconds"] / to_99["digitlab_seconds"]
        add("strong CNN, time to 99.0 % vs the keras-io convnet's", "≥ 3×", value,
            f"{value:.1f}× ({to_99['digitlab_seconds']:.0f} s vs {to_99['reference_seconds']:.0f} s)" if value else "",
            value is not None and value >= 3)
    inference = _load("RESULTS-inference.json")
    if inference:
        mlp = [row for row in inference if row["model"] == "mlp"]
        if mlp:
            best = max(mlp, key=lambda row: row["images_per_s"])
            add("MLP batch inference", "≥ 300,000 images/s", best["images_per_s"],
                f"{best['images_per_s']:,.0f} ({best['runtime']})", best["images_per_s"] >= 300_000)
            fastest = min(mlp, key=lambda row: row["latency_p50_us"])
            add("MLP single image (28×28 in, probabilities out), p50", "≤ 100 µs", fastest["latency_p50_us"],
                f"{fastest['latency_p50_us']:.0f} µs ({fastest['runtime']})", fastest["latency_p50_us"] <= 100)
    return rows


def figures_header() -> list[str]:
    """What RESULTS.md's figures are and how many runs each summarizes (kept by every rewrite of the file)."""
    training = SECTIONS["training"][0]
    repeats = training[training.index("--repeats") + 1]
    return [
        "Figures: wall-clock times (s, ms, µs), rates (images/s, GFLOP/s), peak memory (MB) and test accuracies, "
        "all measured on the machine above, and ratios between implementations timed side by side in one run. "
        "Timings on a shared machine are noisy, so read the ratios.",
        "",
        "Runs behind each figure (details, and any spread, under each section):",
        "",
        f"- training: the median of {repeats} runs per variant, variants alternating",
        "- throughput: one 1-epoch and one 3-epoch `digitlab train` per model and engine",
        "- convolutions: one timed call of the compiled program (after the compiling one) per model and variant",
        "- mlp-epoch: the median of 3 rounds, each the median of 5 epochs; matrix products: best of 5 timings",
        "- time-to-accuracy, scaling: one training run per row",
        "- inference: batch, best of 3 passes; latency, p50 and p99 over 3,000 calls (300 on Keras)",
    ]


def section_text(result_file: str) -> str:
    """A section's RESULTS file, its title demoted one level to sit under RESULTS.md's."""
    text = (HERE / result_file).read_text(encoding="utf-8")
    return "\n".join("#" + line if line.startswith("#") else line for line in text.splitlines())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections (the others' "
                        "last results are still included)")
    args = parser.parse_args()
    ensure_data()
    flops_per_second = measure_matmul_flops_per_second()
    print(f"matmul: {flops_per_second / 1e9:.0f} GFLOP/s", flush=True)
    environment = {**os.environ, MATMUL_ENVIRONMENT: repr(flops_per_second)}
    durations = {}
    # Progress as plain numbered lines: each section's script prints its own output, which a bar would cut through.
    chosen = [name for name in SECTIONS if not args.only or name in args.only]
    for number, name in enumerate(chosen, start=1):
        command = SECTIONS[name][0]
        elapsed = f", {sum(durations.values()) / 60:.0f} min so far" if durations else ""
        print(f"== [{number}/{len(chosen)}{elapsed}] {name}: python benchmarks/{' '.join(command)}", flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=True, cwd=ROOT, env=environment)
        durations[name] = time.perf_counter() - started

    command = "python benchmarks/run.py" + (" --only " + " ".join(args.only) if args.only else "")
    lines = [
        "# digitlab speed benchmarks",
        "",
        f"- date, machine: {machine_line()}",
        f"- versions: {versions()}",
        f"- matrix multiply (NumPy float32 2048², best of 5, measured at the start of this run, used for every "
        f"floor below): {flops_per_second / 1e9:.0f} GFLOP/s",
        f"- command: `{command}`"
        + (f" (sections run: {', '.join(f'{name} {seconds / 60:.1f} min' for name, seconds in durations.items())}; "
           "sections not run keep their last results, dated in their own headers)" if args.only else
           f" ({sum(durations.values()) / 60:.0f} min)"),
        "",
        *figures_header(),
        "",
        "## Goals",
        "",
        *goal_rows(),
        "",
    ]
    for name, (_, result_file) in SECTIONS.items():
        if (HERE / result_file).is_file():
            lines += [section_text(result_file), ""]
    write_results(HERE / "RESULTS.md", lines)


if __name__ == "__main__":
    main()
