"""Score a Keras model on a test set: the code behind `digitlab evaluate` and the pipeline.

Usage:

    probabilities, metrics = score_model(model, x_test, y_test, class_names)
    result = evaluate_saved_model("runs/20261130T104512Z-mlp")   # → dict with "accuracy"
"""

from __future__ import annotations

import numpy as np

from digitlab import rundir

PREDICT_BATCH_SIZE = 1024


def test_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Categorical cross-entropy of predicted probabilities, clipped like Keras (ε = 1e-7)."""
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0 - 1e-7))))


def predict_probabilities(model, images_uint8: np.ndarray) -> np.ndarray:
    """Class probabilities for uint8 images, preprocessed exactly as in training."""
    from digitlab.train import prepare_images

    return model.predict(prepare_images(images_uint8), batch_size=PREDICT_BATCH_SIZE, verbose=0)


def score_model(model, images: np.ndarray, labels: np.ndarray, class_names: list[str]) -> tuple[np.ndarray, dict]:
    """Predict the test set; return the probabilities and the metrics dict of digitlab.evaluate."""
    from digitlab.evaluate import evaluate_predictions

    probabilities = predict_probabilities(model, images)
    metrics = evaluate_predictions(labels, probabilities, class_names=class_names)
    metrics["loss"] = test_loss(probabilities, labels)
    return probabilities, metrics


def evaluate_saved_model(
    model_spec: str | None,
    dataset: str | None = None,
    data_dir: str | None = None,
    runs_dir: str = "runs",
    limit_test: int | None = None,
) -> dict:
    """Load a model (see digitlab.modelfiles) and score it on the test set of its dataset."""
    from digitlab.backend import import_keras
    from digitlab.data import load_dataset
    from digitlab.modelfiles import load_keras_model, resolve_model_path, sidecar_value

    import_keras()

    model_path = resolve_model_path(model_spec, runs_dir)
    # Evaluate on the dataset the model was trained on, unless told otherwise.
    dataset_name = dataset or sidecar_value(
        model_path, (rundir.CONFIG, "dataset"), ("card.json", "dataset"), default="mnist"
    )
    data = load_dataset(dataset_name, data_dir=data_dir)
    model = load_keras_model(model_path)
    images, labels = data.x_test[:limit_test], data.y_test[:limit_test]
    _, metrics = score_model(model, images, labels, data.class_names)
    return {"model": str(model_path), "dataset": dataset_name, **metrics}
