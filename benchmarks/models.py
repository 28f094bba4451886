"""Compare the shipped models side by side: accuracy, errors, size, training time, inference speed.

Usage:

    .venv/bin/python benchmarks/models.py [--out benchmarks/RESULTS-models.md]

Re-measures every model under models/ on the full 10,000-image test set in this
run (accuracy, errors, most-confused pairs, images/s for batched inference
through Keras), takes the training time and command from each model card, and
draws the test digits the best model still gets wrong (docs/hardest-digits.png).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

import common  # noqa: F401  (measures the clone's models/: it sets DIGITLAB_MODELS_DIR)
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

ROOT = Path(__file__).resolve().parents[1]


def images_per_second(model, images: np.ndarray, repeats: int = 3) -> float:
    from digitlab.evaluate import predict_probabilities

    predict_probabilities(model, images[:2048])  # warm-up (compilation)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        predict_probabilities(model, images)
        best = min(best, time.perf_counter() - started)
    return len(images) / best


def file_size(card: dict) -> str:
    """The model file's size; an ensemble has none of its own (it is its card, built from its members)."""
    return f"{card['file_bytes'] / 1e6:.1f} MB" if "file_bytes" in card else "card only"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-models.md"))
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "hardest-digits.png")
    args = parser.parse_args()

    from digitlab.models import import_keras

    keras = import_keras()
    from digitlab.data import load_dataset
    from digitlab.formats import shipped_models
    from digitlab.models import load_keras_model
    from digitlab.report import misclassified_gallery
    from digitlab.cli.text import training_time
    from digitlab.evaluate import most_confident_mistakes, score_model

    shipped = shipped_models()
    if not shipped:
        raise SystemExit("no shipped models under models/; ship one with `digitlab ship RUN --name NAME`")
    rows = [
        "| model | architecture | parameters | file | training (this machine) | inference images/s "
        "| test accuracy | errors / 10,000 | ECE (calibrated) | most-confused pairs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    measured = []
    for name, card in sorted(shipped.items(), key=lambda item: -item[1]["test_accuracy"]):
        dataset = load_dataset(card["dataset"])
        model = load_keras_model(card["path"])
        probabilities, metrics = score_model(model, dataset.x_test, dataset.y_test, dataset.class_names)
        speed = images_per_second(model, dataset.x_test)
        pairs = ", ".join(f"{pair['pair']} ({pair['total']})" for pair in metrics["confused_pairs"][:3])
        rows.append(
            f"| {name} | {card['architecture']} | {card['parameters']:,} | {file_size(card)} "
            f"| {training_time(card)} | {speed:,.0f} | {metrics['accuracy']:.2%} | {metrics['error_count']} "
            f"| {card.get('ece_calibrated', float('nan')):.2%} | {pairs} |"
        )
        measured.append((metrics["accuracy"], name, probabilities, dataset))

    _, best_name, best_probabilities, best_data = max(measured, key=lambda item: item[0])
    predicted = best_probabilities.argmax(axis=1)
    mistakes = most_confident_mistakes(best_data.y_test, predicted, best_probabilities)
    misclassified_gallery(best_data.x_test, best_data.y_test, predicted, mistakes, args.figure, best_probabilities,
                          limit=36)

    commands = [f"- `{name}`: `{card['training_command']}`" for name, card in sorted(shipped.items())]
    text = "\n".join([
        "# Shipped models, compared",
        "",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC · {platform.machine()}, {os.cpu_count()} cores · "
        f"Keras {keras.__version__} ({keras.backend.backend()} backend)",
        "",
        "Reproduce: `.venv/bin/python benchmarks/models.py`",
        "",
        *rows,
        "",
        "Accuracy, errors and pairs are re-measured on the MNIST test set in this run; training time is from each "
        "model card (wall time of the training loop on this 2-core machine; a fine-tuned model's is added to its "
        "starting model's); inference is batched Keras "
        "`model.predict` (batch 1024), best of 3.",
        "",
        "Training commands (from the model cards):",
        "",
        *commands,
        "",
        f"The test digits the best model ({best_name}) still gets wrong: `{args.figure.relative_to(ROOT)}`.",
        "",
    ])
    write_text_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
