"""User mistakes exit non-zero with one clear line on stderr and no traceback."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from digitlab.formats import models_dir


def digitlab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digitlab", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=os.environ.copy(),
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """The error is one line, the last on stderr; notes logged before it (e.g. "Cached MNIST ...") may precede it."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("digitlab:")] == lines[-1:], result.stderr
    assert lines[-1].startswith("digitlab: error:")
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def test_missing_data_dir(tmp_path):
    missing = tmp_path / "no-such-dir"
    assert_one_line_error(digitlab("run", "--tiny", "--data-dir", str(missing), "--runs-dir", str(tmp_path)),
                          str(missing))


def test_data_dir_with_a_corrupt_file(tmp_path):
    data_dir = tmp_path / "idx"
    data_dir.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (data_dir / name).write_bytes(b"\x00\x00\x08\x03garbage")
    result = digitlab("run", "--tiny", "--data-dir", str(data_dir), "--runs-dir", str(tmp_path / "runs"))
    assert_one_line_error(result, "ubyte")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_missing_model_file(tmp_path):
    assert_one_line_error(digitlab("evaluate", "--model", str(tmp_path / "nope.keras")), "does not exist")


def test_truncated_model_file(tmp_path):
    """A download or copy cut short: said so, not Keras' "File not found" for a file that is there."""
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes((models_dir() / "mlp" / "model.keras").read_bytes()[:3000])
    result = digitlab("evaluate", "--model", str(truncated), "--limit-test", "100")
    assert_one_line_error(result, "not a complete .keras file")
    assert "not found" not in result.stderr


def test_corrupt_model_file(tmp_path):
    """A zip archive that holds no Keras model."""
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("config.json", "{not json")
    assert_one_line_error(digitlab("evaluate", "--model", str(broken), "--limit-test", "100"), "could not be loaded")


def test_report_of_a_non_run_dir(tmp_path):
    assert_one_line_error(digitlab("report", str(tmp_path)), "not a digitlab run directory")


@pytest.mark.parametrize("args", [
    ("run", "--epochs", "0"),
    ("train", "--model", "nope", "--tiny"),
    ("train", "--tiny", "--extra-data", "lowres,pictures"),
    ("train", "--tiny", "--extra-data", "lowres", "--dataset", "fashion"),
    ("train", "--tiny", "--extra-data", "photos", "--extra-photos", "0"),
    ("train", "--tiny", "--init-from", "no-such-model"),
])
def test_bad_training_arguments(args, tmp_path):
    assert_one_line_error(digitlab(*args, "--runs-dir", str(tmp_path)))
    assert not any(tmp_path.iterdir()), "a refused run left a run directory behind"


def test_fine_tuning_a_different_architecture_is_one_line(tmp_path):
    result = digitlab("train", "--model", "cnn", "--init-from", "mlp", "--tiny", "--runs-dir", str(tmp_path))
    assert_one_line_error(result, "holds a 'mlp' model", "--model mlp")
    assert not any(tmp_path.iterdir())


def test_augmentation_on_a_non_tensorflow_backend_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    result = digitlab("train", "--model", "cnn", "--augment", "--tiny", "--quiet", "--runs-dir", str(tmp_path))
    assert_one_line_error(result, "augmentation", "KERAS_BACKEND is 'jax'")
    assert not any(tmp_path.iterdir()), "a refused run left a run directory behind"


def test_report_and_ship_of_an_unfinished_run(tmp_path):
    run_dir = tmp_path / "20261206T120000Z-mlp"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"model": "mlp"}')
    (run_dir / "metrics.json").write_text('{"status": "running"}')  # and no process holds its lock
    for args in (("report", str(run_dir)), ("ship", str(run_dir), "--name", "demo")):
        assert_one_line_error(digitlab(*args), "is interrupted, not finished")


def test_a_bug_is_one_line_and_its_traceback_is_shown_at_verbose(monkeypatch, capsys):
    cli_main = importlib.import_module("digitlab.cli.main")  # the module: digitlab.cli.main is also its function
    from digitlab.cli import commands

    def broken(args):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setitem(commands.COMMANDS, "models", broken)
    assert cli_main.main(["models"]) == cli_main.EXIT_INTERNAL_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "internal error: TypeError: unsupported operand" in lines[0]
    assert cli_main.main(["-v", "models"]) == cli_main.EXIT_INTERNAL_ERROR
    assert "Traceback" in capsys.readouterr().err
