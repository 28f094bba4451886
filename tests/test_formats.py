"""digitlab.formats: one reader and one writer per file, writes that no reader sees half done."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from digitlab.data import split_validation, validation_images, validation_size, validation_start
from digitlab.errors import UserError
from digitlab.formats import (
    CONFIG_FIELD_MEANINGS,
    RunConfig,
    atomic_path,
    completed_epochs,
    list_checkpoints,
    list_runs,
    read_history,
    read_json,
    read_metrics,
    trim_history,
    restore_checkpoint,
    rundir,
    write_checkpoint,
    write_json_atomic,
    write_metrics,
)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.json"
    write_json_atomic(target, {"test_accuracy": 0.9})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as partial:
            partial.write_text('{"test_accur')  # a writer that dies half way
            raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"test_accuracy": 0.9}
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.json"]


def test_a_new_file_gets_the_mode_a_plain_open_would_give(tmp_path):
    import stat

    write_json_atomic(tmp_path / "card.json", {})
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "card.json").stat().st_mode) == 0o666 & ~mask
    os.chmod(tmp_path / "card.json", 0o640)
    write_json_atomic(tmp_path / "card.json", {"again": True})  # a replaced file keeps its mode
    assert stat.S_IMODE((tmp_path / "card.json").stat().st_mode) == 0o640


def test_the_temporary_file_keeps_the_targets_suffixes(tmp_path):
    # Keras picks the format by the ending (".weights.h5", ".keras"); the rename is in the same folder.
    with atomic_path(tmp_path / "latest.weights.h5") as partial:
        assert partial.name.endswith(".weights.h5") and partial.parent == tmp_path
        partial.write_bytes(b"weights")
    assert (tmp_path / "latest.weights.h5").read_bytes() == b"weights"


def test_metrics_round_trip_and_a_damaged_file_is_one_sentence(tmp_path):
    write_metrics(tmp_path, {"test_accuracy": 0.977, "status": "finished"})
    assert read_metrics(tmp_path)["test_accuracy"] == 0.977
    (tmp_path / "metrics.json").write_text('{"test_accuracy": 0.9')
    with pytest.raises(UserError, match="metrics.json is not valid JSON"):
        read_metrics(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        read_json(tmp_path / "nothing.json")


def test_history_drops_a_torn_last_line(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text("epoch,accuracy,loss\n0,0.9,0.3\n1,0.95,0.2\n2,0.9")  # killed while appending
    assert read_history(history) == {"accuracy": [0.9, 0.95], "loss": [0.3, 0.2]}
    trim_history(history, epochs=1)
    assert read_history(history) == {"accuracy": [0.9], "loss": [0.3]}


def test_a_checkpoint_names_its_epoch_only_once_its_weights_are_complete(tmp_path):
    assert completed_epochs(tmp_path) == 0
    write_checkpoint(tmp_path, 3, lambda path: path.write_bytes(b"weights after epoch 3"))
    assert completed_epochs(tmp_path) == 3 and list_checkpoints(tmp_path)[0][1].read_bytes() == b"weights after epoch 3"

    def crash(path):
        path.write_bytes(b"half")
        raise OSError("No space left on device")

    with pytest.raises(OSError):
        write_checkpoint(tmp_path, 4, crash)
    assert completed_epochs(tmp_path) == 3 and list_checkpoints(tmp_path)[0][1].read_bytes() == b"weights after epoch 3"
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["epoch-0003.weights.h5"]


def test_the_previous_checkpoint_stays_until_the_next_is_complete(tmp_path):
    for epoch in (1, 2, 3):
        write_checkpoint(tmp_path, epoch, lambda path, epoch=epoch: path.write_bytes(b"epoch %d" % epoch))
    assert [epochs for epochs, _ in list_checkpoints(tmp_path)] == [3, 2]


def _loader(loaded):
    def load(path):
        content = path.read_bytes()
        if not content.startswith(b"epoch"):
            raise OSError("Unable to synchronously open file (bad object header version number)")
        loaded.append(content)
    return load


def test_resume_falls_back_to_the_checkpoint_before_an_unreadable_one(tmp_path, caplog):
    for epoch in (2, 3):
        write_checkpoint(tmp_path, epoch, lambda path, epoch=epoch: path.write_bytes(b"epoch %d" % epoch))
    newest = list_checkpoints(tmp_path)[0][1]
    newest.write_bytes(newest.read_bytes()[:3])  # cut short, as a failing disk could
    loaded = []
    assert restore_checkpoint(tmp_path, _loader(loaded)) == 2 and loaded == [b"epoch 2"]
    [record] = caplog.records
    assert "epoch-0003.weights.h5 is unreadable" in record.getMessage()
    assert "resuming from epoch-0002.weights.h5 (2 epochs)" in record.getMessage()


def test_resume_starts_afresh_when_no_checkpoint_is_readable(tmp_path, caplog):
    write_checkpoint(tmp_path, 1, lambda path: path.write_bytes(b"garbage"))
    resets = []
    assert restore_checkpoint(tmp_path, _loader([]), reset=lambda: resets.append(True)) == 0
    assert resets == [True]
    [record] = caplog.records
    assert "starts again from the first epoch" in record.getMessage()


def test_a_checkpoint_written_after_a_fallback_replaces_the_unreadable_later_ones(tmp_path):
    for epoch in (2, 3):
        write_checkpoint(tmp_path, epoch, lambda path: path.write_bytes(b"garbage"))
    assert restore_checkpoint(tmp_path, _loader([])) == 0  # none readable: training starts again
    write_checkpoint(tmp_path, 1, lambda path: path.write_bytes(b"epoch 1"))
    assert [epochs for epochs, _ in list_checkpoints(tmp_path)] == [1]
    write_checkpoint(tmp_path, 2, lambda path: path.write_bytes(b"epoch 2"))
    assert [epochs for epochs, _ in list_checkpoints(tmp_path)] == [2, 1]


def test_checkpoints_of_earlier_versions_still_resume(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "latest.weights.h5").write_bytes(b"epoch 4")
    (folder / "training_metadata.json").write_text('{"epoch": 4, "batch": -1}')
    assert completed_epochs(tmp_path) == 4
    for epoch in (5, 6):
        write_checkpoint(tmp_path, epoch, lambda path, epoch=epoch: path.write_bytes(b"epoch %d" % epoch))
    assert sorted(os.listdir(folder)) == ["epoch-0005.weights.h5", "epoch-0006.weights.h5"]


def test_every_config_field_has_a_meaning_for_the_report():
    assert set(CONFIG_FIELD_MEANINGS) == {field.name for field in dataclasses.fields(RunConfig)}


def test_the_validation_split_is_the_last_images_as_keras_takes_them():
    images, labels = np.arange(60_000), np.arange(60_000) % 10
    assert validation_size(60_000, 0.1) == 6_000 and validation_start(60_000, 0.1) == 54_000
    (fit_images, _), (held_out, held_out_labels) = split_validation(images, labels, 0.1)
    assert len(fit_images) == 54_000 and held_out[0] == 54_000 and len(held_out_labels) == 6_000
    assert np.array_equal(validation_images(images, labels, 0.1)[0], held_out)
    # Keras' own arithmetic for an awkward size: int(n * (1 - split)) images train.
    assert validation_start(1_001, 0.1) == int(1_001 * 0.9)
    assert validation_size(1_000, 0.0) == 0


def _run(tmp_path, metrics=None):
    run_dir = tmp_path / "20261206T120000Z-mlp"
    run_dir.mkdir()
    RunConfig(model="mlp", epochs=4).save(run_dir / rundir.CONFIG)
    if metrics is not None:
        write_metrics(run_dir, metrics)
    return run_dir


def test_a_run_knows_its_state(tmp_path):
    run_dir = _run(tmp_path)
    assert rundir.run_status(run_dir) == rundir.INTERRUPTED  # stopped before it wrote anything
    with rundir.run_lock(run_dir):
        rundir.mark_status(run_dir, rundir.RUNNING)
        assert rundir.run_status(run_dir) == rundir.RUNNING and rundir.training_pid(run_dir) == os.getpid()
        with pytest.raises(UserError, match=f"being trained right now by process {os.getpid()}"):
            with rundir.run_lock(run_dir):
                pass
    # Marked running, but the lock is free: its process is gone.
    assert rundir.run_status(run_dir) == rundir.INTERRUPTED and rundir.training_pid(run_dir) is None
    rundir.mark_status(run_dir, rundir.FAILED, error="OSError: No space left on device")
    assert rundir.run_status(run_dir) == rundir.FAILED
    [run] = list_runs(tmp_path)
    assert run["status"] == "failed" and run["error"].startswith("OSError") and run["epochs"] == 4


def test_runs_finished_before_statuses_existed_are_finished(tmp_path):
    run_dir = _run(tmp_path, {"test_accuracy": 0.97, "epochs_run": 4})
    assert rundir.run_status(run_dir) == rundir.FINISHED
    [run] = list_runs(tmp_path)
    assert (run["epochs_done"], run["test_accuracy"]) == (4, 0.97)
    (run_dir / rundir.MODEL).write_bytes(b"a model")
    assert rundir.latest_run_dir(tmp_path) == run_dir


def test_marking_a_status_keeps_what_metrics_json_holds(tmp_path):
    run_dir = _run(tmp_path, {"status": "finished", "test_accuracy": 0.97})
    rundir.mark_status(run_dir, rundir.RUNNING)  # resumed to train further: the earlier figures stay
    assert read_metrics(run_dir) == {"status": "running", "test_accuracy": 0.97}
    (run_dir / rundir.MODEL).write_bytes(b"the model of the earlier finish")
    assert rundir.latest_run_dir(tmp_path) is None  # only finished runs are picked as models
