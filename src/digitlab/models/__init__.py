"""digitlab.models: the model registry, the architectures, and loading Keras.

Usage:

    from digitlab.models import create_model, list_models, load_keras_model, import_keras

    keras = import_keras()                      # Keras with its backend, without TensorFlow's start-up noise
    model = create_model("cnn", input_shape=(28, 28), num_classes=10)
    list_models()                               # ["cnn", "deotte", "mlp", "quick", "vgg"]
    model = load_keras_model("models/vgg/model.keras")

Importing this package registers every built-in architecture and imports no
Keras: the builders import it when they run. Builders only; training is
digitlab.train, shipping is digitlab.export.
"""

from digitlab.models import cnn, mlp  # noqa: F401  (registers the built-in architectures)
from digitlab.models.backend import choose_backend, import_keras, keras_without_tensorflow
from digitlab.models.ensemble import build_ensemble
from digitlab.models.keras_files import check_digit_model, check_keras_file, load_keras_model
from digitlab.models.registry import (
    check_model_options,
    create_model,
    list_models,
    model_description,
    model_options,
    model_recipe,
    register_model,
    require_model,
)

__all__ = [
    "build_ensemble", "check_digit_model", "check_model_options", "check_keras_file", "choose_backend", "create_model", "import_keras", "keras_without_tensorflow",
    "list_models", "load_keras_model", "model_description", "model_options", "model_recipe", "register_model", "require_model",
]
