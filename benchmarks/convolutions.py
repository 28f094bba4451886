"""One compiled CNN training step on JAX: XLA's convolution vs the fast engine's matrix-multiply convolution.

Usage:

    .venv/bin/python benchmarks/convolutions.py [--models cnn vgg deotte] [--out benchmarks/RESULTS-convolutions.md]

For each model, in a fresh process per variant: the fast engine's own compiled
epoch program (batch 128, Adam, shuffle and all) over a few random batches,
with Keras' own convolution and pooling ("xla"), and inside
`digitlab.train.fast.convolutions.matmul_convolutions()` ("matmul"). Reports
compile seconds and milliseconds per step (XLA's variant runs fewer steps: it
is slow). This is why the fast engine computes convolutions as it does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from common import ROOT, epoch_program_timings, machine_line, write_results

VARIANTS = {"xla": 3, "matmul": 20}  # steps timed per variant
BATCH = 128


def measure(model_name: str, variant: str) -> dict:
    os.environ["KERAS_BACKEND"] = "jax"
    from digitlab.train.fast.convolutions import matmul_convolutions

    # The fast engine's own epoch program, on an "epoch" of `steps` random batches.
    steps = VARIANTS[variant]
    timings = epoch_program_timings(model_name, steps * BATCH, calls=2, batch_size=BATCH,
                                    context=matmul_convolutions() if variant == "matmul" else None)
    return {"model": model_name, "variant": variant, "compile_s": timings[0] - timings[1],
            "step_ms": timings[1] / steps * 1e3, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "vgg", "deotte"])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-convolutions.md"))
    parser.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    rows = []
    for model in args.models:
        for variant in VARIANTS:
            done = subprocess.run([sys.executable, __file__, "--measure", model, variant], capture_output=True,
                                  text=True, cwd=ROOT, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    by_key = {(row["model"], row["variant"]): row for row in rows}
    lines = [
        "# CNN training step on JAX: XLA convolution vs matrix-multiply convolution",
        "",
        f"Date: {machine_line()}",
        "",
        "Reproduce: `.venv/bin/python benchmarks/convolutions.py`",
        "",
        "| model | XLA convolution, ms/step | matmul convolution, ms/step | speed-up | compile s (XLA / matmul) |",
        "|---|---:|---:|---:|---:|",
    ]
    for model in args.models:
        xla, matmul = by_key[(model, "xla")], by_key[(model, "matmul")]
        lines.append(f"| {model} | {xla['step_ms']:,.0f} | {matmul['step_ms']:,.0f} | "
                     f"{xla['step_ms'] / matmul['step_ms']:.0f}× | {xla['compile_s']:.0f} / {matmul['compile_s']:.0f} |")
    lines += ["", "One step: batch 128, forward, gradients and an Adam update, inside the fast engine's compiled epoch "
              f"({VARIANTS['xla']} steps timed with XLA's convolution, {VARIANTS['matmul']} with the matmul one).", ""]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
