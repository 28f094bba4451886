"""Every shipped model on the validation split and on the test set, and the default model chosen on validation.

Usage:

    .venv/bin/python benchmarks/validation.py [--out benchmarks/RESULTS-validation.md] [--write-cards]

The validation split is the last 6,000 of the 60,000 MNIST training images:
what Keras' validation_split=0.1 holds out, so no shipped model trained on it
(each card's recipe.validation_split is 0.1, and `--extra-data` digits are made
from the first 54,000 only). Choices (which model is the default, which one to
ship) are made there; the 10,000 test images only report.

Each models/NAME/model.onnx runs through ONNX Runtime on the CPU, on pixels
/255 as float32 (n, 28, 28), the shape the exports take. The default rule
picks the single model (ensembles excluded: they cost the sum of their
members per image) with the highest validation accuracy, ties broken by the
lower validation loss (mean categorical cross-entropy, probabilities clipped
to [1e-7, 1 − 1e-7] as Keras does).

`--write-cards` also records "validation_accuracy", "validation_errors",
"n_validation" and "validation_loss" in each models/NAME/card.json, right
before "test_accuracy", keeping every other field and the 2-space formatting.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import onnxruntime

from common import ROOT, machine_line, write_results
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

MODELS = ROOT / "models"
VALIDATION_SPLIT = 0.1  # every shipped card's recipe.validation_split
EPSILON = 1e-7  # Keras' clipping of probabilities in categorical cross-entropy
BATCH = 1_000
CARD_FIELDS = ("validation_accuracy", "validation_errors", "n_validation", "validation_loss")


def session_predictor(onnx_path: Path):
    """A function float32 batch → probabilities running one ONNX file."""
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})[0]


def probabilities(predict, images: np.ndarray) -> np.ndarray:
    """Class probabilities of uint8 images (n, 28, 28), in batches of BATCH."""
    return np.concatenate([predict(images[start:start + BATCH].astype(np.float32) / 255.0)
                           for start in range(0, len(images), BATCH)])


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean categorical cross-entropy of integer labels, probabilities clipped to [EPSILON, 1 − EPSILON]."""
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], EPSILON, 1.0 - EPSILON))))


def score(probs: np.ndarray, labels: np.ndarray) -> dict:
    wrong = probs.argmax(axis=1) != labels
    errors = int(np.sum(wrong))
    return {"accuracy": 1.0 - errors / len(labels), "errors": errors, "n": len(labels),
            "loss": cross_entropy(probs, labels), "wrong": wrong}


def only_right(first: dict, second: dict) -> tuple[int, int]:
    """(images only `first` reads right, images only `second` reads right): the paired difference."""
    return int(np.sum(~first["wrong"] & second["wrong"])), int(np.sum(first["wrong"] & ~second["wrong"]))


def mcnemar_p(pair: tuple[int, int]) -> float:
    """Two-sided exact McNemar p-value of a paired difference (a sign test on the images only one reads right)."""
    n = sum(pair)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(pair) + 1)) / 2**n)


def write_card(path: Path, validation: dict) -> None:
    """Insert (or refresh) the validation fields right before "test_accuracy"; everything else stays."""
    card = json.loads(path.read_text(encoding="utf-8"))
    new = {"validation_accuracy": round(validation["accuracy"], 6), "validation_errors": validation["errors"],
           "n_validation": validation["n"], "validation_loss": validation["loss"]}
    updated = {}
    for key, value in card.items():
        if key in CARD_FIELDS:
            continue
        if key == "test_accuracy":
            updated.update(new)
        updated[key] = value
    if "test_accuracy" not in card:
        updated.update(new)
    write_text_atomic(path, json.dumps(updated, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-validation.md"))
    parser.add_argument("--write-cards", action="store_true",
                        help="record the validation figures in each models/NAME/card.json")
    args = parser.parse_args()

    from digitlab.data import load_mnist
    from digitlab.recognize import open_runtime

    (x_train, y_train), (x_test, y_test) = load_mnist()
    n_validation = len(x_train) - int(len(x_train) * (1.0 - VALIDATION_SPLIT))
    x_validation, y_validation = x_train[-n_validation:], y_train[-n_validation:]

    rows = []
    for card_path in sorted(MODELS.glob("*/card.json")):
        onnx_path = card_path.parent / "model.onnx"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        ensemble = card.get("architecture") == "ensemble"  # stored as its card: run on its members' ONNX files
        if not (ensemble or onnx_path.is_file()) or card.get("dataset", "mnist") != "mnist":
            continue
        split = (card.get("recipe") or {}).get("validation_split")
        if split != VALIDATION_SPLIT:
            raise SystemExit(f"{card_path}: recipe.validation_split is {split}, not {VALIDATION_SPLIT}: "
                             "the validation split may have been trained on")
        predict = open_runtime(card_path, "onnx").predict if ensemble else session_predictor(onnx_path)
        row = {"name": card_path.parent.name, "card": card_path, "ensemble": ensemble,
               "validation": score(probabilities(predict, x_validation), y_validation),
               "test": score(probabilities(predict, x_test), y_test),
               "card_test_accuracy": card.get("test_accuracy"),
               "init_from": (card.get("init_from") or {}).get("model")}
        print(row["name"], *({key: value for key, value in part.items() if key != "wrong"}
                             for part in (row["validation"], row["test"])), flush=True)
        rows.append(row)

    singles = [row for row in rows if not row["ensemble"]]
    by_validation = min(singles, key=lambda row: (-row["validation"]["accuracy"], row["validation"]["loss"]))
    by_test = max(singles, key=lambda row: row["test"]["accuracy"])  # today's rule, for comparison only
    rows.sort(key=lambda row: (row["ensemble"], -row["validation"]["accuracy"], row["validation"]["loss"]))

    lines = [
        "# Shipped models on the validation split and on the test set",
        "",
        f"Date: {machine_line()}",
        "",
        "Reproduce: `PYTHONPATH=src .venv/bin/python benchmarks/validation.py` (`--write-cards` also records the "
        "validation figures in each card)",
        "",
        f"Validation: the last {n_validation:,} MNIST training images (Keras' validation_split={VALIDATION_SPLIT} "
        f"holds them out; every card's recipe says {VALIDATION_SPLIT}, so no shipped model trained on them). Test: "
        f"the {len(y_test):,} test images. Each model.onnx through ONNX Runtime on the CPU. Loss: mean categorical "
        f"cross-entropy, probabilities clipped to [1e-7, 1 − 1e-7]. Sorted by validation accuracy, "
        "then validation loss: the default rule, single models only. p below: two-sided exact McNemar test on "
        "the images only one of two models reads right (large p: another sample of digits could well reverse "
        "the order).",
        "",
        "| model | validation accuracy | validation errors | validation loss | test accuracy | test errors | "
        "default rule |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        validation, test = row["validation"], row["test"]
        if row["ensemble"]:
            verdict = "excluded (ensemble)"
        elif row is by_validation:
            verdict = "**default** (highest validation accuracy)"
        else:
            verdict = ""
        lines.append(f"| {row['name']} | {validation['accuracy']:.2%} | {validation['errors']} | "
                     f"{validation['loss']:.4f} | {test['accuracy']:.2%} | {test['errors']} | {verdict} |")
    ties = [row["name"] for row in singles
            if row is not by_validation and row["validation"]["errors"] == by_validation["validation"]["errors"]]
    lines += [
        "",
        f"Default chosen on validation: `{by_validation['name']}`, {by_validation['validation']['errors']} "
        f"validation errors" + (f" (tied with {', '.join(f'`{name}`' for name in ties)}; lower validation loss)"
                                if ties else "")
        + f", {by_validation['test']['errors']} test errors. The rule that picks by test accuracy picks "
        f"`{by_test['name']}` ({by_test['validation']['errors']} validation errors, {by_test['test']['errors']} "
        "test errors)" + (": the same model." if by_test is by_validation else ": a different model."),
        "",
    ]
    if by_test is not by_validation:
        validation_pair = only_right(by_validation["validation"], by_test["validation"])
        test_pair = only_right(by_validation["test"], by_test["test"])
        lines += [f"Paired: on validation `{by_validation['name']}` alone reads {validation_pair[0]} images right and "
                  f"`{by_test['name']}` alone {validation_pair[1]} (exact McNemar p = {mcnemar_p(validation_pair):.2f}); "
                  f"on the test set {test_pair[0]} and {test_pair[1]} (p = {mcnemar_p(test_pair):.2f}).", ""]
    named = {row["name"]: row for row in rows}
    for row in rows:
        start = named.get(row["init_from"])
        if start is None:
            continue
        validation_pair = only_right(row["validation"], start["validation"])
        test_pair = only_right(row["test"], start["test"])
        lines += [f"`{row['name']}` against `{start['name']}`, the model it was fine-tuned from: validation "
                  f"{row['validation']['errors']} vs {start['validation']['errors']} errors (loss "
                  f"{row['validation']['loss']:.4f} vs {start['validation']['loss']:.4f}; "
                  f"{validation_pair[0]} images only `{row['name']}` reads right, {validation_pair[1]} only "
                  f"`{start['name']}`, p = {mcnemar_p(validation_pair):.2f}), test {row['test']['errors']} vs "
                  f"{start['test']['errors']} errors ({test_pair[0]} / {test_pair[1]}, p = {mcnemar_p(test_pair):.2f}).",
                  ""]
    mismatched = [row["name"] for row in rows if row["card_test_accuracy"] is not None
                  and abs(row["card_test_accuracy"] - row["test"]["accuracy"]) > 1e-9]
    if mismatched:
        lines += [f"Test accuracy here differs from the card's for: {', '.join(mismatched)}.", ""]
    write_results(args.out, lines)

    if args.write_cards:
        for row in rows:
            write_card(row["card"], row["validation"])
            print(f"wrote {row['card'].relative_to(ROOT)}")


if __name__ == "__main__":
    main()
