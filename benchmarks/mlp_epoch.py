"""Why the tutorial MLP's training loop stays above its compute floor: its matrix multiplies, and what was tried.

Usage:

    .venv/bin/python benchmarks/mlp_epoch.py [--rounds 3] [--repeats 5] [--out benchmarks/RESULTS-mlp-epoch.md]

Two measurements, each variant in a fresh process (XLA reads its flags once):

1. The matrix multiplies of one training step (batch 128) at their own shapes:
   float32 through XLA (`jax.jit`, as the fast engine runs them) and through
   NumPy's BLAS, bfloat16 through XLA, and the 2048² product the compute floor
   is measured with. The first layer's two products (forward, and its weight
   gradient) are 92 % of the step's FLOPs.
2. One epoch of the fast engine's own compiled program for the MLP (54,000
   images, batch 128, dropout, Adam; the median of --repeats epochs after the
   compiling one; variants alternate over --rounds rounds): as `digitlab train` runs it, with each of XLA's CPU
   options that swap the matrix-multiply library (oneDNN, XNNPACK, YNNPACK,
   the older non-thunk runtime), and with Keras' mixed_bfloat16 policy
   (bfloat16 products; this CPU has AMX and AVX-512 BF16 units).

The lower bound printed at the end: the first layer's two products alone, at
the best float32 rate measured for their shapes, for the 10-epoch recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, epoch_program_timings, machine_line, matmul_flops_per_second, write_results

BATCH, N_TRAIN, EPOCHS = 128, 54_000, 10
STEPS = -(-N_TRAIN // BATCH)
# (name, rows, inner, columns) of the step's products; the first two are the first layer's.
PRODUCTS = [
    ("layer 1 forward: images @ weights", BATCH, 784, 128),
    ("layer 1 weight gradient: imagesᵀ @ gradient", 784, BATCH, 128),
    ("layer 2 forward", BATCH, 128, 64),
]
AS_RUN = "as `digitlab train` runs it"
EPOCH_VARIANTS = {
    AS_RUN: {},
    "XLA flag --xla_cpu_use_onednn=true": {"XLA_FLAGS": "--xla_cpu_use_onednn=true"},
    "XLA flag --xla_cpu_use_xnnpack=true": {"XLA_FLAGS": "--xla_cpu_use_xnnpack=true"},
    "XLA flag --xla_cpu_experimental_xnn_fusion_type=dot": {"XLA_FLAGS": "--xla_cpu_experimental_xnn_fusion_type=dot"},
    "XLA flag --xla_cpu_experimental_ynn_fusion_type=dot": {"XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type=dot"},
    "XLA flag --xla_cpu_use_thunk_runtime=false": {"XLA_FLAGS": "--xla_cpu_use_thunk_runtime=false"},
    "Keras dtype policy mixed_bfloat16": {"DIGITLAB_BENCH_POLICY": "mixed_bfloat16"},
}


def best_seconds(function, repeats: int) -> float:
    function()  # warm-up (and compile)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def measure_products() -> list[dict]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(0)
    rows = []
    for name, m, k, n in PRODUCTS + [("the floor's product", 2048, 2048, 2048)]:
        left, right = rng.random((m, k), dtype=np.float32), rng.random((k, n), dtype=np.float32)
        # Enough calls per timing that the ~10 µs dispatch of a jitted call is a small part.
        calls = max(1, int(4e9 / (2 * m * k * n)))
        row = {"name": name, "shape": f"{m}×{k} @ {k}×{n}", "flops": 2 * m * k * n}
        for label, dtype in (("xla_f32", jnp.float32), ("xla_bf16", jnp.bfloat16)):
            a, b = jnp.asarray(left, dtype), jnp.asarray(right, dtype)
            product = jax.jit(lambda a, b: jnp.dot(a, b, preferred_element_type=jnp.float32))

            def run_xla(a=a, b=b, product=product):
                for _ in range(calls):
                    result = product(a, b)
                result.block_until_ready()

            row[label] = row["flops"] * calls / best_seconds(run_xla, 5)

        def run_numpy():
            for _ in range(calls):
                left @ right

        row["numpy_f32"] = row["flops"] * calls / best_seconds(run_numpy, 5)
        rows.append(row)
    return rows


def measure_epoch(repeats: int) -> dict:
    os.environ["KERAS_BACKEND"] = "jax"
    import keras

    policy = os.environ.get("DIGITLAB_BENCH_POLICY")
    if policy:
        keras.config.set_dtype_policy(policy)
    timings = epoch_program_timings("mlp", N_TRAIN, calls=repeats + 1, batch_size=BATCH)
    return {"epoch_s": statistics.median(timings[1:]), "compile_s": timings[0] - timings[1]}


def child(arguments: list[str], extra_environment: dict | None = None) -> dict:
    environment = {**os.environ, **(extra_environment or {})}
    done = subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, cwd=ROOT,
                          env=environment)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="epochs timed per variant (after compiling)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the variants, in alternating order")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-mlp-epoch.md"))
    parser.add_argument("--child", choices=["products", "epoch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "products":
        print(json.dumps(measure_products()))
        return
    if args.child == "epoch":
        print(json.dumps(measure_epoch(args.repeats)))
        return

    floor_rate = matmul_flops_per_second()
    products = child(["--child", "products"])
    print(json.dumps(products), flush=True)
    # Variants alternate, round after round, so a slow spell of the shared machine
    # does not land on one of them; each variant's figure is its median round.
    rounds: dict[str, list[dict]] = {name: [] for name in EPOCH_VARIANTS}
    for _ in range(args.rounds):
        for name, environment in EPOCH_VARIANTS.items():
            rounds[name].append(child(["--child", "epoch", "--repeats", str(args.repeats)], environment))
            print(name, rounds[name][-1], flush=True)
    epochs = {name: {**{key: statistics.median(result[key] for result in results) for key in results[0]},
                     "low": min(result["epoch_s"] for result in results),
                     "high": max(result["epoch_s"] for result in results)}
              for name, results in rounds.items()}

    # The recipe's FLOPs per epoch, as benchmarks/training.py counts them (training images only here).
    macs = [784 * 128, 128 * 64, 64 * 10]
    epoch_flops = N_TRAIN * (3 * 2 * sum(macs) - 2 * macs[0])
    floor_epoch = epoch_flops / floor_rate
    default = epochs[AS_RUN]["epoch_s"]
    layer_one = products[:2]
    best_layer_one_s = sum(row["flops"] / max(row["xla_f32"], row["numpy_f32"]) for row in layer_one)
    bound = best_layer_one_s * STEPS

    lines = [
        "# The tutorial MLP's training loop: its matrix multiplies, and what was tried",
        "",
        f"Date: {machine_line()} · floor rate {floor_rate / 1e9:.0f} GFLOP/s (NumPy float32 2048², best of 5)",
        "",
        "Reproduce: `.venv/bin/python benchmarks/mlp_epoch.py`",
        "",
        "## The step's products at their shapes (batch 128), GFLOP/s",
        "",
        "| product | shape | XLA float32 | NumPy float32 (OpenBLAS) | XLA bfloat16 |",
        "|---|---|---:|---:|---:|",
    ]
    for row in products:
        lines.append(f"| {row['name']} | {row['shape']} | {row['xla_f32'] / 1e9:.0f} | {row['numpy_f32'] / 1e9:.0f} | "
                     f"{row['xla_bf16'] / 1e9:.0f} |")
    lines += [
        "",
        "Each product timed alone (best of 5 timings of repeated calls).",
        "",
        f"## One epoch of the fast engine's program ({N_TRAIN:,} images, batch {BATCH}, {STEPS} steps)",
        "",
        "| variant | s per epoch | rounds: fastest–slowest | vs as run | compile s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, result in epochs.items():
        lines.append(f"| {name} | {result['epoch_s']:.3f} | {result['low']:.3f}–{result['high']:.3f} | "
                     f"{result['epoch_s'] / default:.2f}× | {result['compile_s']:.1f} |")
    lines += [
        "",
        f"Each variant: the median of {args.rounds} rounds (variants alternating), each round the median of "
        f"{args.repeats} epochs after the compiling one, on random images (the time does not depend on the pixel "
        "values).",
        "",
        "## What this means for the goal (loop within 1.5× of the floor)",
        "",
        f"- Floor for one epoch's training FLOPs ({epoch_flops / 1e9:.1f} GFLOP) at {floor_rate / 1e9:.0f} GFLOP/s: "
        f"{floor_epoch:.3f} s; 1.5× of it: {1.5 * floor_epoch:.3f} s.",
        f"- The epoch as run: {default:.3f} s, {default / floor_epoch:.1f}× the floor.",
        f"- The first layer's two products alone, each at the faster of XLA's and NumPy's float32 rate for its "
        f"shape, {STEPS} times: {bound:.3f} s per epoch, {bound / floor_epoch:.1f}× the floor, before any other "
        "work of the step (the other layers, dropout, softmax, Adam, the gather of each batch).",
        f"- So the rest of each step takes {(default - bound) / STEPS * 1e6:.0f} µs of the epoch's "
        f"{default / STEPS * 1e6:.0f} µs per step (the other layers, dropout's random numbers, softmax, Adam).",
        "- Variants whose slowest round beat the fastest round as run (faster beyond this run's noise): "
        + (", ".join(name for name, result in epochs.items() if result["high"] < epochs[AS_RUN]["low"]) or "none")
        + ".",
        "",
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
