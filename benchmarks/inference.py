"""Inference speed of every shipped model, per runtime (Keras, ONNX Runtime), side by side in one run.

Usage:

    .venv/bin/python benchmarks/inference.py                  # writes benchmarks/RESULTS-inference.md
    .venv/bin/python benchmarks/inference.py --models mlp vgg --no-write

For each shipped model and runtime, in a fresh process (so peak memory is that
runtime's own), through the same `Recognizer` that `digitlab predict` and the
web app use:

- batch throughput: the 10,000 MNIST test images as 28×28 arrays, in batches
  of 1,000, through `Recognizer.runtime.predict` (images/s, best of 3 passes);
- single-image latency: `Recognizer.predict_pixels(one 28×28 array)` — array
  in, calibrated probabilities and the JSON answer out — p50 and p99 over many
  calls, one at a time;
- start-up: seconds from process start to a loaded Recognizer;
- peak RSS of the process.

The compute floor of the batch figure: the model's forward FLOPs per image
(2 × multiply-adds of its convolution and dense layers) × images ÷ the
float32 matrix-multiply FLOP/s NumPy's BLAS reaches, measured at the start of
the same run. A ratio of 1 would mean the runtime does nothing but useful
multiply-adds at BLAS speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from common import ROOT, forward_flops, machine_line, matmul_flops_per_second
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

RESULTS = ROOT / "benchmarks" / "RESULTS-inference.md"
RUNTIMES = ("keras", "onnx")
BATCH = 1000


def measure(model_name: str, runtime: str, latency_calls: int) -> dict:
    """One (model, runtime) pair, in this process."""
    started = time.perf_counter()
    from digitlab.recognize import Recognizer

    recognizer = Recognizer(model_name, runtime=runtime)
    startup = time.perf_counter() - started
    from digitlab.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    images = x_test.astype(np.float32) / 255.0
    passes, accuracy = [], None
    for _ in range(3):
        begun = time.perf_counter()
        probabilities = np.concatenate([recognizer.runtime.predict(images[i:i + BATCH]) for i in range(0, len(images), BATCH)])
        passes.append(time.perf_counter() - begun)
        accuracy = float(np.mean(probabilities.argmax(axis=1) == y_test))
    for index in range(20):  # warm-up
        recognizer.predict_pixels(x_test[index])
    latencies = []
    for index in range(latency_calls):
        begun = time.perf_counter()
        recognizer.predict_pixels(x_test[index % len(x_test)])
        latencies.append(time.perf_counter() - begun)
    return {
        "model": model_name,
        "runtime": recognizer.runtime.name,
        "startup_s": startup,
        "images_per_s": len(images) / min(passes),
        "accuracy": accuracy,
        "latency_p50_us": float(np.percentile(latencies, 50) * 1e6),
        "latency_p99_us": float(np.percentile(latencies, 99) * 1e6),
        "latency_calls": latency_calls,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def model_flops(model_name: str) -> int:
    from digitlab.models import import_keras
    from digitlab.formats import resolve_model_path
    from digitlab.models import load_keras_model

    import_keras()
    return forward_flops(load_keras_model(resolve_model_path(model_name)))


def run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"benchmark child {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_results(rows: list[dict], flops: dict, flops_per_second: float, command: str) -> str:
    lines = [
        "# Inference speed per model and runtime",
        "",
        f"- date, machine: {machine_line()}",
        f"- matrix multiply (NumPy float32 2048², best of 5, measured at the start of this run): "
        f"{flops_per_second / 1e9:.0f} GFLOP/s",
        f"- command: `{command}`",
        "",
        "Batch: the 10,000 MNIST test images in batches of 1,000 through the runtime (best of 3 passes). "
        "Latency: `Recognizer.predict_pixels` on one 28×28 array (calibrated probabilities and the JSON "
        "answer), one call at a time. Floor: forward FLOPs × images ÷ the matmul rate above. "
        "Each row ran in its own process.",
        "",
        "| model | runtime | MFLOP/image | batch images/s | × floor | latency p50 | latency p99 | start-up | peak RSS | test accuracy |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        model_flops_per_image = flops[row["model"]]
        floor_rate = flops_per_second / model_flops_per_image
        lines.append(
            f"| {row['model']} | {row['runtime']} | {model_flops_per_image / 1e6:.2f} | {row['images_per_s']:,.0f} | "
            f"{floor_rate / row['images_per_s']:.1f} | {row['latency_p50_us']:,.0f} µs | {row['latency_p99_us']:,.0f} µs | "
            f"{row['startup_s']:.1f} s | {row['peak_rss_mb']:,.0f} MB | {row['accuracy']:.2%} |"
        )
    by_key = {(row["model"], row["runtime"]): row for row in rows}
    lines += ["", "ONNX Runtime vs Keras, same model, same run:", ""]
    for model in dict.fromkeys(row["model"] for row in rows):
        keras_row, onnx_row = by_key.get((model, "keras")), by_key.get((model, "onnx"))
        if keras_row and onnx_row:
            lines.append(
                f"- {model}: batch {onnx_row['images_per_s'] / keras_row['images_per_s']:.1f}× the images/s, "
                f"single image {keras_row['latency_p50_us'] / onnx_row['latency_p50_us']:.0f}× faster (p50), "
                f"start-up {keras_row['startup_s'] / onnx_row['startup_s']:.0f}× faster"
            )
    text = "\n".join(lines) + "\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", help="shipped model names (default: all)")
    parser.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--measure", nargs=2, metavar=("MODEL", "RUNTIME"), help=argparse.SUPPRESS)
    parser.add_argument("--flops", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        model_name, runtime = args.measure
        print(json.dumps(measure(model_name, runtime, latency_calls=300 if runtime == "keras" else 3000)))
        return
    if args.flops:
        print(json.dumps({"flops": model_flops(args.flops)}))
        return

    from digitlab.formats import shipped_models

    models = args.models or sorted(shipped_models(), key=lambda name: shipped_models()[name].get("parameters", 0))
    flops_per_second = matmul_flops_per_second()
    flops = {model: run_child("--flops", model)["flops"] for model in models}
    rows = []
    for model in models:
        for runtime in args.runtimes:
            row = run_child("--measure", model, runtime)
            print(f"{model:>10} {runtime:>6}: {row['images_per_s']:>10,.0f} images/s, "
                  f"p50 {row['latency_p50_us']:>8,.0f} µs, p99 {row['latency_p99_us']:>8,.0f} µs, "
                  f"start-up {row['startup_s']:.1f} s, {row['peak_rss_mb']:,.0f} MB", flush=True)
            rows.append(row)
    command = "python benchmarks/inference.py" + ("" if not args.models else " --models " + " ".join(args.models))
    text = write_results(rows, flops, flops_per_second, command)
    print(text)
    if not args.no_write:
        write_text_atomic(RESULTS, text)
        write_text_atomic(RESULTS.with_suffix(".json"), json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
