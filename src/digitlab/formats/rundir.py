"""Run directories: `runs/<UTC time>-<model>/` holds everything one training run made.

Usage:

    run_dir = new_run_dir("runs", "mlp")      # runs/20261130T104512Z-mlp/
    latest = latest_run_dir("runs", "mlp")    # newest finished run of that model, or None
    with run_lock(run_dir):                   # UserError when another process is training it
        mark_status(run_dir, RUNNING)         # ...train...; the finished metrics.json says FINISHED
    run_status(run_dir)                       # "running", "finished", "failed" or "interrupted"

Layout: config.json (written before training), history.csv, metrics.json,
model.keras, samples.png, history.png, confusion.png, misclassified.png,
report.html, logs/ (TensorBoard), checkpoints/ (for --resume), run.lock.

A run's state: the training process writes `status` into metrics.json
(running at the start, then finished or failed) and holds an exclusive lock
on run.lock (with its pid inside) while it lives. The kernel releases the lock
when the process dies, even by kill -9, so a run marked running whose lock is
free was interrupted.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:  # Windows: no flock; a run's status is then what its process last wrote
    fcntl = None

from digitlab.errors import UserError
from digitlab.formats.files import read_json, read_json_or_none, remove_partials, write_json_atomic

CONFIG = "config.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
MODEL = "model.keras"
REPORT = "report.html"
CHECKPOINTS = "checkpoints"
TENSORBOARD_LOGS = "logs"
LOCK = "run.lock"

RUNNING, FINISHED, FAILED, INTERRUPTED = "running", "finished", "failed", "interrupted"


# The model name of line-reader runs (digitlab.train.line_training).
LINE_READER_MODEL = "line-reader"


def new_run_dir(runs_dir: str | Path, model_name: str) -> Path:
    """Create and return a fresh, uniquely named run directory."""
    return new_stamped_dir(runs_dir, model_name)


def new_stamped_dir(parent: str | Path, suffix: str) -> Path:
    """Create and return parent/<UTC time>-<suffix>, or -2, -3... after it when one started in the same second."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = Path(parent) / f"{stamp}-{suffix}"
    candidate, counter = base, 1
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            counter += 1
            candidate = base.with_name(f"{base.name}-{counter}")


def latest_run_dir(runs_dir: str | Path, model_name: str | None = None) -> Path | None:
    """The newest run dir with a saved digit model (optionally of one model), or None.

    Line-reader runs (LINE_READER_MODEL) are only found by name: they read strips, not digits.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        return None
    finished = [
        path
        for path in root.iterdir()
        if (path / MODEL).is_file()
        and (run_model_name(path) == model_name if model_name else run_model_name(path) != LINE_READER_MODEL)
        and run_status(path) == FINISHED
    ]
    # Names start with a sortable UTC time stamp, so the last one is the newest.
    return max(finished, key=lambda path: path.name, default=None)


def run_model_name(run_dir: Path) -> str | None:
    """The architecture name recorded in a run's config.json (None if unreadable)."""
    config = read_json_or_none(run_dir / CONFIG)
    model = None if config is None else config.get("model")
    return model if isinstance(model, str) else None


def _read_metrics_or_empty(run_dir: Path) -> dict:
    return read_json_or_none(Path(run_dir) / METRICS) or {}  # absent or damaged: no status recorded


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold run_dir's lock for the block: one training process per run at a time."""
    path = Path(run_dir) / LOCK
    handle = path.open("a+", encoding="utf-8")  # "a+": the pid inside is replaced only once the lock is ours
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                raise _busy(run_dir, handle.read().strip() or "unknown") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        # A process killed mid-write left its temporary files; no one else writes here now.
        for folder in (Path(run_dir), Path(run_dir) / CHECKPOINTS):
            remove_partials(folder)
        yield
    finally:
        handle.close()  # releases the lock; the file stays (only the lock counts)


def _busy(run_dir: str | Path, pid) -> UserError:
    return UserError(f"{run_dir} is being trained right now by process {pid}; wait for it to end or stop it first.")


def refuse_if_training(run_dir: str | Path) -> None:
    """UserError when a process is training run_dir right now."""
    pid = training_pid(run_dir)
    if pid is not None:
        raise _busy(run_dir, pid)


def require_finished(run_dir: str | Path, doing: str) -> None:
    """UserError unless run_dir is a finished run (its model, metrics and report written)."""
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise UserError(f"{run_dir} is not a digitlab run directory (it has no {CONFIG}).")
    if (run_dir / METRICS).is_file():
        read_json(run_dir / METRICS)  # a damaged metrics.json is said as such, not as an interrupted run
    status = run_status(run_dir)
    if status != FINISHED or not (run_dir / MODEL).is_file():
        hint = {RUNNING: "wait for it to finish", FAILED: "see its error with `digitlab runs`",
                INTERRUPTED: f"resume it with `digitlab train --resume {run_dir}`"}.get(status, "train it first")
        raise UserError(f"{run_dir} is {status}, not finished, so it cannot be used to {doing}; {hint}.")


def training_pid(run_dir: str | Path) -> int | None:
    """The pid of the process training run_dir right now, or None when none is."""
    path = Path(run_dir) / LOCK
    if fcntl is None or not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return None


def run_status(run_dir: str | Path) -> str:
    """running, finished, failed or interrupted (a run whose process is gone before it ended)."""
    if training_pid(run_dir) is not None:
        return RUNNING
    metrics = _read_metrics_or_empty(Path(run_dir))
    status = metrics.get("status")
    if status in (FINISHED, FAILED, INTERRUPTED):
        return status
    if status == RUNNING and fcntl is None:
        return RUNNING  # no lock to ask: trust what the process wrote
    if status is None and "test_accuracy" in metrics:
        return FINISHED  # written before runs recorded their status
    return INTERRUPTED  # marked running by a process that is gone, or stopped before it wrote anything


def mark_status(run_dir: str | Path, status: str, **fields) -> None:
    """Set `status` (and `fields`) in run_dir's metrics.json, keeping what it already holds."""
    metrics = _read_metrics_or_empty(Path(run_dir))
    metrics.pop("error", None)  # an earlier failure's reason: a resumed run is past it
    metrics.update(status=status, **fields)
    write_json_atomic(Path(run_dir) / METRICS, metrics)
