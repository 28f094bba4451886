"""metrics.json: what a finished run measured (test accuracy, per-class scores, calibration, timings).

Usage:

    write_metrics(run_dir, metrics)        # atomic: a reader never sees half a file
    metrics = read_metrics(run_dir)        # UserError with one sentence when missing or broken

The pipeline (digitlab.pipeline) builds the dict; the report, the model card
and `digitlab runs` read it back. Fields: see docs/cli.md ("Run directory").
"""

from __future__ import annotations

from pathlib import Path

from digitlab.formats import rundir
from digitlab.formats.files import read_json, write_json_atomic

# How confused pairs are spelled in metrics.json ("pair": "4↔9") and printed ("4→9 14").
PAIR_ARROW = "↔"
DIRECTION_ARROW = "→"


def write_metrics(run_dir: str | Path, metrics: dict) -> Path:
    path = Path(run_dir) / rundir.METRICS
    write_json_atomic(path, metrics)
    return path


def read_metrics(run_dir: str | Path) -> dict:
    return read_json(Path(run_dir) / rundir.METRICS,
                     missing_hint="is it a finished digitlab run directory?")
