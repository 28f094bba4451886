"""kill -9 inside a checkpoint or model write, then `digitlab train --resume`: the run finishes whole.

Each training is a `digitlab` process started through tests/stalled_training.py,
which stalls the chosen write half done and says so on stdout; the test waits
for that line (with a deadline, no clock) and kills the process there.
benchmarks/kill_resume.py does the same at 20 random moments and measures accuracy.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

STALLER = Path(__file__).with_name("stalled_training.py")
SMALL = ["--model", "mlp", "--epochs", "3", "--limit-train", "6000", "--limit-test", "1000", "--quiet"]
DEADLINE_SECONDS = 300


def _environment(backend: str) -> dict:
    return {**os.environ, "KERAS_BACKEND": backend}


def stall_inside_write(runs_dir: Path, pattern: str, nth: int, *args: str,
                       backend: str = "tensorflow") -> subprocess.Popen:
    """Start `digitlab train`; return once its nth write of `pattern` is half done and stalled there."""
    process = subprocess.Popen(
        [sys.executable, str(STALLER), pattern, str(nth), "train", "--runs-dir", str(runs_dir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_environment(backend),
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] + [lines.put(None)],
                     daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=DEADLINE_SECONDS)
            assert line is not None, f"the run ended without stalling:\n{process.stderr.read()[-2000:]}"
            if line.startswith("STALLED "):
                return process
    except BaseException:
        process.kill()
        process.wait(timeout=60)
        raise


def kill_inside_write(runs_dir: Path, pattern: str, nth: int, *args: str, backend: str = "tensorflow") -> Path:
    """Run `digitlab train` until its nth write of `pattern` is half done, kill -9 it there; the run dir."""
    process = stall_inside_write(runs_dir, pattern, nth, *args, backend=backend)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    (run_dir,) = runs_dir.iterdir()
    return run_dir


def digitlab(*args: str, backend: str = "tensorflow") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *args], capture_output=True, text=True,
                          timeout=DEADLINE_SECONDS, env=_environment(backend))


def run_line(run_dir: Path) -> dict:
    [run] = json.loads(digitlab("runs", "--runs-dir", str(run_dir.parent), "--json").stdout)
    return run


def history_rows(run_dir: Path) -> list[list[float]]:
    with (run_dir / "history.csv").open(newline="") as handle:
        return [[float(value) for value in row.values()] for row in csv.DictReader(handle)]


def history_epochs(run_dir: Path) -> list[int]:
    return [int(row[0]) for row in history_rows(run_dir)]


def assert_finished_whole(run_dir: Path, resumed: subprocess.CompletedProcess) -> dict:
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Traceback" not in resumed.stderr
    assert history_epochs(run_dir) == [0, 1, 2]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["epochs_run"] == 3 and metrics["reload_identical"]
    leftovers = [path.name for folder in (run_dir, run_dir / "checkpoints") for path in folder.iterdir()
                 if ".partial" in path.name]
    assert leftovers == []
    assert run_line(run_dir)["status"] == "finished"
    return metrics


def test_a_kill_inside_a_checkpoint_write_resumes_and_a_bad_newest_checkpoint_falls_back(tmp_path):
    # Killed while writing epoch 3's checkpoint: epochs 1 and 2 are on disk, 3 only half, under a temporary name.
    run_dir = kill_inside_write(tmp_path, "epoch-*.weights.h5", 3, *SMALL, "--engine", "keras")
    assert sorted(path.name for path in (run_dir / "checkpoints").iterdir() if ".partial" not in path.name) == [
        "epoch-0001.weights.h5", "epoch-0002.weights.h5"]
    line = run_line(run_dir)
    assert line["status"] == "interrupted" and line["epochs_done"] == 2
    # And the newest complete checkpoint is damaged anyway (as a failing disk could leave it).
    newest = run_dir / "checkpoints" / "epoch-0002.weights.h5"
    newest.write_bytes(newest.read_bytes()[:1000])

    resumed = digitlab("train", "--resume", str(run_dir), "--quiet")
    metrics = assert_finished_whole(run_dir, resumed)
    [warning] = [line for line in resumed.stderr.splitlines() if "unreadable" in line]
    assert "epoch-0002.weights.h5 is unreadable" in warning and "resuming from epoch-0001.weights.h5" in warning

    # Epochs 2 and 3 were trained again by another process, with the checkpoint's
    # dropout state: the run ends exactly where an uninterrupted one does.
    uninterrupted = digitlab("train", "--runs-dir", str(tmp_path / "uninterrupted"), *SMALL, "--engine", "keras")
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-2000:]
    (reference,) = (tmp_path / "uninterrupted").iterdir()
    assert np.allclose(history_rows(run_dir), history_rows(reference), rtol=0, atol=1e-6)
    assert metrics["test_accuracy"] == json.loads((reference / "metrics.json").read_text())["test_accuracy"]


def test_a_run_killed_while_saving_its_model_resumes_with_its_trained_weights(tmp_path):
    # Every epoch trained (fast engine, Keras on JAX); killed inside the write of model.keras.
    run_dir = kill_inside_write(tmp_path, "model.keras", 1, *SMALL, "--engine", "fast", backend="jax")
    assert not (run_dir / "model.keras").exists()
    assert run_line(run_dir)["status"] == "interrupted"

    metrics = assert_finished_whole(run_dir, digitlab("train", "--resume", str(run_dir), "--quiet", backend="jax"))
    # The saved model is the trained one: it scores on the validation images what the last epoch did.
    with (run_dir / "history.csv").open(newline="") as handle:
        last_epoch = list(csv.DictReader(handle))[-1]
    assert abs(metrics["validation_accuracy"] - float(last_epoch["val_accuracy"])) <= 1 / metrics["n_validation"]


def test_a_run_being_trained_cannot_be_resumed_by_a_second_process(tmp_path):
    process = stall_inside_write(tmp_path, "epoch-*.weights.h5", 1, *SMALL, "--engine", "keras")
    try:  # the stalled process holds the run's lock
        (run_dir,) = tmp_path.iterdir()
        line = run_line(run_dir)
        assert line["status"] == "running" and line["pid"] == process.pid
        second = digitlab("train", "--resume", str(run_dir))
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"is being trained right now by process {process.pid}" in second.stderr
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert run_line(run_dir)["status"] == "interrupted"


def test_ctrl_c_marks_the_run_interrupted(tmp_path):
    process = stall_inside_write(tmp_path, "epoch-*.weights.h5", 1, *SMALL, "--engine", "keras")
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert process.wait(timeout=DEADLINE_SECONDS) == 130
    assert process.stderr.read().strip().splitlines()[-1] == "digitlab: interrupted"
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "metrics.json").read_text()) == {"status": "interrupted"}
    assert run_line(run_dir)["status"] == "interrupted"
