"""digitlab.evaluate: what a model scores — test metrics, confused pairs, calibration, the validation figures.

Usage:

    from digitlab.evaluate import score_model, evaluate_saved_model, calibration_metrics

    probabilities, metrics = score_model(model, x_test, y_test, class_names)
    evaluate_saved_model("deotte")                  # `digitlab evaluate`: → dict with "accuracy"
    calibration = calibration_metrics(validation_probabilities, y_val, probabilities, y_test)

Evaluators return plain JSON-friendly dicts; the report and the CLI only render
them. scikit-learn computes the scores; the temperature is fitted here, on the
validation split, and applied by digitlab.recognize.
"""

from digitlab.evaluate.calibration import (
    calibration_metrics,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
)
from digitlab.evaluate.metrics import (
    categorical_cross_entropy,
    confused_pairs,
    confusion,
    evaluate_predictions,
    most_confident_mistakes,
    validation_metrics,
)
from digitlab.evaluate.scoring import PREDICT_BATCH_SIZE, evaluate_saved_model, predict_probabilities, score_model

__all__ = [
    "PREDICT_BATCH_SIZE", "calibration_metrics", "categorical_cross_entropy",
    "confused_pairs", "confusion", "evaluate_saved_model", "evaluate_predictions", "expected_calibration_error",
    "fit_temperature", "most_confident_mistakes", "predict_probabilities", "reliability_bins", "score_model",
    "validation_metrics",
]
