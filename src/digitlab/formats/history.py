"""history.csv: loss and accuracy per epoch, in the columns of Keras' CSVLogger.

Usage:

    history = read_history(run_dir / "history.csv")   # {"accuracy": [...], "val_loss": [...], ...}
    rows = read_history_rows(run_dir / "history.csv") # [{"epoch": "0", "accuracy": "0.91", ...}, ...]
    trim_history(run_dir / "history.csv", epochs=3)    # drop rows past a checkpoint before resuming
    HISTORY_COLUMNS_WITH_VALIDATION                    # the header the fast engine writes

The file is appended to one row per epoch, so a process killed mid-write can
leave a torn last line: both functions drop a row that does not parse, and a
resumed run rewrites it.
"""

from __future__ import annotations

import csv
from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats.files import atomic_path

# Keras' CSVLogger writes the logs in sorted order after "epoch".
HISTORY_COLUMNS = ["epoch", "accuracy", "loss"]
HISTORY_COLUMNS_WITH_VALIDATION = HISTORY_COLUMNS + ["val_accuracy", "val_loss"]


def _rows(history_path: Path) -> tuple[list[str], list[dict]]:
    """(header, complete rows); rows that do not parse (a torn last line) are dropped.

    A file that is no CSV text at all (binary bytes, a line past the csv module's
    field limit) is a UserError naming it, not a decoding error from deep inside.
    """
    try:
        with Path(history_path).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = [str(name) for name in reader.fieldnames or []]
            rows = []
            for row in reader:
                try:
                    int(row["epoch"])
                    [float(row[name]) for name in header if name != "epoch"]
                except (KeyError, TypeError, ValueError):
                    continue
                rows.append(row)
    except (UnicodeDecodeError, csv.Error) as error:
        reason = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
        raise UserError(f"{history_path} is not a history CSV file ({reason}); it is damaged.") from None
    return header, rows


def read_history_rows(history_path: str | Path) -> list[dict[str, str]]:
    """The complete rows of history.csv as dicts of strings (a torn last line dropped)."""
    return _rows(Path(history_path))[1]


def read_history(history_path: str | Path) -> dict[str, list[float]]:
    """history.csv → {"accuracy": [...], "loss": [...], "val_accuracy": [...], ...}."""
    header, rows = _rows(Path(history_path))
    columns = [name for name in header if name != "epoch"]
    return {name: [float(row[name]) for row in rows] for name in columns}


def trim_history(history_path: str | Path, epochs: int) -> None:
    """Keep only rows of epochs before `epochs`, so a resumed run does not log an epoch twice."""
    history_path = Path(history_path)
    if not history_path.is_file():
        return
    header, rows = _rows(history_path)
    if not header:
        return
    kept = [row for row in rows if int(row["epoch"]) < epochs]
    with atomic_path(history_path) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(kept)
