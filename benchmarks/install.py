"""The lean install against the full one: the core venv's size and install time, and `digitlab predict` side by side.

Usage:

    .venv/bin/python benchmarks/install.py [--rounds 5] [--keep DIR] [--out benchmarks/RESULTS-install.md]

Builds the wheel (`python -m build`), installs it without extras into a fresh
venv (pip's cache as this machine has it; the first install on a machine
downloads the wheels too, so its time is a lower bound), and measures the
venv's size on disk (pip, the bundled models and the web assets included).
Then it times whole processes, alternating the variants in every round so a
slow spell of this shared machine hits them all alike:

  - bare: the core venv's `python -c "import numpy, PIL.Image, scipy.ndimage, onnxruntime"`,
    the libraries the reader needs, and nothing of digitlab;
  - core: the core venv's `digitlab predict one.jpg`;
  - full: this repository's `.venv` (every extra) `digitlab predict one.jpg`.

Goals (issue 18): core predict within 1.5× of bare; the core venv ≤ 400 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

from common import ROOT, machine_line, write_results

BARE_IMPORTS = "import numpy, PIL.Image, scipy.ndimage, onnxruntime"
GOAL_RATIO, GOAL_MB = 1.5, 400


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def build_core_venv(work: Path) -> tuple[Path, float]:
    """(the venv, seconds pip took to install the wheel into it)."""
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("digitlab-*.whl")
    environment = work / "core-venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    started = time.perf_counter()
    subprocess.run([str(environment / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, capture_output=True)
    return environment, time.perf_counter() - started


def timed(command: list[str], environment: dict, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=environment, cwd=cwd)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build the core venv here and keep it (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-install.md")
    args = parser.parse_args()

    from digitlab.synth import TEST_SEEDS, render_photo

    work = args.keep or Path(tempfile.mkdtemp(prefix="digitlab-install-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        core, install_seconds = build_core_venv(work)
        photo = work / "one.jpg"
        photo.write_bytes(render_photo(TEST_SEEDS[0] + 7, text="2026").jpeg)
        # An empty models directory: both installs read with the reader bundled in the package.
        environment = {**{key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
                       "DIGITLAB_MODELS_DIR": str(work / "no-models")}
        variants = {
            "bare imports (numpy, PIL, scipy.ndimage, onnxruntime)": [str(core / "bin" / "python"), "-c",
                                                                      BARE_IMPORTS],
            "core: `digitlab predict one.jpg`": [str(core / "bin" / "digitlab"), "predict", str(photo)],
            "full: `digitlab predict one.jpg`": [str(ROOT / ".venv" / "bin" / "digitlab"), "predict", str(photo)],
        }
        for command in variants.values():  # warm the page cache once; not timed
            timed(command, environment, work)
        seconds = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, command in variants.items():
                seconds[name].append(timed(command, environment, work))
        core_mb = folder_bytes(core) / 1e6
        full_mb = folder_bytes(ROOT / ".venv") / 1e6
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in seconds.items()}
    bare, core_predict, full_predict = medians.values()
    lines = [
        "# The lean install: size, install time, `digitlab predict` side by side",
        "",
        f"Date: {machine_line()}",
        "",
        f"Reproduce: `.venv/bin/python benchmarks/install.py --rounds {args.rounds}`",
        "",
        f"Whole processes, the variants alternated over {args.rounds} rounds (median, and the fastest–slowest "
        "round); no models directory, so both read with the reader bundled in the package.",
        "",
        "| process | median s | fastest–slowest s | × bare |",
        "|---|---:|---:|---:|",
    ]
    for name, values in seconds.items():
        lines.append(f"| {name} | {medians[name]:.2f} | {min(values):.2f}–{max(values):.2f} | "
                     f"{medians[name] / bare:.2f} |")
    ratio = core_predict / bare
    lines += [
        "",
        f"- Core predict ÷ bare imports: **{ratio:.2f}×** (goal ≤ {GOAL_RATIO}×: "
        f"{'met' if ratio <= GOAL_RATIO else 'not met'}); the full install's predict takes "
        f"{full_predict / core_predict:.2f}× the core's.",
        f"- Core venv on disk: **{core_mb:.0f} MB** (pip included; goal ≤ {GOAL_MB} MB: "
        f"{'met' if core_mb <= GOAL_MB else 'not met'}); this repository's full `.venv`: {full_mb:,.0f} MB.",
        f"- Installing the wheel into the fresh venv: {install_seconds:.0f} s with pip's cache warm.",
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
