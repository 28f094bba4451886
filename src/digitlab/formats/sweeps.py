"""A sweep's folder (`digitlab tune`): sweep.json, and the trials as a CSV file and a markdown table.

Usage:

    sweep_dir = new_sweep_dir("runs", "cnn")                  # runs/<UTC time>-sweep-cnn/
    write_sweep(sweep_dir, summary, rows)                     # sweep.json, trials.csv, trials.md (atomic)
    read_sweep(sweep_dir)["best"]

The sweep's trials are normal run directories beside it (each row names its
own); the folder holds what ties them together. It has no config.json, so
`digitlab runs` lists the trials, not the sweep. Rows are dicts with the same
keys, the knobs first; the markdown table shows validation figures only,
since they are what chose the best trial.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from digitlab.formats import rundir
from digitlab.formats.files import read_json, write_json_atomic, write_text_atomic
from digitlab.formats.results import markdown_table

SWEEP = "sweep.json"
TRIALS_CSV = "trials.csv"
TRIALS_MARKDOWN = "trials.md"
TRIALS_PLOT = "trials.png"


def new_sweep_dir(runs_dir: str | Path, model_name: str) -> Path:
    """Create and return a fresh sweep folder under runs_dir."""
    return rundir.new_stamped_dir(runs_dir, f"sweep-{model_name}")


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "×".join(str(item) for item in value)
    return "" if value is None else str(value)


def trials_csv(rows: list[dict]) -> str:
    """The rows as CSV text (lists joined with spaces), every column kept."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: " ".join(map(str, value)) if isinstance(value, list) else value
                         for key, value in row.items()})
    return buffer.getvalue()


def trials_markdown(rows: list[dict], columns: list[str]) -> str:
    """The rows as a markdown table of the given columns, accuracies as percentages."""
    def shown(column: str, value) -> str:
        if column.endswith("accuracy") and isinstance(value, float):
            return f"{value:.2%}"
        return _cell(value)

    return "\n".join(markdown_table(columns, [[shown(column, row.get(column)) for column in columns]
                                              for row in rows])) + "\n"


def write_sweep(sweep_dir: str | Path, summary: dict, rows: list[dict], columns: list[str]) -> None:
    """sweep.json (the settings, the best trial and how to train it), trials.csv and trials.md."""
    sweep_dir = Path(sweep_dir)
    write_text_atomic(sweep_dir / TRIALS_CSV, trials_csv(rows))
    write_text_atomic(sweep_dir / TRIALS_MARKDOWN, trials_markdown(rows, columns))
    write_json_atomic(sweep_dir / SWEEP, {**summary, "trials": rows})


def read_sweep(sweep_dir: str | Path) -> dict:
    return read_json(Path(sweep_dir) / SWEEP)
