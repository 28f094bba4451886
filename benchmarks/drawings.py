"""Drawings read on the canvas path (vision/canvas.py) vs the way a photo is read: same answers, less CPU.

Usage:

    .venv/bin/python benchmarks/drawings.py                        # writes benchmarks/RESULTS-drawings.md
    .venv/bin/python benchmarks/drawings.py --mnist 500 --numbers 200 --no-write
    .venv/bin/python benchmarks/drawings.py --mnist 0 --sizes 200 --drawing-max-side 128 \
        --out benchmarks/RESULTS-drawings-128.md                   # a smaller working size

Two sets of drawings as the web page sends them (a square RGBA PNG, black ink
on a transparent canvas, at the page's export size, and at 280 px, the size the
page used to send):

- MNIST test digits (the first N), scaled to fill the pad;
- handwriting-font numbers of 1–3 digits (synth.render_drawing, test seeds).

Each image is read both ways by `vision.analyze` (drawing_max_side set and None)
and the digits it finds go through the default model; a reading is right when
the digit string equals the truth. CPU time per image (time.process_time, not
wall time: the cores may be shared) is summed per way, the two ways alternating
image by image so drift in the machine's speed hits both alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, ensure_data, machine_line, write_results  # noqa: E402
from load import page_export_size  # noqa: E402

from digitlab.vision.canvas import DRAWING_MAX_SIDE  # noqa: E402

OLD_EXPORT_SIZE = 280


def drawing_sets(mnist_count: int, number_count: int, size: int) -> dict[str, list[tuple[bytes, str]]]:
    from digitlab.data import load_mnist
    from digitlab.synth import TEST_SEEDS, render_drawing, render_mnist_drawing

    (_, _), (x_test, y_test) = load_mnist()
    mnist = [(render_mnist_drawing(x_test[index], size), str(int(y_test[index]))) for index in range(mnist_count)]
    numbers = []
    for seed in TEST_SEEDS[:number_count]:
        drawing = render_drawing(seed, size=size)
        numbers.append((drawing.jpeg, drawing.text))
    return {f"MNIST test digits, {size} px": mnist, f"handwriting-font numbers, {size} px": numbers}


def read_both_ways(recognizer, images: list[tuple[bytes, str]], drawing_max_side: int) -> dict:
    from digitlab.vision.pipeline import analyze

    seconds = {True: 0.0, False: 0.0}
    right = {True: 0, False: 0}
    agree = 0
    for index, (data, truth) in enumerate(images):
        answers = {}
        # Alternate which way goes first, so caches and drift favour neither.
        for fast in ((True, False) if index % 2 == 0 else (False, True)):
            started = time.process_time()
            analysis = analyze(data, drawing_max_side=drawing_max_side if fast else None)
            seconds[fast] += time.process_time() - started
            # Read as `digitlab predict` reads (the recognizer's reader), every digit seen counted
            # whatever its confidence: this measures the two vision paths, not the reject option.
            result = recognizer.read_analyses([analysis])[0]
            answers[fast] = "".join(str(digit.digit) for digit in result.digits)
        right[True] += answers[True] == truth
        right[False] += answers[False] == truth
        agree += answers[True] == answers[False]
    count = len(images)
    return {
        "images": count,
        "accuracy_canvas": right[True] / count, "accuracy_photo": right[False] / count,
        "agreement": agree / count,
        "ms_canvas": seconds[True] / count * 1000, "ms_photo": seconds[False] / count * 1000,
    }


def canvas_path_share(images: list[tuple[bytes, str]]) -> float:
    """Fraction of the images that the canvas path takes (an even frame of one tone)."""
    from digitlab.vision.canvas import even_canvas_tone
    from digitlab.vision.decode import decode_full_size

    return sum(even_canvas_tone(decode_full_size(data).gray) is not None for data, _ in images) / len(images)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", type=int, default=2000, help="MNIST test digits per size")
    parser.add_argument("--numbers", type=int, default=500, help="handwriting-font numbers per size")
    parser.add_argument("--model", help="model (default: the default reader)")
    parser.add_argument("--reader", default="auto", help="auto (what `digitlab predict` uses), line or segments")
    parser.add_argument("--drawing-max-side", type=int, default=DRAWING_MAX_SIDE,
                        help="the canvas path's working size (default: vision.canvas.DRAWING_MAX_SIDE)")
    parser.add_argument("--sizes", type=int, nargs="+", help="drawing sizes (default: the page's export size and 280)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-drawings.md",
                        help="where to write the results (default: benchmarks/RESULTS-drawings.md)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    args = parser.parse_args()
    ensure_data()

    from digitlab.recognize import Recognizer

    recognizer = Recognizer(model=args.model, reader=args.reader)
    rows = []
    for size in args.sizes or (page_export_size(), OLD_EXPORT_SIZE):
        for name, images in drawing_sets(args.mnist, args.numbers, size).items():
            if not images:
                continue
            result = read_both_ways(recognizer, images, args.drawing_max_side)
            result["name"], result["canvas_share"] = name, canvas_path_share(images)
            rows.append(result)
            print(f"{name:38s} canvas path {result['canvas_share']:.0%}  right {result['accuracy_canvas']:.2%} vs "
                  f"{result['accuracy_photo']:.2%}  agree {result['agreement']:.2%}  "
                  f"{result['ms_canvas']:.2f} vs {result['ms_photo']:.2f} ms", flush=True)

    lines = [
        "# Drawings: the canvas path vs the photo path",
        "",
        f"- Date, machine: {machine_line()}",
        f"- Command: `{' '.join(['python', 'benchmarks/drawings.py', *sys.argv[1:]])}`",
        f"- Canvas path working size: at most {args.drawing_max_side} px; the page sends {page_export_size()} px.",
        f"- Model: `{recognizer.name}` on {recognizer.runtime.name}, {recognizer.info['reader']} reader; a reading is "
        "right when the whole digit string is.",
        "- CPU ms: `vision.analyze` per image (decoding included, model excluded), the two ways alternating.",
        "",
        "| drawings | images | on the canvas path | right, canvas path | right, photo path | same answer "
        "| CPU ms, canvas path | CPU ms, photo path | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['images']:,} | {row['canvas_share']:.0%} | {row['accuracy_canvas']:.2%} "
            f"| {row['accuracy_photo']:.2%} | {row['agreement']:.2%} | {row['ms_canvas']:.2f} "
            f"| {row['ms_photo']:.2f} | {row['ms_photo'] / row['ms_canvas']:.1f}× |"
        )
    lines.append("")
    if args.no_write:
        print("\n".join(lines))
    else:
        write_results(args.out, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
