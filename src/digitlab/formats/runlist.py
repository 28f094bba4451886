"""What `digitlab runs` lists: every run directory under a runs folder, with its state.

Usage:

    for run in list_runs("runs"):
        run["run"], run["model"], run["status"], run["epochs_done"], run["epochs"], run["test_accuracy"]

Read only: listing never changes a run (a run being trained is only looked at).
"""

from __future__ import annotations

from pathlib import Path

from digitlab.formats import rundir
from digitlab.formats.checkpoints import completed_epochs
from digitlab.formats.files import read_json_or_none


def _json_object(path: Path) -> dict:
    return read_json_or_none(path) or {}  # absent or damaged (any way): listed with what is known


def run_summary(run_dir: str | Path) -> dict:
    """One run's name, model, status, epochs (done and asked for), test accuracy, pid or error."""
    run_dir = Path(run_dir)
    config = _json_object(run_dir / rundir.CONFIG)
    metrics = _json_object(run_dir / rundir.METRICS)
    status = rundir.run_status(run_dir)
    summary = {
        "run": run_dir.name,
        "path": str(run_dir),
        "model": config.get("model") if isinstance(config.get("model"), str) else None,
        "status": status,
        "epochs_done": metrics.get("epochs_run") if status == rundir.FINISHED else completed_epochs(run_dir),
        "epochs": config.get("epochs"),
        "test_accuracy": metrics.get("test_accuracy") if status == rundir.FINISHED else None,
    }
    if status == rundir.RUNNING:
        summary["pid"] = rundir.training_pid(run_dir)
    if status == rundir.FAILED and metrics.get("error"):
        summary["error"] = metrics["error"]
    return summary


def list_runs(runs_dir: str | Path) -> list[dict]:
    """Every run under runs_dir (a folder with a config.json), oldest first."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    # Run names start with a sortable UTC time stamp.
    return [run_summary(path) for path in sorted(root.iterdir()) if (path / rundir.CONFIG).is_file()]
