"""Which optional extra each command needs, checked before the command imports anything from it.

Usage:

    require_extras("train")      # raises MissingExtra when Keras, JAX, ... are not installed
    require_extras("train --ray-workers")   # an option's own extras (OPTION_EXTRAS)

`pip install digitlab` is the reader alone (predict, models, the Python
front door); training, serving and exporting come with extras. A command
whose extra is missing says so in one line and exits with EXIT_MISSING_EXTRA,
instead of failing with an ImportError traceback deep inside.
"""

from __future__ import annotations

import importlib.util

from digitlab.errors import UserError

EXIT_MISSING_EXTRA = 3

# extra → (how the message names it, the top-level modules it provides).
EXTRAS = {
    "train": ("the training extra", ("keras", "tensorflow", "jax", "sklearn", "matplotlib", "tensorboard")),
    "serve": ("the web app extra", ("fastapi", "uvicorn", "python_multipart", "pydantic_settings")),
    "export": ("the export extra", ("keras", "tensorflow", "onnx", "tf2onnx")),
    "ray": ("the Ray extra", ("ray", "pyarrow", "pandas")),
    "ray-train": ("the Ray Train extra", ("ray", "torch")),
}
# command → the extras it needs (commands not listed run on the core install).
COMMAND_EXTRAS = {
    "run": ("train",),
    "train": ("train",),
    "evaluate": ("train",),
    "report": ("train",),
    "bench": ("train",),
    "ship": ("train", "export"),
    "ensemble": ("train", "export"),
    "export": ("train", "export"),
    "serve": ("serve",),
    "batch": ("ray",),
    "tune": ("ray", "train"),
}
# A command's option → the extras it needs besides the command's own (checked when the option is given).
OPTION_EXTRAS = {
    "train --ray-workers": ("ray-train",),
}


class MissingExtra(UserError):
    """A command needs an optional extra that is not installed."""


def missing_modules(modules: tuple[str, ...]) -> list[str]:
    return [module for module in modules if importlib.util.find_spec(module) is None]


def require_extras(command: str) -> None:
    """Raise MissingExtra naming the first extra `command` needs that is not fully installed."""
    for extra in COMMAND_EXTRAS.get(command, OPTION_EXTRAS.get(command, ())):
        label, modules = EXTRAS[extra]
        missing = missing_modules(modules)
        if missing:
            raise MissingExtra(f"digitlab {command} needs {label}: pip install 'digitlab[{extra}]' "
                               f"(not installed: {', '.join(missing)}).")
