"""One compiled CNN training step on JAX: XLA's convolution vs the fast engine's matrix-multiply convolution.

Usage:

    .venv/bin/python benchmarks/convolutions.py [--models cnn vgg deotte] [--out benchmarks/RESULTS-convolutions.md]

For each model, in a fresh process per variant: a jitted `jax.lax.scan` of
training steps (batch 128, Adam, through Keras' stateless API, as the fast
engine runs them) with Keras' own convolution and pooling ("xla"), and inside
`digitlab.fast.convolutions.matmul_convolutions()` ("matmul"). Reports
compile seconds and milliseconds per step (XLA's variant runs fewer steps: it
is slow). This is why the fast engine computes convolutions as it does.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, machine_line

VARIANTS = {"xla": 3, "matmul": 20}  # steps timed per variant


def measure(model_name: str, variant: str) -> dict:
    os.environ["KERAS_BACKEND"] = "jax"
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    from digitlab.fast.convolutions import matmul_convolutions
    from digitlab.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model(model_name, input_shape=(28, 28), num_classes=10)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.random((128, 28, 28), dtype=np.float32))
    labels = jax.nn.one_hot(rng.integers(0, 10, 128), 10)
    loss_function = keras.losses.get("categorical_crossentropy")

    def step(state, _):
        trainable, non_trainable, optimizer_variables = state

        def loss(trainable, non_trainable):
            predictions, non_trainable = model.stateless_call(trainable, non_trainable, images, training=True)
            return jnp.mean(loss_function(labels, predictions)), non_trainable

        (value, non_trainable), gradients = jax.value_and_grad(loss, has_aux=True)(trainable, non_trainable)
        trainable, optimizer_variables = model.optimizer.stateless_apply(optimizer_variables, gradients, trainable)
        return (trainable, non_trainable, optimizer_variables), value

    steps = VARIANTS[variant]
    run = jax.jit(lambda state: jax.lax.scan(step, state, None, length=steps))
    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in model.optimizer.variables])
    context = matmul_convolutions() if variant == "matmul" else contextlib.nullcontext()
    with context:
        started = time.perf_counter()
        state, losses = run(state)
        jax.block_until_ready(losses)
        compile_and_first = time.perf_counter() - started
        started = time.perf_counter()
        state, losses = run(state)
        jax.block_until_ready(losses)
        per_step = (time.perf_counter() - started) / steps
    return {"model": model_name, "variant": variant, "compile_s": compile_and_first - per_step * steps,
            "step_ms": per_step * 1e3, "steps": steps}


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
    lines += ["", "One step: batch 128, forward, gradients and an Adam update, inside a compiled `jax.lax.scan` "
              f"({VARIANTS['xla']} steps timed with XLA's convolution, {VARIANTS['matmul']} with the matmul one).", ""]
    text = "\n".join(lines)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
