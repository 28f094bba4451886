"""The fast engine trains the same recipe as model.fit: same artifacts, same learning, resumable.

Each run is its own `digitlab` process: the engine needs Keras on JAX, and a
pytest process has usually imported Keras on TensorFlow already.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL = ["--limit-train", "6000", "--limit-test", "1000", "--quiet"]


def train(runs_dir: Path, *args: str, backend: str | None = None) -> Path:
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    if backend:
        environment["KERAS_BACKEND"] = backend
    before = set(runs_dir.iterdir()) if runs_dir.exists() else set()
    result = subprocess.run(
        [sys.executable, "-m", "digitlab", "train", "--model", "mlp", "--runs-dir", str(runs_dir), *args],
        capture_output=True, text=True, timeout=600, env=environment,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    if "--resume" in args:
        return Path(args[args.index("--resume") + 1])
    (run_dir,) = set(runs_dir.iterdir()) - before
    return run_dir


def history(run_dir: Path) -> list[dict]:
    with (run_dir / "history.csv").open() as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="module")
def fast_and_keras_runs(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    fast = train(runs_dir, "--epochs", "3", *SMALL)
    keras_fit = train(runs_dir, "--epochs", "3", "--engine", "keras", *SMALL, backend="tensorflow")
    return fast, keras_fit


def test_default_engine_is_fast_on_jax(fast_and_keras_runs):
    fast, keras_fit = fast_and_keras_runs
    assert metrics(fast)["versions"]["backend"] == "jax"
    assert json.loads((fast / "config.json").read_text())["engine"] == "auto"
    assert metrics(keras_fit)["versions"]["backend"] == "tensorflow"


def test_fast_engine_writes_the_same_artifacts(fast_and_keras_runs):
    fast, keras_fit = fast_and_keras_runs
    for name in ("config.json", "history.csv", "metrics.json", "model.keras", "report.html", "calibration.png"):
        assert (fast / name).is_file(), name
    assert list(history(fast)[0]) == list(history(keras_fit)[0])  # same CSV columns, same order
    assert any((fast / "logs" / "train").iterdir()) and any((fast / "logs" / "validation").iterdir())
    assert (fast / "checkpoints" / "epoch-0003.weights.h5").is_file()
    assert metrics(fast)["reload_identical"] is True


def test_fast_engine_learns_like_model_fit(fast_and_keras_runs):
    fast, keras_fit = (history(run) for run in fast_and_keras_runs)
    for curve in (fast, keras_fit):
        losses = [row["loss"] for row in curve]
        assert losses == sorted(losses, reverse=True), "training loss should fall every epoch"
    assert abs(fast[-1]["val_accuracy"] - keras_fit[-1]["val_accuracy"]) < 0.03
    assert fast[-1]["val_loss"] == pytest.approx(keras_fit[-1]["val_loss"], rel=0.25)
    accuracies = [metrics(run)["test_accuracy"] for run in fast_and_keras_runs]
    assert min(accuracies) > 0.85 and abs(accuracies[0] - accuracies[1]) < 0.03  # ~0.88 after 3 small epochs


def test_fast_engine_is_repeatable_and_resumable(fast_and_keras_runs, tmp_path):
    fast, _ = fast_and_keras_runs
    again = train(tmp_path / "again", "--epochs", "3", *SMALL)
    assert history(again) == history(fast)

    interrupted = train(tmp_path / "resume", "--epochs", "1", *SMALL)
    train(tmp_path / "resume", "--resume", str(interrupted), "--epochs", "3", "--quiet")
    rows = history(interrupted)
    assert [row["epoch"] for row in rows] == [0.0, 1.0, 2.0]
    # The resumed epochs shuffle as the uninterrupted run did, so the curves agree closely.
    assert rows[-1]["val_accuracy"] == pytest.approx(history(fast)[-1]["val_accuracy"], abs=0.01)


def test_fast_engine_trains_a_cnn_as_model_fit_does(tmp_path):
    # On the fast engine, convolutions and pooling run as matrix multiplies (digitlab.train.fast.convolutions).
    small = ["--model", "cnn", "--epochs", "2", "--limit-train", "3000", "--limit-test", "500", "--quiet"]
    fast = train(tmp_path, "--engine", "fast", *small)
    keras_fit = train(tmp_path, "--engine", "keras", *small, backend="tensorflow")
    assert metrics(fast)["versions"]["backend"] == "jax"
    assert metrics(fast)["reload_identical"] is True
    for curve in (history(fast), history(keras_fit)):
        assert curve[1]["loss"] < curve[0]["loss"]
    accuracies = [metrics(run)["test_accuracy"] for run in (fast, keras_fit)]
    assert min(accuracies) > 0.7 and abs(accuracies[0] - accuracies[1]) < 0.05  # ~0.8 after 2 small epochs


def test_fast_engine_augments_in_its_program(tmp_path):
    small = ["--augment", "--engine", "fast", "--epochs", "2", "--limit-train", "3000", "--limit-test", "500", "--quiet"]
    augmented = train(tmp_path / "augmented", *small)
    assert json.loads((augmented / "config.json").read_text())["augment"] is True
    assert metrics(augmented)["versions"]["backend"] == "jax"
    assert metrics(augmented)["test_accuracy"] > 0.5  # ~0.66 after 2 small augmented epochs; chance is 0.1
    # Same seed, same augmented batches: the run repeats exactly.
    assert history(train(tmp_path / "again", *small)) == history(augmented)
    plain = train(tmp_path / "plain", *[arg for arg in small if arg != "--augment"])
    assert history(plain)[0]["loss"] < history(augmented)[0]["loss"]  # augmented batches are harder to fit
