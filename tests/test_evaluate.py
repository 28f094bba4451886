"""Metrics on tiny hand-made predictions whose right answers can be worked out by hand."""

import json
import subprocess
import sys

import numpy as np
import pytest

from digitlab.cli import format_classification_report, format_confused_pairs
from digitlab.evaluate import confused_pairs, confusion, evaluate_predictions, most_confident_mistakes

# Six images of three classes; the model gets four right:
#   true      0  0  1  1  2  2
#   predicted 0  1  1  1  2  0
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0])


def probabilities_for(predictions: np.ndarray, num_classes: int = 3, confidence: float = 0.8) -> np.ndarray:
    rest = (1.0 - confidence) / (num_classes - 1)
    probabilities = np.full((len(predictions), num_classes), rest)
    probabilities[np.arange(len(predictions)), predictions] = confidence
    return probabilities


def test_evaluate_predictions_matches_hand_computed_scores():
    metrics = evaluate_predictions(Y_TRUE, probabilities_for(Y_PRED))

    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["error_count"] == 2
    assert metrics["n"] == 6
    # Class 0: predicted twice, right once; found once of two.
    assert metrics["per_class"]["0"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    # Class 1: predicted three times, right twice; found both.
    assert metrics["per_class"]["1"]["precision"] == pytest.approx(2 / 3)
    assert metrics["per_class"]["1"]["recall"] == pytest.approx(1.0)
    assert metrics["per_class"]["1"]["f1"] == pytest.approx(0.8)
    # Class 2: predicted once, right; found one of two.
    assert metrics["per_class"]["2"]["precision"] == pytest.approx(1.0)
    assert metrics["per_class"]["2"]["recall"] == pytest.approx(0.5)
    assert metrics["macro_avg"]["recall"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert metrics["weighted_avg"]["support"] == 6
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert [pair["pair"] for pair in metrics["confused_pairs"]] == ["0↔1", "0↔2"]
    # Everything must survive json.dumps (no NumPy scalars or arrays).
    assert json.loads(json.dumps(metrics)) == metrics


def test_evaluate_predictions_accepts_one_hot_labels_and_class_names():
    one_hot = np.eye(3)[Y_TRUE]
    names = ["zero", "one", "two"]
    metrics = evaluate_predictions(one_hot, probabilities_for(Y_PRED), class_names=names, top_pairs=1)

    assert list(metrics["per_class"]) == names
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["confused_pairs"] == [
        {"pair": "zero↔one", "a": 0, "b": 1, "total": 1, "a_as_b": 1, "b_as_a": 0}
    ]


def test_class_never_predicted_scores_zero_not_nan():
    y_true = np.array([0, 1, 2])
    metrics = evaluate_predictions(y_true, probabilities_for(np.array([0, 1, 1])))
    assert metrics["per_class"]["2"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    json.dumps(metrics, allow_nan=False)


@pytest.mark.parametrize(
    ("y_true", "probabilities", "class_names", "message"),
    [
        (np.array([0, 1]), np.eye(3), None, "labels but probabilities has 3 rows"),
        (np.array([0, 1, 5]), np.eye(3), None, "outside 0..2"),
        (np.array([0, 1, 2]), np.eye(3), ["a", "b"], "class_names has 2 names"),
        (np.array([0, 1, 2]), np.array([0.1, 0.2, 0.7]), None, "shape \\(n, num_classes\\)"),
    ],
)
def test_evaluate_predictions_rejects_inconsistent_inputs(y_true, probabilities, class_names, message):
    with pytest.raises(ValueError, match=message):
        evaluate_predictions(y_true, probabilities, class_names=class_names)


def test_confusion_is_square_even_for_classes_that_never_occur():
    matrix = confusion(np.array([1, 1, 3]), np.array([1, 3, 3]), num_classes=10)
    assert matrix.shape == (10, 10)
    assert matrix[1, 1] == 1 and matrix[1, 3] == 1 and matrix[3, 3] == 1
    assert matrix.sum() == 3


def digit_matrix() -> np.ndarray:
    matrix = np.diag(np.full(10, 100))
    matrix[4, 9], matrix[9, 4] = 14, 9  # 4↔9: 23 in all
    matrix[3, 5], matrix[5, 3] = 10, 15  # 3↔5: 25, more than 4↔9 only when both directions count
    matrix[7, 1] = 23  # 1↔7: 23, one-way only; ties with 4↔9 but its larger one-way count ranks it first
    matrix[2, 8], matrix[8, 2] = 3, 3  # 2↔8: 6
    matrix[0, 6], matrix[6, 0] = 3, 3  # 0↔6: 6, ties exactly with 2↔8: lower class index first
    return matrix


def test_confused_pairs_sums_both_directions_and_ranks():
    pairs = confused_pairs(digit_matrix())

    assert [pair["pair"] for pair in pairs] == ["3↔5", "1↔7", "4↔9", "0↔6", "2↔8"]
    assert pairs[0] == {"pair": "3↔5", "a": 3, "b": 5, "total": 25, "a_as_b": 10, "b_as_a": 15}
    assert pairs[1] == {"pair": "1↔7", "a": 1, "b": 7, "total": 23, "a_as_b": 0, "b_as_a": 23}
    assert pairs[2] == {"pair": "4↔9", "a": 4, "b": 9, "total": 23, "a_as_b": 14, "b_as_a": 9}


def test_confused_pairs_omits_zero_pairs_and_respects_top():
    assert len(confused_pairs(digit_matrix(), top=None)) == 5  # 45 pairs, only 5 ever confused
    assert [pair["pair"] for pair in confused_pairs(digit_matrix(), top=2)] == ["3↔5", "1↔7"]
    assert confused_pairs(np.diag([5, 5, 5])) == []


def test_confused_pairs_uses_class_names():
    matrix = np.array([[5, 2], [1, 5]])
    (pair,) = confused_pairs(matrix, class_names=["cat", "dog"])
    assert pair == {"pair": "cat↔dog", "a": 0, "b": 1, "total": 3, "a_as_b": 2, "b_as_a": 1}


def test_format_confused_pairs():
    pairs = confused_pairs(digit_matrix())
    text = format_confused_pairs(pairs, limit=3)
    assert text.splitlines() == [
        "3↔5: 25 (3→5 10, 5→3 15)",
        "1↔7: 23 (1→7 0, 7→1 23)",
        "4↔9: 23 (4→9 14, 9→4 9)",
    ]
    assert format_confused_pairs([]) == "no confusions"
    named = confused_pairs(np.array([[5, 2], [1, 5]]), class_names=["cat", "dog"])
    assert format_confused_pairs(named) == "cat↔dog: 3 (cat→dog 2, dog→cat 1)"


def test_format_classification_report_reads_both_metric_spellings():
    metrics = evaluate_predictions(Y_TRUE, probabilities_for(Y_PRED))
    text = format_classification_report(metrics)
    lines = text.splitlines()
    assert lines[0].split() == ["precision", "recall", "f1-score", "support"]
    assert lines[2].split() == ["0", "0.5000", "0.5000", "0.5000", "2"]
    assert "accuracy" in text and "0.6667" in text and "macro avg" in text and "weighted avg" in text

    # metrics.json spells accuracy and n differently.
    saved = {"test_accuracy": 0.9772, "n_test": 10000, "per_class": metrics["per_class"]}
    assert "0.9772" in format_classification_report(saved)
    assert "10000" in format_classification_report(saved)


def test_most_confident_mistakes_orders_by_confidence_then_test_order():
    y_true = np.array([0, 1, 1, 0, 2])
    y_pred = np.array([1, 1, 0, 2, 0])
    probabilities = np.array(
        [[0.3, 0.7, 0.0], [0, 1, 0], [0.9, 0.1, 0.0], [0.3, 0.0, 0.7], [0.95, 0.0, 0.05]]
    )
    assert most_confident_mistakes(y_true, y_pred, probabilities).tolist() == [4, 2, 0, 3]
    assert most_confident_mistakes(y_true, y_pred).tolist() == [0, 2, 3, 4]
    assert most_confident_mistakes(y_true, y_true, probabilities).tolist() == []


def test_evaluate_and_report_do_not_import_keras():
    code = (
        "import sys, digitlab.evaluate, digitlab.report; "
        "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
