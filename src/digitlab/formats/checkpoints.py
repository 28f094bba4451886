"""checkpoints/: the training state after finished epochs, for `digitlab train --resume`.

Usage:

    write_checkpoint(run_dir, epochs_done=3, save_weights=model.save_weights)
    completed_epochs(run_dir)            # 3: the newest checkpoint's epoch count (0 when there is none)
    epochs = restore_checkpoint(run_dir, model.load_weights)   # newest readable one; 0 = start afresh

Layout: `checkpoints/epoch-0003.weights.h5` holds the weights and the optimizer
state after 3 epochs (what Keras' `model.save_weights` writes). The epoch count
is in the file's name, so a count can never name weights that are not on disk,
and each file is written under a temporary name and renamed into place
(digitlab.formats.files.atomic_path): a kill mid-write leaves the earlier files
as they were. The newest KEEP checkpoints are kept, so that if the newest one is
unreadable anyway (a disk error, a hand-copied half file), resuming falls back
to the one before.

Runs checkpointed by earlier digitlab versions (Keras' BackupAndRestore layout:
`latest.weights.h5` with the epoch in `training_metadata.json`) still resume.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable

from digitlab.formats import rundir
from digitlab.formats.files import atomic_path, read_json_or_none

logger = logging.getLogger(__name__)

KEEP = 2
_NAME = "epoch-{:04d}.weights.h5"
_NAME_PATTERN = re.compile(r"epoch-(\d+)\.weights\.h5")
# The layout of keras.callbacks.BackupAndRestore, which earlier versions used.
LEGACY_WEIGHTS = "latest.weights.h5"
LEGACY_METADATA = "training_metadata.json"


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / rundir.CHECKPOINTS


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(epochs done, weights file) of every checkpoint in run_dir, newest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME_PATTERN.fullmatch(path.name)
        if match:
            found.append((int(match.group(1)), path))
    legacy = folder / LEGACY_WEIGHTS
    metadata = read_json_or_none(folder / LEGACY_METADATA) if legacy.is_file() else None
    epoch = metadata.get("epoch") if isinstance(metadata, dict) else None
    if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch > 0:
        found.append((epoch, legacy))  # (an epoch count that cannot be read names no usable checkpoint)
    return sorted(found, key=lambda item: item[0], reverse=True)


def completed_epochs(run_dir: str | Path) -> int:
    """How many epochs the newest checkpoint in run_dir holds (0 when there is none)."""
    found = list_checkpoints(run_dir)
    return found[0][0] if found else 0


def write_checkpoint(run_dir: str | Path, epochs_done: int, save_weights: Callable[[Path], None]) -> Path:
    """Save the state after `epochs_done` epochs (through `save_weights(path)`) atomically; keep the newest KEEP."""
    path = checkpoint_dir(run_dir) / _NAME.format(int(epochs_done))
    with atomic_path(path) as partial:
        save_weights(partial)
    # Only once the new file is complete do others go: the oldest past KEEP, and any of
    # later epochs (unreadable ones a resume fell back past: training went on without them).
    others = [(epochs, other) for epochs, other in list_checkpoints(run_dir) if other != path]
    later = [other for epochs, other in others if epochs > epochs_done]
    earlier = [other for epochs, other in others if epochs <= epochs_done]
    for stale in later + earlier[KEEP - 1:]:
        stale.unlink(missing_ok=True)
        if stale.name == LEGACY_WEIGHTS:
            (stale.parent / LEGACY_METADATA).unlink(missing_ok=True)
    return path


def restore_checkpoint(run_dir: str | Path, load_weights: Callable[[Path], None],
                       reset: Callable[[], None] | None = None) -> int:
    """Load the newest readable checkpoint through `load_weights(path)`; return its epoch count.

    An unreadable checkpoint is passed over for the one before, and when none
    can be read, `reset()` undoes whatever a failed load assigned and 0 is
    returned (train from the start). Either way one warning line says so.
    """
    found = list_checkpoints(run_dir)
    unreadable = []
    for epochs, path in found:
        try:
            load_weights(path)
        except Exception as error:  # noqa: BLE001 - h5py and Keras raise OSError, ValueError, KeyError, ...
            unreadable.append((path, error))
            continue
        if unreadable:
            logger.warning("%s; resuming from %s (%d epochs) instead.", _describe(unreadable), path.name, epochs)
        return epochs
    if unreadable:
        if reset is not None:
            reset()
        logger.warning("%s; training starts again from the first epoch.", _describe(unreadable))
    return 0


def _describe(unreadable: list[tuple[Path, Exception]]) -> str:
    names = ", ".join(str(path) for path, _ in unreadable)
    first_reason = str(unreadable[0][1]).splitlines()[0] if str(unreadable[0][1]) else type(unreadable[0][1]).__name__
    subject = "Checkpoint {} is" if len(unreadable) == 1 else "Checkpoints {} are"
    return f"{subject.format(names)} unreadable ({first_reason[:120]})"
