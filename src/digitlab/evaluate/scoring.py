"""Score a Keras model on a test set: the code behind `digitlab evaluate` and the pipeline.

Usage:

    probabilities, metrics = score_model(model, x_test, y_test, class_names)
    result = evaluate_saved_model("runs/20261130T104512Z-mlp")   # → dict with "accuracy"
"""

from __future__ import annotations

import numpy as np

from digitlab.data import load_dataset, prepare_images
from digitlab.evaluate.metrics import categorical_cross_entropy, evaluate_predictions
from digitlab.formats import CARD, is_ensemble_card, resolve_model_path, rundir, sidecar_value
from digitlab.models import check_keras_file, import_keras, load_keras_model

PREDICT_BATCH_SIZE = 1024


def predict_probabilities(model, images_uint8: np.ndarray) -> np.ndarray:
    """Class probabilities for uint8 images, preprocessed exactly as in training."""
    return model.predict(prepare_images(images_uint8), batch_size=PREDICT_BATCH_SIZE, verbose=0)


def score_model(model, images: np.ndarray, labels: np.ndarray, class_names: list[str]) -> tuple[np.ndarray, dict]:
    """Predict the test set; return the probabilities and the metrics dict of evaluate_predictions."""
    probabilities = predict_probabilities(model, images)
    metrics = evaluate_predictions(labels, probabilities, class_names=class_names)
    metrics["loss"] = categorical_cross_entropy(probabilities, labels)
    return probabilities, metrics


def evaluate_saved_model(
    model_spec: str | None,
    dataset: str | None = None,
    data_dir: str | None = None,
    runs_dir: str = "runs",
    limit_test: int | None = None,
) -> dict:
    """Load a model (see digitlab.formats.resolve_model_path) and score it on the test set of its dataset."""
    model_path = resolve_model_path(model_spec, runs_dir)
    if not is_ensemble_card(model_path):
        check_keras_file(model_path)  # a missing or damaged file is said before Keras is imported (seconds)
    import_keras()
    # Evaluate on the dataset the model was trained on, unless told otherwise.
    dataset_name = dataset or sidecar_value(
        model_path, (rundir.CONFIG, "dataset"), (CARD, "dataset"), default="mnist"
    )
    model = load_keras_model(model_path)  # first: a damaged model file is said before the data is loaded
    data = load_dataset(dataset_name, data_dir=data_dir)
    images, labels = data.x_test[:limit_test], data.y_test[:limit_test]
    _, metrics = score_model(model, images, labels, data.class_names)
    return {"model": str(model_path), "dataset": dataset_name, **metrics}
