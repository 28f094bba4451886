"""Run directories: `runs/<UTC time>-<model>/` holds everything one training run made.

Usage:

    run_dir = new_run_dir("runs", "mlp")      # runs/20261130T104512Z-mlp/
    latest = latest_run_dir("runs", "mlp")    # newest finished run of that model, or None

Layout: config.json (written before training), history.csv, metrics.json,
model.keras, samples.png, history.png, confusion.png, misclassified.png,
report.html, logs/ (TensorBoard), checkpoints/ (for --resume).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

CONFIG = "config.json"
HISTORY = "history.csv"
METRICS = "metrics.json"
MODEL = "model.keras"
REPORT = "report.html"
CHECKPOINTS = "checkpoints"
TENSORBOARD_LOGS = "logs"


def new_run_dir(runs_dir: str | Path, model_name: str) -> Path:
    """Create and return a fresh, uniquely named run directory."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = Path(runs_dir) / f"{stamp}-{model_name}"
    candidate, counter = base, 1
    # Two runs started in the same second must not share a directory.
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return candidate
        except FileExistsError:
            counter += 1
            candidate = base.with_name(f"{base.name}-{counter}")


def latest_run_dir(runs_dir: str | Path, model_name: str | None = None) -> Path | None:
    """The newest run dir with a saved model (optionally of one model), or None."""
    root = Path(runs_dir)
    if not root.is_dir():
        return None
    finished = [
        path
        for path in root.iterdir()
        if (path / MODEL).is_file() and (model_name is None or run_model_name(path) == model_name)
    ]
    # Names start with a sortable UTC time stamp, so the last one is the newest.
    return max(finished, key=lambda path: path.name, default=None)


def run_model_name(run_dir: Path) -> str | None:
    """The architecture name recorded in a run's config.json (None if unreadable)."""
    try:
        return json.loads((run_dir / CONFIG).read_text(encoding="utf-8")).get("model")
    except (OSError, ValueError):
        return None
