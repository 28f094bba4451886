"""kill -9 at random moments of training runs, `digitlab train --resume` each: do they all finish whole?

Usage:

    .venv/bin/python benchmarks/kill_resume.py [--kills 20] [--epochs 5] [--seed 0]
                                               [--out benchmarks/RESULTS-kill-resume.md]

For each engine (Keras' model.fit on TensorFlow, the fast engine on JAX) one
uninterrupted run of `digitlab train --model mlp --epochs E` is the reference:
its test accuracy, and the moments of its writes (tests/stalled_training.py
prints each). Then half the kills per engine are drawn:

- inside a write: a write picked at random among the run's checkpoints,
  model.keras and metrics.json writes, stalled half done (stalled_training.py)
  and killed there: the worst moment for a file;
- at a random time: a moment drawn uniformly over the reference run, from its
  first write in the run directory to its last write (so over the epoch
  boundaries, evaluation and saving too), named as "d seconds after the write
  of file F"; the killed run is killed d seconds after its own write of F.

Each killed run is resumed (`digitlab train --resume RUN`, a plain process) and
counts as whole when the resume exits 0, no process printed a traceback, the
history has every epoch once, metrics.json says finished with E epochs, the
reloaded model predicts identically, and the test accuracy is within
TOLERANCE of the engine's uninterrupted run. Goal: all of them, 0 tracebacks.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, ensure_data, machine_line, write_results

STALLER = ROOT / "tests" / "stalled_training.py"
TOLERANCE = 0.002  # 0.2 percentage points
ENGINES = {"keras": "tensorflow", "fast": "jax"}
DEADLINE_SECONDS = 900


def _environment(backend: str) -> dict:
    return {**os.environ, "KERAS_BACKEND": backend}


class Child:
    """A `digitlab train` process through the staller, its stdout lines in a queue as they come."""

    def __init__(self, pattern: str, nth: int, args: list[str], backend: str) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, str(STALLER), pattern, str(nth), "train", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment(backend), cwd=ROOT,
        )
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, None), daemon=True).start()

    def _read(self, stream, lines) -> None:
        for line in stream:
            if lines is not None:
                lines.put((time.perf_counter() - self.started, line.rstrip("\n")))
            else:
                self.stderr.append(line)
        if lines is not None:
            lines.put(None)

    def wait_for(self, prefix: str) -> float | None:
        """Seconds since start when a stdout line starts with prefix; None if the process ended first."""
        while True:
            item = self.lines.get(timeout=DEADLINE_SECONDS)
            if item is None:
                return None
            if item[1].startswith(prefix):
                return item[0]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)


def reference_run(runs_dir: Path, train_args: list[str], backend: str) -> dict:
    """The uninterrupted run: its test accuracy, and when each write and the run directory happened."""
    child = Child("*", 0, train_args + ["--runs-dir", str(runs_dir)], backend)
    writes = []
    while (item := child.lines.get(timeout=DEADLINE_SECONDS)) is not None:
        if item[1].startswith("WROTE "):
            writes.append((item[0], item[1].removeprefix("WROTE ")))
    child.process.wait(timeout=DEADLINE_SECONDS)
    ended = time.perf_counter() - child.started
    if child.process.returncode != 0:
        raise SystemExit(f"the reference run failed:\n{''.join(child.stderr)[-2000:]}")
    (run_dir,) = runs_dir.iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # config.json is the run directory's first write.
    directory_made = next(moment for moment, name in writes if name == "config.json")
    return {"accuracy": metrics["test_accuracy"], "writes": writes, "directory_made": directory_made,
            "seconds": ended}


def kill_and_resume(runs_dir: Path, train_args: list[str], backend: str, plan: dict, epochs: int,
                    reference_accuracy: float) -> dict:
    args = train_args + ["--runs-dir", str(runs_dir)]
    if plan["how"] == "inside a write":
        pattern = plan["file"] if not plan["file"].startswith("epoch-") else "epoch-*.weights.h5"
        child = Child(pattern, plan["nth"], args, backend)
        landed = child.wait_for("STALLED ")
    else:
        # The clock starts at the write the moment follows in the reference run (the nth
        # write of that file here too), so a process that starts or trains slower or
        # faster than the reference is still killed in the same stretch of its run.
        child = Child("*", 0, args, backend)
        seen = 0
        while (moment := child.wait_for(f"WROTE {plan['after']}")) is not None:
            seen += 1
            if seen == plan["after_nth"]:
                break
        remaining = (moment or 0.0) + plan["delay"] - (time.perf_counter() - child.started)
        try:
            child.process.wait(timeout=max(remaining, 0.001))
        except subprocess.TimeoutExpired:
            pass  # still running at the moment drawn: the kill lands there
        landed = None if child.process.poll() is not None else time.perf_counter() - child.started
    child.kill()
    result = {**plan, "killed_at": landed, "tracebacks": int("Traceback" in "".join(child.stderr))}
    runs = list(runs_dir.iterdir()) if runs_dir.is_dir() else []
    if landed is None or not runs:
        return {**result, "whole": False, "note": "the process ended before the kill" if landed is None
                else "no run directory yet"}
    (run_dir,) = runs
    result["checkpointed"] = sorted(path.name for path in (run_dir / "checkpoints").glob("epoch-*.weights.h5")) \
        if (run_dir / "checkpoints").is_dir() else []
    resumed = subprocess.run([sys.executable, "-m", "digitlab", "train", "--resume", str(run_dir), "--quiet"],
                             capture_output=True, text=True, timeout=DEADLINE_SECONDS, env=_environment(backend),
                             cwd=ROOT)
    result["tracebacks"] += int("Traceback" in resumed.stderr)
    result["fallback"] = any("unreadable" in line for line in resumed.stderr.splitlines())
    result["resume_exit"] = resumed.returncode
    if resumed.returncode != 0:
        return {**result, "whole": False, "note": resumed.stderr.strip().splitlines()[-1][:200]}
    with (run_dir / "history.csv").open(newline="") as handle:
        history_epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    accuracy = metrics["test_accuracy"]
    result.update(accuracy=accuracy, delta=accuracy - reference_accuracy, history_epochs=len(history_epochs))
    result["whole"] = (history_epochs == list(range(epochs)) and metrics["status"] == "finished"
                       and metrics["epochs_run"] == epochs and metrics["reload_identical"]
                       and abs(accuracy - reference_accuracy) <= TOLERANCE + 1e-9 and result["tracebacks"] == 0)
    return result


def plans(reference: dict, count: int, rng: random.Random) -> list[dict]:
    """Half the kills inside writes (checkpoints mostly), half at random times after the run dir is made."""
    targets = [name for _, name in reference["writes"] if name.startswith("epoch-")
               or name in ("model.keras", "metrics.json")]
    drawn = []
    for index in range(count):
        if index % 2 == 0:
            name = rng.choice(targets)
            if name.startswith("epoch-"):
                nth = [target for target in targets if target.startswith("epoch-")].index(name) + 1
            else:
                nth = rng.randint(1, targets.count(name))
            drawn.append({"how": "inside a write", "file": name, "nth": nth})
        else:
            # A moment drawn uniformly over the reference run, from its run directory's first
            # write to its last write, named by the write before it and the delay after it.
            moment = rng.uniform(reference["directory_made"], reference["writes"][-1][0])
            index = max(i for i, (written, _) in enumerate(reference["writes"]) if written <= moment)
            written, name = reference["writes"][index]
            after_nth = [other for _, other in reference["writes"][: index + 1]].count(name)
            drawn.append({"how": "at a random time", "after": name, "after_nth": after_nth,
                          "delay": round(moment - written, 2)})
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="in all, split evenly between the engines")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="of the kill plan")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-kill-resume.md")
    options = parser.parse_args()
    ensure_data()
    rng = random.Random(options.seed)
    rows, references = [], {}
    with tempfile.TemporaryDirectory(prefix="kill-resume-") as scratch:
        for engine, backend in ENGINES.items():
            train_args = ["--model", "mlp", "--epochs", str(options.epochs), "--engine", engine]
            references[engine] = reference_run(Path(scratch) / f"{engine}-reference", train_args, backend)
            print(f"{engine}: reference {references[engine]['accuracy']:.2%} in {references[engine]['seconds']:.1f} s",
                  flush=True)
            for index, plan in enumerate(plans(references[engine], options.kills // len(ENGINES), rng)):
                row = kill_and_resume(Path(scratch) / f"{engine}-{index}", train_args, backend, plan,
                                      options.epochs, references[engine]["accuracy"])
                rows.append({"engine": engine, **row})
                print(json.dumps(rows[-1]), flush=True)
    write_results(options.out, report_lines(rows, references, options))


def _where(row: dict) -> str:
    if row["how"] == "inside a write":
        return f"inside the write of {row['file']}"
    nth = f" #{row['after_nth']}" if row["after_nth"] > 1 else ""
    moment = f"{row['delay']:.2f} s after writing {row['after']}{nth}"
    return moment if row.get("killed_at") is not None else f"(meant {moment}: the run ended first)"


def report_lines(rows: list[dict], references: dict, options) -> list[str]:
    whole = sum(row["whole"] for row in rows)
    tracebacks = sum(row["tracebacks"] for row in rows)
    lines = [
        "# kill -9 and resume",
        "",
        f"{machine_line()} · `python benchmarks/kill_resume.py --kills {options.kills} --epochs {options.epochs} "
        f"--seed {options.seed}`",
        "",
        f"`digitlab train --model mlp --epochs {options.epochs}` on the 60,000 MNIST training images, killed with "
        "SIGKILL, then `digitlab train --resume RUN`. Whole: the resume exits 0, every epoch is in the history "
        "once, metrics.json says finished, the reloaded model predicts identically, no traceback, and the test "
        f"accuracy is within {100 * TOLERANCE:.1f} percentage points of the engine's uninterrupted run.",
        "",
        f"**{whole} of {len(rows)} killed runs finished whole; {tracebacks} tracebacks.**",
        "",
        "Uninterrupted runs: " + ", ".join(
            f"{engine} {reference['accuracy']:.2%} in {reference['seconds']:.1f} s"
            for engine, reference in references.items()) + ".",
        "",
        "| engine | killed | checkpoints on disk | fell back | resumed | epochs | test accuracy | Δ vs uninterrupted | whole |",
        "|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        checkpointed = ", ".join(name.removesuffix(".weights.h5") for name in row.get("checkpointed", [])) or "none"
        accuracy = f"{row['accuracy']:.2%}" if "accuracy" in row else "—"
        delta = f"{100 * row['delta']:+.2f} pp" if "delta" in row else "—"
        resumed = "exit 0" if row.get("resume_exit") == 0 else row.get("note", "—")
        lines.append(f"| {row['engine']} | {_where(row)} | {checkpointed} | {'yes' if row.get('fallback') else 'no'} "
                     f"| {resumed} | {row.get('history_epochs', '—')} | {accuracy} | {delta} "
                     f"| {'yes' if row['whole'] else '**no**'} |")
    return lines


if __name__ == "__main__":
    main()
