"""CNN training time to 99.0 % and 99.5 % MNIST test accuracy: keras-io's convnet vs digitlab, in one run.

Usage:

    .venv/bin/python benchmarks/time_to_accuracy.py [--out benchmarks/RESULTS-time-to-accuracy.md]

- Reference: benchmarks/reference_convnet.py, the keras-io "Simple MNIST
  convnet" recipe on Keras + TensorFlow (model.fit, constant learning rate),
  with test accuracy measured after every epoch off the clock; its time to a
  target is the training time at the first epoch that reaches it (up to the
  recipe's 15 epochs).
- digitlab: `digitlab train` recipes as a user runs them, each a whole run
  with a fixed number of epochs (a cosine schedule's length is part of the
  recipe, so a shorter run is a different recipe, not an early epoch). Its time
  to a target is the training time (metrics.json `timings_seconds.train`,
  compilation included) of the shortest listed recipe that reaches it.

Every process starts with the data cached, and with XLA's compiled programs
cached from earlier runs (digitlab keeps them on disk), except the row marked
"fresh machine", which gets an empty compilation cache: what a first run on a
new machine pays. Timings on a shared machine are noisy: compare within one run,
and read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from common import ensure_data, digitlab_train, machine_line, run_process, write_results
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

TARGETS = (0.990, 0.995)
# (what it is, `digitlab train` arguments, start with an empty compilation cache?).
# Chosen to be the shortest runs of each architecture that reach a target here;
# the table shows what each reached.
RECIPES = [
    ("quick: half-width vgg, 1 epoch, one-cycle", ["--model", "quick"], False),
    ("quick on a fresh machine: empty compilation cache", ["--model", "quick"], True),
    ("vgg without augmentation, 2 epochs", ["--model", "vgg", "--no-augment", "--epochs", "2"], False),
    ("deotte without augmentation, 8 epochs", ["--model", "deotte", "--no-augment", "--epochs", "8"], False),
]


def reference() -> dict:
    wall, rss, output = run_process([sys.executable, "benchmarks/reference_convnet.py"])
    result = json.loads(output.strip().splitlines()[-1])
    epochs = result["epochs"]
    reached = {}
    for target in TARGETS:
        hit = next((epoch for epoch in epochs if epoch["test_accuracy"] >= target), None)
        reached[target] = None if hit is None else hit["train_seconds"]
    return {"wall": wall, "rss": rss, "epochs": epochs, "reached": reached}


def digitlab_run(arguments: list[str], runs_dir: Path, empty_compilation_cache: bool = False) -> dict:
    environment = None
    if empty_compilation_cache:
        # A cache folder of its own holding only the dataset (digitlab keeps XLA's programs in DIGITLAB_CACHE/jax).
        from digitlab.data.cache import cache_path

        fresh = Path(tempfile.mkdtemp(dir=runs_dir))
        (fresh / "mnist.npz").symlink_to(cache_path("mnist"))
        environment = {**os.environ, "DIGITLAB_CACHE": str(fresh)}
    wall, rss, metrics = digitlab_train(arguments, runs_dir, environment)
    return {"wall": wall, "rss": rss, "train": metrics["timings_seconds"]["train"],
            "accuracy": metrics["test_accuracy"], "backend": metrics["versions"]["backend"]}


def describe_reference(result: dict, target: float) -> str:
    seconds = result["reached"][target]
    if seconds is None:
        best = max(epoch["test_accuracy"] for epoch in result["epochs"])
        return f"not reached in {len(result['epochs'])} epochs (best {best:.2%})"
    epoch = next(epoch["epoch"] for epoch in result["epochs"] if epoch["train_seconds"] == seconds)
    return f"{seconds:.0f} s (epoch {epoch})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-time-to-accuracy.md"))
    args = parser.parse_args()
    ensure_data()

    baseline = reference()
    print("reference", json.dumps(baseline), flush=True)
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        for label, arguments, empty_cache in RECIPES:
            runs.append((label, arguments, digitlab_run(arguments, Path(scratch), empty_cache)))
            print(label, runs[-1][2], flush=True)

    epoch_rows = " · ".join(f"{epoch['epoch']}: {epoch['test_accuracy']:.2%} at {epoch['train_seconds']:.0f} s"
                            for epoch in baseline["epochs"])
    lines = [
        "# CNN training time to 99.0 % and 99.5 % test accuracy",
        "",
        f"Date: {machine_line()}",
        "",
        "Reproduce: `.venv/bin/python benchmarks/time_to_accuracy.py`",
        "",
        "| recipe | backend | training s | whole process s | test accuracy | peak RSS MB |"
        + "".join(f" {target:.1%} reached? | speed-up to {target:.1%} |" for target in TARGETS),
        "|---|---|---:|---:|---:|---:|" + "---|---:|" * len(TARGETS),
    ]
    reference_cells = "".join(f" {describe_reference(baseline, target)} | "
                              f"{'1.0×' if baseline['reached'][target] is not None else '—'} |" for target in TARGETS)
    best_reference = max(epoch["test_accuracy"] for epoch in baseline["epochs"])
    lines.append(f"| reference: keras-io convnet, model.fit, up to 15 epochs | tensorflow | "
                 f"{baseline['epochs'][-1]['train_seconds']:.0f} | {baseline['wall']:.0f} | {best_reference:.2%} (best epoch) "
                 f"| {baseline['rss']} |{reference_cells}")
    for label, arguments, run in runs:
        cells = ""
        for target in TARGETS:
            if run["accuracy"] < target:
                cells += " no | |"
            elif baseline["reached"][target] is None:
                cells += " yes | reference never reached it |"
            else:
                cells += f" yes | {baseline['reached'][target] / run['train']:.1f}× |"
        lines.append(f"| `digitlab train {' '.join(arguments)}` ({label}) | {run['backend']} | {run['train']:.0f} "
                     f"| {run['wall']:.0f} | {run['accuracy']:.2%} | {run['rss']} |{cells}")
    lines += [
        "",
        f"Reference, test accuracy after each epoch (epoch: accuracy at cumulative training seconds): {epoch_rows}.",
        "",
        "Training s: the reference's model.fit time up to its last epoch, test evaluations excluded; digitlab's "
        "`timings_seconds.train` (compilation included). Whole process: start to exit, including Python and Keras "
        "start-up; digitlab's also evaluates, calibrates, saves and reloads the model and writes the report. "
        "Speed-up: the reference's time to the target ÷ the recipe's training time.",
        "",
    ]
    write_results(args.out, lines)
    fastest = {}  # for benchmarks/run.py's goal table: the best speed-up to each target
    for target in TARGETS:
        reached = [run["train"] for _, _, run in runs if run["accuracy"] >= target]
        reference_seconds = baseline["reached"][target]
        fastest[f"{target:.3f}"] = {"digitlab_seconds": min(reached) if reached else None,
                                    "reference_seconds": reference_seconds}
    write_text_atomic(args.out.with_suffix(".json"), json.dumps(fastest, indent=1))


if __name__ == "__main__":
    main()
