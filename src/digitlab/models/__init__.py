"""Model architectures: `create_model(name)`, `list_models()`, `@register_model(name)`.

Importing this package registers every built-in architecture.
"""

from digitlab.models import cnn, mlp  # noqa: F401  (registers the built-in architectures)
from digitlab.models.registry import (
    create_model,
    list_models,
    model_description,
    model_recipe,
    register_model,
    require_model,
)

__all__ = ["create_model", "list_models", "model_description", "model_recipe", "register_model", "require_model"]
