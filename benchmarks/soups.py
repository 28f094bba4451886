"""Weight averaging of shipped models that share a starting point (WiSE-FT, model soups): chosen on validation data.

Usage:

    .venv/bin/python benchmarks/soups.py [--steps 10] [--out benchmarks/RESULTS-soups.md]

A model fine-tuned from another (`digitlab train --init-from`) often sits in
the same basin of the loss, so averaging their weights gives one model, no
slower than either, that can beat both (Wortsman et al. 2022, "Robust
fine-tuning of zero-shot models" and "Model soups"). This script finds the
shipped MNIST models that share a starting point (a model and the ones
fine-tuned from it), and scores, for every pair of them, the weights
(1 − a)·first + a·second for a = 0, 1/steps, …, 1, plus the mean of the whole
family. Batch-norm statistics are averaged like every other weight.

Every candidate is scored on the validation split (the last 6,000 training
images, which no shipped model trained on) and on the 10,000 test images;
the candidate to keep is the one with the lowest validation log-loss, and the
test set only reports how it does.
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

import numpy as np

from common import log_loss, machine_line, write_results



def families(cards: dict[str, dict]) -> dict[str, list[str]]:
    """starting model → [it, and every shipped model fine-tuned from it], for groups of two or more."""
    groups: dict[str, list[str]] = {}
    for name, card in sorted(cards.items()):
        parent = (card.get("init_from") or {}).get("model")
        if parent in cards:
            groups.setdefault(parent, [parent]).append(name)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="interpolation steps between two models")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-soups.md"))
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "jax")

    from digitlab.data import load_mnist, prepare_images, validation_images
    from digitlab.formats import shipped_models
    from digitlab.models import load_keras_model

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_validation, y_validation = validation_images(x_train, y_train)  # the one split every card was trained with
    x_validation, x_test = prepare_images(x_validation), prepare_images(x_test)
    cards = {name: card for name, card in shipped_models().items()
             if card.get("architecture") != "ensemble" and card.get("dataset") == "mnist"}

    rows = []
    for root, members in families(cards).items():
        weights = {name: load_keras_model(cards[name]["path"]).get_weights() for name in members}
        work = load_keras_model(cards[root]["path"])

        def score(mix: dict[str, float]) -> dict:
            work.set_weights([sum(share * weights[name][index] for name, share in mix.items())
                              for index in range(len(weights[root]))])
            validation = work.predict(x_validation, batch_size=1000, verbose=0)
            test = work.predict(x_test, batch_size=1000, verbose=0)
            label = " + ".join(f"{share:.2g}·{name}" for name, share in mix.items() if share > 0)
            row = {"mix": label, "log_loss": log_loss(validation, y_validation),
                   "validation_errors": int(np.sum(validation.argmax(axis=1) != y_validation)),
                   "test_errors": int(np.sum(test.argmax(axis=1) != y_test))}
            print(row, flush=True)
            return row

        mixes = {}
        for first, second in itertools.combinations(members, 2):
            for step in range(args.steps + 1):
                share = step / args.steps
                mix = {first: 1 - share, second: share}
                mixes[tuple(sorted((name, round(value, 6)) for name, value in mix.items() if value > 0))] = mix
        if len(members) > 2:
            mixes["uniform"] = {name: 1 / len(members) for name in members}
        rows += [score(mix) for mix in mixes.values()]

    rows.sort(key=lambda row: row["log_loss"])
    singles = [row for row in rows if "+" not in row["mix"]]
    best_single = min(singles, key=lambda row: row["log_loss"])
    lines = [
        "# Weight averages of shipped models with a common starting point",
        "",
        f"Date: {machine_line()}",
        "",
        "Reproduce: `.venv/bin/python benchmarks/soups.py`",
        "",
        "Families (a model and those fine-tuned from it): "
        + "; ".join(f"{root}: {', '.join(members)}" for root, members in families(cards).items())
        + f". Pairs interpolated in steps of 1/{args.steps}, plus each family's mean. Validation: the last "
        f"{len(y_validation):,} training images; sorted by validation log-loss, the selection criterion (test "
        "errors only report).",
        "",
        "| weights | validation log-loss | validation errors | test errors | test accuracy |",
        "|---|---:|---:|---:|---:|",
    ]
    for position, row in enumerate(rows):
        chosen = " **(chosen)**" if position == 0 else ""
        lines.append(f"| {row['mix']}{chosen} | {row['log_loss']:.4f} | {row['validation_errors']} | "
                     f"{row['test_errors']} | {1 - row['test_errors'] / len(y_test):.2%} |")
    chosen = rows[0]
    lines += [
        "",
        f"Chosen on validation: {chosen['mix']}, {chosen['test_errors']} test errors; the shipped model with the "
        f"lowest validation log-loss, {best_single['mix']}, has {best_single['test_errors']}. Fewest test errors "
        f"of any weight average: {min(row['test_errors'] for row in rows if '+' in row['mix'])}; of the shipped "
        f"models here: {min(row['test_errors'] for row in singles)}.",
        "",
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
