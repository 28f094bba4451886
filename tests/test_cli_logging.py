"""The CLI's global -v, -q and --log-file; progress bars only on a terminal; one version source.

A stand-in command that logs at every level (and warns) shows where each record
goes; `predict` shows that a progress bar on a terminal leaves stdout's JSON
unchanged, and that none is drawn when stderr is not a terminal.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest

import digitlab
from digitlab.cli import commands, main
from digitlab.cli.predict_output import predict_and_print
from digitlab.recognize.inputs import collect_inputs
from digitlab.console import progress_enabled, show_progress
from test_vision_fixtures import mnist_digits, mnist_sheet, trained_model_path

ROOT = Path(__file__).resolve().parents[1]


def noisy_command(args) -> int:
    log = logging.getLogger("digitlab.noisy")
    log.debug("a debug detail")
    log.info("a note")
    log.warning("a warning")
    warnings.warn("a Python warning", UserWarning)
    logging.getLogger("otherlibrary").info("another library's note")
    print("the output")
    return 0


@pytest.fixture()
def noisy(monkeypatch):
    """`digitlab models` replaced by noisy_command for the test."""
    monkeypatch.setitem(commands.COMMANDS, "models", noisy_command)


def run(capsys, *argv: str) -> tuple[int, str, list[str]]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err.splitlines()


def test_default_notes_and_one_line_warnings_on_stderr_output_on_stdout(noisy, capsys):
    status, out, err = run(capsys, "models")
    assert status == 0 and out == "the output\n"
    assert err == ["a note", "digitlab: warning: a warning", "digitlab: warning: a Python warning"]


@pytest.mark.parametrize("argv", [("-q", "models"), ("models", "-q"), ("--quiet", "models")])
def test_quiet_leaves_only_warnings_and_errors(noisy, capsys, argv):
    status, out, err = run(capsys, *argv)
    assert status == 0 and out == "the output\n"
    assert err == ["digitlab: warning: a warning", "digitlab: warning: a Python warning"]


def test_verbose_adds_debug_and_twice_other_libraries(noisy, capsys):
    _, _, err = run(capsys, "-v", "models")
    assert "digitlab: debug: digitlab.noisy: a debug detail" in err and "another library's note" not in err
    _, _, err = run(capsys, "-vv", "models")
    assert "another library's note" in err


def test_log_file_gets_notes_with_time_and_level_whatever_quiet_says(noisy, capsys, tmp_path):
    log_file = tmp_path / "digitlab.log"
    status, out, err = run(capsys, "-q", "models", "--log-file", str(log_file))
    assert status == 0 and out == "the output\n" and len(err) == 2
    lines = log_file.read_text().splitlines()
    assert any(line.endswith("INFO    digitlab.noisy: a note") for line in lines), lines
    assert any("WARNING digitlab.noisy: a warning" in line for line in lines), lines
    assert lines[0][:4].isdigit(), "each line starts with the time"


def test_errors_are_one_line_and_in_the_log_file(capsys, tmp_path):
    log_file = tmp_path / "digitlab.log"
    status, _, err = run(capsys, "--log-file", str(log_file), "report", str(tmp_path))
    assert status == 1 and len(err) == 1 and err[0].startswith("digitlab: error:") and "not a digitlab run directory" in err[0]
    assert "ERROR   digitlab.cli:" in log_file.read_text()


def test_an_unwritable_log_file_is_one_line(capsys, tmp_path):
    status, _, err = run(capsys, "--log-file", str(tmp_path / "no" / "such" / "dir.log"), "models")
    assert status == 1 and len(err) == 1 and err[0].startswith("digitlab: error: --log-file")


def test_logging_is_undone_after_each_command(noisy, capsys):
    handlers, level = list(logging.getLogger().handlers), logging.getLogger().level
    run(capsys, "-q", "models")
    assert logging.getLogger().handlers == handlers and logging.getLogger().level == level
    assert progress_enabled() is False  # stderr here is pytest's capture, not a terminal


# ---------- progress bars ----------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress_enabled()
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    assert progress_enabled()
    show_progress(False)
    try:
        assert not progress_enabled()
    finally:
        show_progress(True)


def test_predict_json_is_the_same_with_a_bar_on_the_terminal(tmp_path, monkeypatch):
    from digitlab.recognize import Recognizer

    images, _ = mnist_digits(6)
    for index in range(3):
        (tmp_path / f"{index}.png").write_bytes(mnist_sheet(images[2 * index:2 * index + 2], jpeg=False))
    recognizer = Recognizer(str(trained_model_path()))
    inputs = collect_inputs([str(tmp_path)])

    def output_with(stderr) -> str:
        monkeypatch.setattr(sys, "stderr", stderr)
        out = io.StringIO()
        assert predict_and_print(recognizer, inputs, as_json=True, out=out) == 0
        return out.getvalue()

    plain, terminal = io.StringIO(), FakeTerminal()
    assert output_with(plain) == output_with(terminal)
    assert plain.getvalue() == "" and "Reading:" in terminal.getvalue() and "/3 " in terminal.getvalue()


def test_predict_in_a_pipe_draws_no_bar(tmp_path):
    images, _ = mnist_digits(4)
    for index in range(2):
        (tmp_path / f"{index}.png").write_bytes(mnist_sheet(images[2 * index:2 * index + 2], jpeg=False))
    done = subprocess.run([sys.executable, "-m", "digitlab", "predict", "--json", "--model",
                           str(trained_model_path()), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert [json.loads(line)["path"] for line in done.stdout.splitlines()] == [
        str(tmp_path / "0.png"), str(tmp_path / "1.png")]


# ---------- the version ----------


def test_version_has_one_source():
    done = subprocess.run([sys.executable, "-m", "digitlab", "--version"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == f"digitlab {digitlab.__version__}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "digitlab.__version__"}


def test_the_package_says_it_is_typed():
    assert (Path(digitlab.__file__).parent / "py.typed").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["digitlab"]
