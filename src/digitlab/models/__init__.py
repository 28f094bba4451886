"""Model architectures: `create_model(name)`, `list_models()`, `@register_model(name)`.

Importing this package registers every built-in architecture.
"""

from digitlab.models import mlp  # noqa: F401  (registers "mlp")
from digitlab.models.registry import create_model, list_models, model_description, register_model

__all__ = ["create_model", "list_models", "model_description", "register_model"]
