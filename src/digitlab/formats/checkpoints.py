"""checkpoints/: the state after the last finished epoch, for `digitlab train --resume`.

Usage:

    write_checkpoint(run_dir, epochs_done=3, save_weights=model.save_weights)
    completed_epochs(run_dir)          # 3 (0 when there is no checkpoint)
    weights_path(run_dir)              # run_dir/checkpoints/latest.weights.h5

The layout is that of keras.callbacks.BackupAndRestore (weights with the
optimizer state in `latest.weights.h5`, `{"epoch": n, "batch": -1}` in
`training_metadata.json`), so a run checkpointed by either training engine
resumes under either. The weights are written first, under a temporary name,
and renamed into place; the metadata follows the same way, so the epoch count
never names weights that are not completely on disk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from digitlab.formats import rundir
from digitlab.formats.files import atomic_path, write_json_atomic

WEIGHTS = "latest.weights.h5"
METADATA = "training_metadata.json"


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / rundir.CHECKPOINTS


def weights_path(run_dir: str | Path) -> Path:
    return checkpoint_dir(run_dir) / WEIGHTS


def completed_epochs(run_dir: str | Path) -> int:
    """How many epochs the checkpoint in run_dir holds (0 when there is none)."""
    try:
        return int(json.loads((checkpoint_dir(run_dir) / METADATA).read_text(encoding="utf-8"))["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def write_checkpoint(run_dir: str | Path, epochs_done: int, save_weights: Callable[[Path], None]) -> None:
    """Save weights (through `save_weights(path)`, e.g. a Keras model's) and the epoch count, atomically."""
    with atomic_path(weights_path(run_dir)) as partial:
        save_weights(partial)
    write_json_atomic(checkpoint_dir(run_dir) / METADATA, {"epoch": int(epochs_done), "batch": -1})
