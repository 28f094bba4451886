"""Test-set metrics from plain NumPy arrays: accuracy, per-class scores, confusions.

Usage:

    from digitlab.evaluate import evaluate_predictions, validation_metrics

    probabilities = model.predict(x_test)            # shape (n, 10)
    metrics = evaluate_predictions(y_test, probabilities)
    json.dumps(metrics)                               # plain Python types only
    validation_metrics(y_val, model.predict(x_val))   # {"validation_accuracy": ..., ...}

scikit-learn computes the scores (classification_report, confusion_matrix); this
module only reshapes them into one JSON-friendly dict and ranks the confusions.
It never imports Keras. Turning them into text is the CLI's job (digitlab.cli.text).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import classification_report, confusion_matrix

from digitlab.formats import PAIR_ARROW



def _as_labels(values: np.ndarray, name: str) -> np.ndarray:
    """Integer class labels from labels or one-hot rows (Keras' to_categorical)."""
    array = np.asarray(values)
    if array.ndim == 2:
        array = array.argmax(axis=1)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of labels or 2-D one-hot rows, got shape {array.shape}."
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.equal(np.mod(array, 1), 0)):
            raise ValueError(f"{name} must hold whole-number class labels.")
    return array.astype(np.int64)


def _names(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    if class_names is None:
        return [str(index) for index in range(num_classes)]
    names = [str(name) for name in class_names]
    if len(names) != num_classes:
        raise ValueError(f"class_names has {len(names)} names but there are {num_classes} classes.")
    if len(set(names)) != len(names):
        raise ValueError("class_names must be unique.")
    return names


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Confusion matrix of shape (num_classes, num_classes): rows true, columns predicted."""
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}.")
    # Passing labels keeps the matrix square and in class order even when a
    # class never occurs in a small test set.
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))


def confused_pairs(
    confusion_matrix: np.ndarray,
    top: int | None = 10,
    class_names: Sequence[str] | None = None,
) -> list[dict]:
    """Unordered class pairs ranked by how often they are mixed up, both directions summed.

    Each item is {"pair": "4↔9", "a": 4, "b": 9, "total": 23, "a_as_b": 14, "b_as_a": 9}
    with a < b. Ties are broken by the larger one-way count, then by class index,
    so the order never depends on sorting accidents. Pairs never confused are left out.
    """
    matrix = np.asarray(confusion_matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"confusion_matrix must be square, got shape {matrix.shape}.")
    names = _names(class_names, matrix.shape[0])
    pairs = []
    for a in range(matrix.shape[0]):
        for b in range(a + 1, matrix.shape[0]):
            a_as_b, b_as_a = int(matrix[a, b]), int(matrix[b, a])
            total = a_as_b + b_as_a
            if total > 0:
                pairs.append(
                    {
                        "pair": f"{names[a]}{PAIR_ARROW}{names[b]}",
                        "a": a,
                        "b": b,
                        "total": total,
                        "a_as_b": a_as_b,
                        "b_as_a": b_as_a,
                    }
                )
    pairs.sort(key=lambda item: (-item["total"], -max(item["a_as_b"], item["b_as_a"]), item["a"], item["b"]))
    return pairs if top is None else pairs[:top]


def _scores(row: dict) -> dict:
    """sklearn's per-class row with a plain-Python, JSON-friendly spelling."""
    return {
        "precision": float(row["precision"]),
        "recall": float(row["recall"]),
        "f1": float(row["f1-score"]),
        "support": int(row["support"]),
    }


def evaluate_predictions(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    class_names: list[str] | None = None,
    top_pairs: int = 10,
) -> dict:
    """All test-set metrics for one model as a JSON-serialisable dict.

    y_true holds integer labels (or one-hot rows); probabilities has one row of
    class scores per image, as returned by model.predict.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape[1] < 2:
        raise ValueError(f"probabilities must have shape (n, num_classes), got {probabilities.shape}.")
    y_true = _as_labels(y_true, "y_true")
    if y_true.size != probabilities.shape[0]:
        raise ValueError(
            f"y_true has {y_true.size} labels but probabilities has {probabilities.shape[0]} rows."
        )
    if y_true.size == 0:
        raise ValueError("Cannot evaluate an empty test set.")
    num_classes = probabilities.shape[1]
    if y_true.min() < 0 or y_true.max() >= num_classes:
        raise ValueError(f"y_true has labels outside 0..{num_classes - 1}.")
    names = _names(class_names, num_classes)
    y_pred = probabilities.argmax(axis=1)

    # zero_division=0: a class that is never predicted gets precision 0 rather
    # than a warning and NaN (which JSON cannot hold).
    report = classification_report(
        y_true,
        y_pred,
        labels=np.arange(num_classes),
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    matrix = confusion(y_true, y_pred, num_classes)
    error_count = int((y_true != y_pred).sum())
    return {
        "accuracy": float(1.0 - error_count / y_true.size),
        "error_count": error_count,
        "n": int(y_true.size),
        "per_class": {name: _scores(report[name]) for name in names},
        "macro_avg": _scores(report["macro avg"]),
        "weighted_avg": _scores(report["weighted avg"]),
        "confusion_matrix": matrix.astype(int).tolist(),
        "confused_pairs": confused_pairs(matrix, top=top_pairs, class_names=names),
    }


def most_confident_mistakes(
    y_true: np.ndarray, y_pred: np.ndarray, probabilities: np.ndarray | None = None
) -> np.ndarray:
    """Indices of misclassified samples, the most confident wrong predictions first.

    Confidence is the probability given to the predicted class. Without
    probabilities, or among equal confidences, the test-set order is kept.
    """
    y_true, y_pred = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}.")
    wrong = np.flatnonzero(y_true != y_pred)
    if probabilities is None or wrong.size == 0:
        return wrong
    confidence = np.asarray(probabilities)[wrong, y_pred[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]


def categorical_cross_entropy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean cross-entropy of the true labels' probabilities, clipped like Keras (ε = 1e-7)."""
    picked = np.asarray(probabilities)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0 - 1e-7))))


def validation_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, errors and loss on the validation split: the figures that choose models and defaults."""
    labels = _as_labels(labels, "labels")
    errors = int((np.asarray(probabilities).argmax(axis=1) != labels).sum())
    return {
        "validation_accuracy": float(1.0 - errors / len(labels)),
        "validation_errors": errors,
        "n_validation": int(len(labels)),
        "validation_loss": categorical_cross_entropy(probabilities, labels),
    }
