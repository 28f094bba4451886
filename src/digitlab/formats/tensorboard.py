"""How long a run trained in all, across `--resume`s, read back from its TensorBoard event files.

Usage:

    seconds = training_seconds(run_dir)   # None when the run has no event files

Why: a run stopped and resumed (`digitlab train --resume RUN`) is trained by
several processes, and each one times only its own part. Every process that
trains writes its own event file in `logs/train/` (Keras' TensorBoard callback
or the fast engine's writer): the file starts with an event stamped when
training began, and each finished epoch adds events stamped when it ended. The
span from the first stamp to the last epoch's is that process's training time,
and the spans add up to the run's. Time spent in an epoch that was cut off
before it ended is not counted: that work was lost and redone.

Event files are TFRecord files; reading them here takes a dozen lines and no
TensorFlow (tensorboard's own loader imports TensorFlow when it is installed).
"""

from __future__ import annotations

import struct
from pathlib import Path

from digitlab.formats import rundir

# A TFRecord: uint64 length, uint32 CRC of the length, the bytes, uint32 CRC of the bytes.
_HEADER = struct.Struct("<QI")
_FOOTER_BYTES = 4


def _records(path: Path):
    with path.open("rb") as handle:
        while True:
            header = handle.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            (length, _) = _HEADER.unpack(header)
            data = handle.read(length)
            if len(data) < length or len(handle.read(_FOOTER_BYTES)) < _FOOTER_BYTES:
                return  # a file cut off mid-record: its last, incomplete event is ignored
            yield data


def process_span(path: Path) -> float:
    """Seconds from an event file's first event to its last epoch's; 0 when no epoch finished."""
    from tensorboard.compat.proto.event_pb2 import Event  # a training dependency: only runs with logs need it

    started = last_epoch = None
    for data in _records(path):
        try:
            event = Event.FromString(data)
        except Exception:  # noqa: BLE001 - a damaged record: skip it, as tensorboard does
            continue
        if started is None:
            started = event.wall_time
        if event.summary.value:
            last_epoch = event.wall_time
    if started is None or last_epoch is None:
        return 0.0
    return max(0.0, last_epoch - started)


def training_seconds(run_dir: str | Path) -> float | None:
    """The run's training time summed over every process that trained it, or None without event files."""
    files = sorted((Path(run_dir) / rundir.TENSORBOARD_LOGS / "train").glob("events.out.tfevents.*"))
    if not files:
        return None
    return round(sum(process_span(path) for path in files), 3)


def run_training_seconds(run_dir: str | Path, metrics: dict) -> float | None:
    """A finished run's whole training time: metrics.json's train_seconds, else the longer of its
    process timer and its logs (runs finished before train_seconds was recorded, resumed or not)."""
    if metrics.get("train_seconds") is not None:
        return metrics["train_seconds"]
    timed = (metrics.get("timings_seconds") or {}).get("train")
    logged = training_seconds(run_dir)
    known = [value for value in (timed, logged) if value is not None]
    return max(known) if known else None
