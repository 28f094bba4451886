"""End to end: `digitlab run --tiny` writes every artifact; resume, evaluate, report, determinism."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digitlab.cli import main
from digitlab.models import list_models, model_recipe

ARTIFACTS = [
    "config.json", "history.csv", "metrics.json", "model.keras",
    "samples.png", "history.png", "confusion.png", "misclassified.png", "calibration.png", "report.html",
]


def run_cli(*args: str) -> int:
    return main(list(args))


def only_run_dir(runs_dir: Path) -> Path:
    (run_dir,) = list(runs_dir.iterdir())
    return run_dir


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    runs_dir = tmp_path_factory.mktemp("runs")
    assert run_cli("run", "--tiny", "--quiet", "--runs-dir", str(runs_dir)) == 0
    return only_run_dir(runs_dir)


def test_tiny_run_writes_every_artifact(tiny_run):
    for name in ARTIFACTS:
        assert (tiny_run / name).is_file() and (tiny_run / name).stat().st_size > 0, name
    assert tiny_run.name.endswith("-mlp")
    assert any((tiny_run / "logs").rglob("events.out.tfevents.*")), "no TensorBoard event file"
    assert (tiny_run / "checkpoints").is_dir()


def test_tiny_run_config_and_history(tiny_run):
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["model"] == "mlp" and config["epochs"] == 2 and config["limit_train"] == 2000
    assert config["command"].startswith("digitlab")
    with (tiny_run / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(rows[0])


def test_tiny_run_metrics(tiny_run):
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1.0  # 2 epochs on 2,000 images: ~75 %, chance is 10 %
    assert metrics["n_test"] == 500 and metrics["n_train"] == 2000
    assert metrics["error_count"] == round((1 - metrics["test_accuracy"]) * 500)
    assert metrics["test_loss"] > 0
    assert set(metrics["per_class"]) == {str(digit) for digit in range(10)}
    assert metrics["reload_identical"] is True
    assert metrics["reload_accuracy"] == metrics["test_accuracy"]
    assert metrics["parameters"] == 109_386
    assert metrics["confused_pairs"] and metrics["confused_pairs"][0]["total"] >= 1
    assert len(metrics["data"]["sha256"]) == 4
    assert {"train", "evaluate", "total"} <= set(metrics["timings_seconds"])
    assert metrics["versions"]["keras"].startswith("3.")
    calibration = metrics["calibration"]
    assert 0.05 < calibration["temperature"] < 20 and "200 validation images" in calibration["fitted_on"]
    assert 0 <= calibration["ece_calibrated"] <= 1 and len(calibration["bins_calibrated"]) == 15


def test_report_is_self_contained(tiny_run):
    html = (tiny_run / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert 'src="http' not in html and "href=\"http" not in html


def test_evaluate_json_matches_the_run(tiny_run, capsys):
    capsys.readouterr()
    assert run_cli("evaluate", "--model", str(tiny_run), "--limit-test", "500", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert result["accuracy"] == metrics["test_accuracy"]
    assert result["dataset"] == "mnist"


def test_report_command_rewrites_the_report(tiny_run, capsys):
    (tiny_run / "report.html").unlink()
    assert run_cli("report", str(tiny_run)) == 0
    assert (tiny_run / "report.html").is_file()


def test_same_seed_same_run(tiny_run, tmp_path):
    assert run_cli("run", "--tiny", "--quiet", "--runs-dir", str(tmp_path)) == 0
    again = json.loads((only_run_dir(tmp_path) / "metrics.json").read_text())
    first = json.loads((tiny_run / "metrics.json").read_text())
    for key in ("test_accuracy", "test_loss", "final_history", "confusion_matrix"):
        assert again[key] == first[key], key


def test_resume_continues_from_the_checkpoint(tmp_path):
    assert run_cli("train", "--model", "mlp", "--tiny", "--epochs", "1", "--quiet", "--runs-dir", str(tmp_path)) == 0
    run_dir = only_run_dir(tmp_path)
    first = json.loads((run_dir / "metrics.json").read_text())
    assert first["resumed"] is False and first["train_seconds"] == first["timings_seconds"]["train"]
    assert run_cli("train", "--resume", str(run_dir), "--epochs", "3", "--quiet") == 0
    with (run_dir / "history.csv").open() as handle:
        epochs = [row["epoch"] for row in csv.DictReader(handle)]
    assert epochs == ["0", "1", "2"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["epochs_run"] == 3
    # The run's training time counts the first process's epoch too, not only this process's part.
    assert metrics["resumed"] is True
    assert metrics["train_seconds"] > metrics["timings_seconds"]["train"]
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 3


def _files(run_dir: Path) -> dict[str, bytes]:
    return {str(path.relative_to(run_dir)): path.read_bytes() for path in sorted(run_dir.rglob("*")) if path.is_file()}


def test_resume_of_a_finished_run_changes_nothing(tmp_path, capsys):
    assert run_cli("train", "--model", "mlp", "--tiny", "--epochs", "1", "--quiet", "--runs-dir", str(tmp_path)) == 0
    run_dir = only_run_dir(tmp_path)
    before = _files(run_dir)
    capsys.readouterr()
    assert run_cli("train", "--resume", str(run_dir), "--quiet") == 1
    error = capsys.readouterr().err
    assert error.startswith("digitlab: error:") and "is finished (1 epoch trained)" in error and "Traceback" not in error
    assert _files(run_dir) == before


@pytest.mark.parametrize("engine", ["keras", "fast"])
def test_resume_after_training_but_before_saving_restores_the_trained_weights(tmp_path, engine):
    """A process killed after its last epoch, before model.keras and metrics.json: resume evaluates the trained model."""
    # In fresh processes: Keras' backend is chosen once per process (JAX for the fast engine).
    def digitlab(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "digitlab", *args], capture_output=True, text=True,
                              timeout=600, env={key: value for key, value in os.environ.items()
                                                if key != "KERAS_BACKEND"})
        assert done.returncode == 0, done.stderr

    digitlab("train", "--model", "mlp", "--tiny", "--epochs", "2", "--engine", engine, "--quiet",
             "--runs-dir", str(tmp_path))
    run_dir = only_run_dir(tmp_path)
    trained = json.loads((run_dir / "metrics.json").read_text())
    for name in ("model.keras", "metrics.json", "report.html"):
        (run_dir / name).unlink()
    digitlab("train", "--resume", str(run_dir), "--quiet")
    resumed = json.loads((run_dir / "metrics.json").read_text())
    assert resumed["test_accuracy"] == trained["test_accuracy"] > 0.5
    assert resumed["epochs_run"] == 2


@pytest.mark.parametrize("name", [name for name in list_models() if name != "mlp"])
def test_every_registered_model_trains_in_tiny_mode(name, tmp_path):
    args = ["train", "--model", name, "--tiny", "--epochs", "1", "--limit-train", "600", "--quiet"]
    assert run_cli(*args, "--runs-dir", str(tmp_path)) == 0
    run_dir = only_run_dir(tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["reload_identical"] is True and metrics["epochs_run"] == 1
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == name and config["augment"] == model_recipe(name).get("augment", False)


def test_augmented_training_is_repeatable(tmp_path):
    args = ["train", "--model", "cnn", "--augment", "--tiny", "--epochs", "1", "--limit-train", "600", "--quiet"]
    for attempt in ("first", "second"):
        assert run_cli(*args, "--runs-dir", str(tmp_path / attempt)) == 0
    first, second = (json.loads((only_run_dir(tmp_path / attempt) / "metrics.json").read_text())
                     for attempt in ("first", "second"))
    assert first["final_history"] == second["final_history"]
    assert first["test_accuracy"] == second["test_accuracy"]
