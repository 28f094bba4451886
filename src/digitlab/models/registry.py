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


def create_model(name: str, input_shape: tuple[int, ...] = (28, 28), num_classes: int = 10, **options):
    """Build the registered architecture `name` (uncompiled)."""
    require_model(name)
    return _BUILDERS[name](input_shape=input_shape, num_classes=num_classes, **options)


def model_description(name: str) -> str:
    """First line of the builder's docstring, for `digitlab models`."""
    doc = (_BUILDERS[name].__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
