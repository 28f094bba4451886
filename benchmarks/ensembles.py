"""Which shipped models to ensemble: every combination, chosen on validation data, reported on the test set.

Usage:

    .venv/bin/python benchmarks/ensembles.py            # writes benchmarks/RESULTS-ensembles.md
    .venv/bin/python benchmarks/ensembles.py --no-write

For every combination of two or more shipped single models (ensembles are
left out), the mean of their probabilities is scored on the validation split
(the last 6,000 training images, which no shipped model trained on) and on the
10,000 test images. The combination to ship is the one with the lowest
validation log-loss (a proper score, less noisy than a handful of errors);
the test set only reports how it does. Choosing by test accuracy would
overstate what an ensemble does on new digits.
"""

from __future__ import annotations

import argparse
import itertools
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from common import log_loss
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS-ensembles.md"
VALIDATION_SPLIT = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from digitlab.data import validation_size
    from digitlab.data import load_mnist
    from digitlab.formats import shipped_models
    from digitlab.recognize import Recognizer

    (x_train, y_train), (x_test, y_test) = load_mnist()
    n_validation = validation_size(len(x_train), VALIDATION_SPLIT)
    x_validation, y_validation = x_train[-n_validation:], y_train[-n_validation:]
    cards = {name: card for name, card in shipped_models().items()
             if card.get("architecture") != "ensemble" and card.get("dataset") == "mnist"}
    validation, test = {}, {}
    for name in cards:
        runtime = Recognizer(name).runtime  # ONNX Runtime for shipped models: same answers as Keras, faster
        validation[name] = runtime.predict(x_validation.astype(np.float32) / 255.0)
        test[name] = runtime.predict(x_test.astype(np.float32) / 255.0)

    rows = []
    for size in range(1, len(cards) + 1):
        for members in itertools.combinations(sorted(cards), size):
            validation_mean = np.mean([validation[name] for name in members], axis=0)
            test_mean = np.mean([test[name] for name in members], axis=0)
            rows.append({
                "members": members,
                "validation_log_loss": log_loss(validation_mean, y_validation),
                "validation_errors": int((validation_mean.argmax(axis=1) != y_validation).sum()),
                "test_errors": int((test_mean.argmax(axis=1) != y_test).sum()),
            })
    rows.sort(key=lambda row: row["validation_log_loss"])
    chosen = next(row for row in rows if len(row["members"]) >= 2)
    lines = [
        "# Ensembles of the shipped models",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "- command: `python benchmarks/ensembles.py`",
        f"- validation: the last {n_validation:,} MNIST training images (no shipped model trained on them); "
        f"test: the {len(y_test):,} test images",
        "",
        "Every combination of the shipped single models, probabilities averaged, sorted by validation log-loss "
        "(the selection criterion). Test errors are reported, never used to choose.",
        "",
        "| members | validation log-loss | validation errors | test errors | test accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        marker = " **(chosen)**" if row is chosen else ""
        lines.append(
            f"| {' + '.join(row['members'])}{marker} | {row['validation_log_loss']:.4f} | {row['validation_errors']} | "
            f"{row['test_errors']} | {1 - row['test_errors'] / len(y_test):.2%} |"
        )
    lines += ["", f"Ship the chosen one: `digitlab ensemble {' '.join(chosen['members'])} --name ensemble`."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_text_atomic(RESULTS, text)


if __name__ == "__main__":
    main()
