"""A run's training time summed over the processes that trained it (digitlab.formats.tensorboard)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.record_writer import RecordWriter

from digitlab.formats import run_training_seconds, training_seconds
from digitlab.formats.tensorboard import process_span


def write_events(path: Path, started: float, epoch_ends: list[float]) -> Path:
    """An event file as a training process leaves it: a start stamp, then per-epoch scalars."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer = RecordWriter(handle)
        writer.write(Event(wall_time=started, file_version="brain.Event:2").SerializeToString())
        for epoch, ended in enumerate(epoch_ends):
            for tag in ("epoch_accuracy", "epoch_loss"):
                summary = Summary(value=[Summary.Value(tag=tag, simple_value=0.5)])
                writer.write(Event(wall_time=ended, step=epoch, summary=summary).SerializeToString())
    return path


def test_spans_of_every_process_add_up(tmp_path):
    train_logs = tmp_path / "logs" / "train"
    write_events(train_logs / "events.out.tfevents.100.host.1.0.v2", 100.0, [130.0, 160.0])  # 60 s
    write_events(train_logs / "events.out.tfevents.500.host.2.0.v2", 500.0, [525.0])  # resumed: 25 s
    # Killed before its first epoch ended: that work was lost and counts nothing.
    write_events(train_logs / "events.out.tfevents.900.host.3.0.v2", 900.0, [])
    assert training_seconds(tmp_path) == pytest.approx(85.0)


def test_a_file_cut_off_mid_record_keeps_its_complete_events(tmp_path):
    path = write_events(tmp_path / "events.out.tfevents.1.host.1.0.v2", 10.0, [20.0, 30.0])
    path.write_bytes(path.read_bytes()[:-7])  # the last record loses its tail
    assert process_span(path) == pytest.approx(20.0)  # up to the last complete epoch event


def test_no_event_files_means_unknown(tmp_path):
    assert training_seconds(tmp_path) is None


def test_a_finished_runs_time_prefers_its_recorded_total(tmp_path):
    write_events(tmp_path / "logs" / "train" / "events.out.tfevents.1.host.1.0.v2", 0.0, [50.0, 100.0])
    assert run_training_seconds(tmp_path, {"train_seconds": 120.0, "timings_seconds": {"train": 40.0}}) == 120.0
    # Recorded before train_seconds existed: a resumed run's logs cover more than its last process.
    assert run_training_seconds(tmp_path, {"timings_seconds": {"train": 40.0}}) == 100.0
    # A run trained in one go: its own timer, which also counts the set-up before the first log event.
    assert run_training_seconds(tmp_path, {"timings_seconds": {"train": 103.0}}) == 103.0
