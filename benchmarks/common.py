"""What every speed benchmark here shares: the machine's matmul rate, child processes, FLOP counts.

Used as `from common import ...` by the scripts in this folder (run as
`python benchmarks/NAME.py`, so this folder is on sys.path).

The compute floor of a figure is its FLOPs ÷ the float32 matrix-multiply rate
NumPy's BLAS reaches on this machine. That rate varies between runs on a shared
machine (measured 179 and 349 GFLOP/s on the same day), so it is measured at
the start of a run, and `benchmarks/run.py` measures it once and hands it to
every script through DIGITLAB_BENCH_MATMUL_FLOPS, so that every floor in one
RESULTS.md uses the same figure.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# The benchmarks measure the clone's shipped models (as the tests do), not whatever the
# per-user models directory holds; set DIGITLAB_MODELS_DIR to measure another folder.
os.environ.setdefault("DIGITLAB_MODELS_DIR", str(ROOT / "models"))
MATMUL_ENVIRONMENT = "DIGITLAB_BENCH_MATMUL_FLOPS"


def measure_matmul_flops_per_second(size: int = 2048, repeats: int = 5) -> float:
    """Best-of-N float32 size² matrix multiply through NumPy's BLAS, in FLOP/s."""
    rng = np.random.default_rng(0)
    left, right = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    left @ right  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        left @ right
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best


def matmul_flops_per_second() -> float:
    """The rate the runner measured for this run, or a fresh measurement when run alone."""
    given = os.environ.get(MATMUL_ENVIRONMENT)
    return float(given) if given else measure_matmul_flops_per_second()


def ensure_data() -> None:
    """Fetch and verify MNIST into digitlab's cache first, so no timed process pays for it."""
    subprocess.run([sys.executable, "-m", "digitlab", "data", "fetch"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def run_process(command: list[str], environment: dict | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB, and stdout of one child process; stops the run if it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=ROOT,
                                   env=environment)
        output = process.stdout.read()
        # wait4 rather than wait: it also returns the child's peak memory.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if process.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed with status {process.returncode}:\n{errors.read()[-2000:]}")
    return wall, usage.ru_maxrss // 1024, output


def digitlab_train(arguments: list[str], runs_dir: Path, environment: dict | None = None) -> tuple[float, int, dict]:
    """`digitlab train ARGUMENTS --quiet` into a new folder under runs_dir: wall s, peak RSS MB, its metrics.json."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(dir=runs_dir))
    wall, rss, _ = run_process([sys.executable, "-m", "digitlab", "train", *arguments, "--quiet",
                                "--runs-dir", str(target)], environment)
    (run_dir,) = list(target.iterdir())
    return wall, rss, json.loads((run_dir / "metrics.json").read_text())


def epoch_program_timings(model_name: str, n_images: int, calls: int, batch_size: int = 128,
                          context: contextlib.AbstractContextManager | None = None) -> list[float]:
    """Wall seconds of each of `calls` runs of the fast engine's own compiled epoch program.

    A fresh `model_name` (seed 0, Adam 0.001, categorical cross-entropy) trains on
    n_images random 28×28 images, batch_size per step; the first call compiles.
    Keras must run on JAX (set KERAS_BACKEND before anything imports it); a dtype
    policy set beforehand applies, and `context` is active while the program is
    traced and run (e.g. digitlab.train.fast.convolutions.matmul_convolutions()).
    """
    import jax
    import keras

    from digitlab.train.fast.engine import _epoch_program
    from digitlab.models import create_model

    keras.utils.set_random_seed(0)
    model = create_model(model_name, input_shape=(28, 28), num_classes=10)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    run_epoch = _epoch_program(model, keras.losses.get("categorical_crossentropy"), batch_size, n_images)
    rng = np.random.default_rng(0)
    images = jax.device_put(rng.random((n_images, 28, 28), dtype=np.float32))
    labels = jax.device_put(np.eye(10, dtype=np.float32)[rng.integers(0, 10, n_images)])
    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in model.optimizer.variables])
    timings = []
    with context or contextlib.nullcontext():
        for call in range(calls):
            started = time.perf_counter()
            state, loss, _ = run_epoch(state, images, labels, jax.random.PRNGKey(call))
            jax.block_until_ready(loss)
            timings.append(time.perf_counter() - started)
    return timings


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the true labels (probabilities clipped at 1e-12)."""
    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0))))


def write_results(path: Path, lines: list[str]) -> str:
    """Write a results file atomically (digitlab.formats owns the format) and show it."""
    from digitlab.formats import write_results as write_results_file

    return write_results_file(path, "\n".join(lines))


def finish(lines: list[str], out: Path, no_write: bool) -> int:
    """A benchmark's last step: print the report (--no-write), or write it to `out` (which shows it too)."""
    if no_write:
        print("\n".join(lines))
    else:
        write_results(out, lines)
    return 0


def machine_line() -> str:
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()}, {os.cpu_count()} cores · "
            f"Python {platform.python_version()}")


def forward_flops(model) -> int:
    """2 × multiply-adds per image of the Conv2D and Dense layers (nested models included)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, keras.layers.Conv2D):
            kernel_h, kernel_w, channels_in, channels_out = layer.kernel.shape
            _, out_h, out_w, _ = layer.output.shape
            total += 2 * kernel_h * kernel_w * channels_in * channels_out * out_h * out_w
        elif isinstance(layer, keras.layers.Dense):
            inputs, outputs = layer.kernel.shape
            total += 2 * inputs * outputs
    return int(total)
