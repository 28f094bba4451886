"""A registry of model architectures, in the style of timm.

Usage:

    from digitlab.models import create_model, list_models

    print(list_models())                 # ['mlp', ...]
    model = create_model("mlp")          # an uncompiled keras.Model

    @register_model("my_net")
    def my_net(input_shape=(28, 28), num_classes=10):
        ...

Builders import Keras lazily, so listing the registry stays cheap.
"""

from __future__ import annotations

import inspect
from typing import Callable

from digitlab.errors import UserError

_BUILDERS: dict[str, Callable] = {}
_RECIPES: dict[str, dict] = {}


def register_model(name: str, **recipe) -> Callable[[Callable], Callable]:
    """Register a builder `fn(input_shape=(28, 28), num_classes=10, **options) -> keras.Model`.

    `recipe` holds the model's default training settings (RunConfig fields such
    as epochs=15, augment=True); command-line options still override them.
    """

    def decorator(builder: Callable) -> Callable:
        if name in _BUILDERS:
            raise ValueError(f"model {name!r} is registered twice")
        _BUILDERS[name] = builder
        _RECIPES[name] = dict(recipe)
        return builder

    return decorator


def model_recipe(name: str) -> dict:
    """The default training settings registered with `name` (empty for the tutorial's)."""
    require_model(name)
    return dict(_RECIPES[name])


def require_model(name: str) -> None:
    """Raise a UserError naming the registered models unless `name` is one of them."""
    if name not in _BUILDERS:
        raise UserError(f"unknown model {name!r}; registered models are: {', '.join(list_models())}.")


def list_models() -> list[str]:
    """Names of every registered architecture, sorted."""
    return sorted(_BUILDERS)


def model_options(name: str) -> list[str]:
    """The options `name`'s builder takes besides the input shape and classes (its knobs: widths, dropout...)."""
    require_model(name)
    parameters = inspect.signature(_BUILDERS[name]).parameters
    return [option for option in parameters if option not in ("input_shape", "num_classes")]


def check_model_options(name: str, options: dict) -> None:
    """Raise a UserError naming `name`'s options unless its builder takes every one of `options`."""
    known = model_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = f"takes {', '.join(known)}" if known else "takes no options"
        raise UserError(f"model {name!r} {takes}; got {', '.join(unknown)}.")


def create_model(name: str, input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10, **options):
    """Build the registered architecture `name` (uncompiled); an option its builder lacks is a UserError."""
    check_model_options(name, options)
    return _BUILDERS[name](input_shape=input_shape, num_classes=num_classes, **options)


def model_description(name: str) -> str:
    """First line of the builder's docstring, for `digitlab models`."""
    doc = (_BUILDERS[name].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
