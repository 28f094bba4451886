"""The held-out sets: plan, render, write to a folder, and a contact sheet to look at.

Usage (from benchmarks/, as benchmarks/heldout_numbers.py does):

    from heldout import load_test_digits, plan, render, write_set
    images, labels = load_test_digits()                 # MNIST's test split, and only it
    items = plan(numbers=1000, rejects_per_kind=40, seed=2027, labels=labels)
    data, notes = render(items[0], images, seed=2027)   # the same bytes on every run with the same packages
    write_set(folder, items, images, seed=2027)         # the JPEGs and truth.jsonl, moved in together
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageDraw

from digitlab.data import load_mnist
from digitlab.formats import atomic_path, staged_files

from heldout.numbers import Item, plan_numbers, render_number
from heldout.rejects import REJECT_KINDS, plan_rejects, render_reject

TRUTH_FILE = "truth.jsonl"


def load_test_digits() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 10,000 test images and labels: the only digits the held-out sets are written with."""
    (_, _), (x_test, y_test) = load_mnist()
    return x_test, y_test


def plan(numbers: int, rejects_per_kind: int, seed: int, labels: np.ndarray) -> list[Item]:
    """The numbers, then `rejects_per_kind` images of each kind in REJECT_KINDS."""
    return plan_numbers(numbers, seed, labels) + plan_rejects(rejects_per_kind, seed)


def render(item: Item, images: np.ndarray, seed: int) -> tuple[bytes, dict]:
    """One item's JPEG bytes and notes; depends only on the item, the seed and the digit images."""
    return render_number(item, images, seed) if item.kind == "number" else render_reject(item, seed)


def rendered(items: list[Item], images: np.ndarray, seed: int) -> Iterator[tuple[Item, bytes, dict]]:
    for item in items:
        data, notes = render(item, images, seed)
        yield item, data, notes


def truth_record(item: Item, notes: dict) -> dict:
    return {"file": item.name, "kind": item.kind, "text": item.text,
            "mnist_test_indices": list(item.mnist_test_indices), **notes}


def write_set(folder: Path, items: list[Item], images: np.ndarray, seed: int) -> list[dict]:
    """Every item as a JPEG in `folder`, with truth.jsonl (one record per file); returns the records."""
    records = []
    with staged_files(folder, last=(TRUTH_FILE,)) as staging:
        for item, data, notes in rendered(items, images, seed):
            (staging / item.name).write_bytes(data)
            records.append(truth_record(item, notes))
        (staging / TRUTH_FILE).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


def contact_sheet(path: Path, tiles: list[tuple[bytes, str]], columns: int = 4, tile: tuple[int, int] = (270, 155),
                  ) -> int:
    """Thumbnails with a caption under each, saved as a palette PNG; returns its size in bytes."""
    caption = 16
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tile[0], rows * (tile[1] + caption)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for position, (data, text) in enumerate(tiles):
        image = Image.open(io.BytesIO(data)).convert("RGB")
        image.thumbnail((tile[0] - 6, tile[1] - 6), Image.Resampling.LANCZOS)
        x = (position % columns) * tile[0]
        y = (position // columns) * (tile[1] + caption)
        sheet.paste(image, (x + (tile[0] - image.width) // 2, y + (tile[1] - image.height) // 2))
        draw.text((x + 4, y + tile[1]), text, fill=(0, 0, 0))
    with atomic_path(path) as partial:
        sheet.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(partial, format="PNG", optimize=True)
    return path.stat().st_size


__all__ = ["REJECT_KINDS", "TRUTH_FILE", "Item", "contact_sheet", "load_test_digits", "plan", "render", "rendered",
           "truth_record", "write_set"]
