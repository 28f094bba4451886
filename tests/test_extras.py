"""The core install is the reader; a command whose extra is missing says which one in one line."""

from __future__ import annotations

import importlib.util

import pytest

from digitlab.cli import EXIT_MISSING_EXTRA, build_parser, main
from digitlab.cli.extras import COMMAND_EXTRAS, EXTRAS, OPTION_EXTRAS


def _without(monkeypatch, *modules: str) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name in modules else real_find_spec(name, *args))


@pytest.mark.parametrize("command, arguments, extra", [
    (["train", "--tiny"], "keras", "train"),
    (["run"], "jax", "train"),
    (["evaluate"], "sklearn", "train"),
    (["serve"], "fastapi", "serve"),
    (["export", "--model", "mlp"], "tf2onnx", "export"),
])
def test_a_missing_extra_is_one_line_naming_it(monkeypatch, capsys, command, arguments, extra):
    _without(monkeypatch, arguments)
    assert main(command) == EXIT_MISSING_EXTRA
    error = capsys.readouterr().err
    assert error == (f"digitlab: error: digitlab {command[0]} needs {EXTRAS[extra][0]}: "
                     f"pip install 'digitlab[{extra}]' (not installed: {arguments}).\n")


def test_reader_commands_need_no_extra(monkeypatch, capsys):
    _without(monkeypatch, "keras", "tensorflow", "jax", "fastapi", "sklearn", "matplotlib")
    assert main(["models"]) == 0
    assert "Registered architectures" in capsys.readouterr().out


def test_every_command_with_an_extra_exists():
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert set(COMMAND_EXTRAS) <= commands
    assert {option.split()[0] for option in OPTION_EXTRAS} <= commands
    every = [*COMMAND_EXTRAS.values(), *OPTION_EXTRAS.values()]
    assert {extra for extras in every for extra in extras} <= set(EXTRAS)


def test_the_one_call_reader(tmp_path):
    from PIL import Image

    import digitlab

    image = Image.new("L", (60, 60), 255)
    image.paste(0, (25, 10, 33, 50))  # a plain "1"
    result = digitlab.read(image)
    assert result.prediction == "1" and set(result.to_json()) == {"prediction", "confidence", "digits"}
    assert digitlab.read(image) is not None and len(digitlab._RECOGNIZERS) >= 1  # the model is loaded once
