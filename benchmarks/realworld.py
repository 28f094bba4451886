"""Measure reading real-world images through the same path as `digitlab predict`.

Usage:

    .venv/bin/python benchmarks/realworld.py [--model NAME|PATH] [--count 300] [--out benchmarks/RESULTS-realworld.md]
    .venv/bin/python benchmarks/realworld.py --compare deotte deotte-tuned   # also these models, same files
    .venv/bin/python benchmarks/realworld.py --calibrate     # reject threshold → RESULTS-reject-threshold.md

What it measures, every image read by Recognizer.read_many (files written to a
temporary folder first, so decoding is included):

(a) scikit-learn's load_digits: 1,797 real 8×8 digits by 43 writers, saved as
    32×32 PNG (bilinear upscaling, dark ink on white like a scan);
(b) synthetic photos (digitlab.synth.photos, TEST_SEEDS): single digits
    and 3–5 digit numbers in handwriting fonts, under uneven light, rotated,
    blurred, noisy, JPEG-compressed;
(c) speed: one phone photo (1, 4 and 12 MP JPEG) read end to end, p50/p95,
    and a folder read in batches (images per second).

--dev reads synthetic photos from development seeds (DEV_SEEDS, below the
calibration seeds) instead of TEST_SEEDS and only prints the tables (unless
--out is given): tune on those, report on the test seeds.

--calibrate reads calibration digits of two kinds, synthetic photos
(CALIBRATION_SEEDS, never TEST_SEEDS) and MNIST validation images rendered as
low-resolution scans (never trained on), and non-digits (letters, symbols,
scribbles, blank paper, noise), and prints how many of each are kept at each
confidence threshold, with the threshold its rule picks (the highest that
refuses at most 1 % of right readings of either kind): that chose REJECT_BELOW.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from PIL import Image

import common  # noqa: F401  (measures the clone's models/: it sets DIGITLAB_MODELS_DIR)

from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one
from digitlab.recognize import READERS, ImageError, Recognizer
from digitlab.synth import CALIBRATION_SEEDS, TEST_SEEDS, render_non_digit, render_photo

BATCH = 32
# Reject thresholds tried by --calibrate, and its rule: the highest one that refuses
# at most this share of the readings that were right (per kind of calibration digit).
CANDIDATE_THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
MAX_RIGHT_REFUSED = 0.01
# Development photos for tuning the pipeline: below CALIBRATION_SEEDS, so never a test or calibration seed.
DEV_SEEDS = range(100_000, 200_000)


def read_files(recognizer: Recognizer, paths: list[Path]) -> list:
    results = []
    for start in range(0, len(paths), BATCH):
        results += recognizer.read_many(paths[start:start + BATCH])
    return results


def load_digits_pngs(folder: Path) -> tuple[list[Path], list[str]]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    paths, labels = [], []
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        paper = 255 - (image / 16.0 * 255).astype(np.uint8)  # 0..16 ink → dark ink on white
        path = folder / f"digit-{index:04d}-{label}.png"
        Image.fromarray(paper, mode="L").resize((32, 32), Image.Resampling.BILINEAR).save(path)
        paths.append(path)
        labels.append(str(label))
    return paths, labels


def synthetic_files(folder: Path, seeds: range, lengths: tuple[int, int]) -> tuple[list[Path], list[str]]:
    paths, labels = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        text = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(lengths[0], lengths[1] + 1))))
        photo = render_photo(seed, text=text)
        path = folder / f"photo-{seed}-{text}.jpg"
        path.write_bytes(photo.jpeg)
        paths.append(path)
        labels.append(text)
    return paths, labels


def seen(result) -> str:
    """The digits the reader saw, left to right, whatever their confidence."""
    return "".join(str(digit.digit) for digit in result.digits)


def score(results: list, labels: list[str]) -> dict:
    read = [r for r in results if not isinstance(r, ImageError)]
    correct = sum(1 for r, label in zip(results, labels) if not isinstance(r, ImageError) and r.prediction == label)
    rejected = sum(1 for r in read if r.prediction == "")
    wrong = len(labels) - correct - rejected
    # What the reader would answer without the reject option: the digits it saw.
    raw = sum(1 for r, label in zip(results, labels) if not isinstance(r, ImageError) and seen(r) == label)
    return {"n": len(labels), "correct": correct, "rejected": rejected, "wrong": wrong, "raw_correct": raw}


def percentiles(seconds: list[float]) -> tuple[float, float]:
    return float(np.percentile(seconds, 50) * 1e3), float(np.percentile(seconds, 95) * 1e3)


def speed(recognizer: Recognizer, folder: Path) -> list[tuple[str, float, float]]:
    rows = []
    for megapixels, size in ((1, (1152, 864)), (4, (2304, 1728)), (12, (4000, 3000))):
        photo = render_photo(TEST_SEEDS[-1], text="2026", size=size, digit_height=size[1] // 6)
        path = folder / f"phone-{megapixels}mp.jpg"
        path.write_bytes(photo.jpeg)
        for _ in range(3):
            recognizer.read(path)
        times = []
        for _ in range(30):
            started = time.perf_counter()
            result = recognizer.read(path)
            times.append(time.perf_counter() - started)
        p50, p95 = percentiles(times)
        rows.append((f"{megapixels} MP JPEG {size[0]}×{size[1]} (read {result.prediction!r})", p50, p95))
    return rows


def _least_confident(result) -> float:
    # A reading is refused if nothing is found or its least sure digit is below the threshold.
    return min((d.confidence for d in result.digits), default=0.0)


def calibration_digits(recognizer: Recognizer, count: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{kind: (least confidence, read right)} for the two kinds of calibration digits."""
    from digitlab.data import validation_start
    from digitlab.data import load_dataset
    from digitlab.synth.training_data import render_low_resolution

    photos = [render_photo(seed, text=str(seed % 10)) for seed in CALIBRATION_SEEDS[:count]]
    photo_results = [recognizer.read(photo.jpeg) for photo in photos]
    # MNIST's validation images (the last 6,000 training images, never trained on) as low-resolution scans.
    mnist = load_dataset("mnist")
    first = validation_start(len(mnist.x_train))
    scans = [render_low_resolution(mnist.x_train[first + index], np.random.default_rng([CALIBRATION_SEEDS[0], index]))
             for index in range(count)]
    scan_results = [recognizer.read(scan) for scan in scans]
    return {
        "synthetic photo digits": (np.array([_least_confident(r) for r in photo_results]),
                                   np.array([seen(r) == p.text for r, p in zip(photo_results, photos)])),
        "low-resolution scans": (np.array([_least_confident(r) for r in scan_results]),
                                 np.array([seen(r) == str(mnist.y_train[first + i])
                                           for i, r in enumerate(scan_results)])),
    }


def calibrate(recognizer: Recognizer, count: int) -> str:
    """Per threshold: calibration digits kept or refused, non-digits refused; and the threshold the rule picks."""
    digits = calibration_digits(recognizer, count)
    other_conf, kinds = [], []
    for seed in CALIBRATION_SEEDS[count:2 * count]:
        sample = render_non_digit(seed)
        other_conf.append(_least_confident(recognizer.read(sample.jpeg)))
        kinds.append(sample.kind)
    other_conf = np.array(other_conf)
    names = list(digits)
    lines = ["| threshold | " + " | ".join(f"{name}: right, kept / right, refused / wrong, kept" for name in names)
             + " | non-digits refused |", "|---|" + "---|" * (len(names) + 1)]
    allowed = []
    for threshold in CANDIDATE_THRESHOLDS:
        cells = []
        loses = []
        for name in names:
            confidence, right = digits[name]
            kept = (confidence >= threshold) & (confidence > 0)  # nothing found: refused at any threshold
            cells.append(f"{np.mean(kept & right):.1%} / {np.mean(~kept & right):.1%} / {np.mean(kept & ~right):.1%}")
            loses.append(np.mean(~kept & right))
        refused = np.mean(other_conf < threshold) if threshold else np.mean(other_conf == 0)
        lines.append(f"| {threshold:.2f} | " + " | ".join(cells) + f" | {refused:.1%} |")
        if max(loses) <= MAX_RIGHT_REFUSED:
            allowed.append(threshold)
    chosen = max(allowed, default=0.0)
    by_kind = {kind: float(np.mean(other_conf[np.array(kinds) == kind] < chosen)) for kind in sorted(set(kinds))}
    lines += ["", f"Rule: the highest threshold that refuses at most {MAX_RIGHT_REFUSED:.0%} of the right readings "
                  f"of each kind of digit → **{chosen:.2f}** (in use: {recognizer.reject_below}).",
              f"Non-digits refused at {chosen:.2f}, by kind: "
              + ", ".join(f"{kind} {share:.0%}" for kind, share in by_kind.items())]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model to measure (default: what `digitlab predict` uses)")
    parser.add_argument("--compare", nargs="*", default=[], metavar="MODEL",
                        help="also read load_digits and the synthetic sets with these models, same threshold")
    parser.add_argument("--reader", default="auto", choices=READERS,
                        help="how images are read (default: auto, what `digitlab predict` uses)")
    parser.add_argument("--compare-readers", nargs="*", default=[], choices=READERS, metavar="READER",
                        help="also read load_digits and the synthetic sets with these readers (line, segments)")
    parser.add_argument("--count", type=int, default=300, help="synthetic photos per set (default 300)")
    parser.add_argument("--calibrate", action="store_true",
                        help="write the reject-threshold table (default RESULTS-reject-threshold.md) and stop")
    parser.add_argument("--dev", action="store_true", help="synthetic photos from development seeds, not test seeds")
    parser.add_argument("--out", help="where to write the report (default: RESULTS-realworld.md beside this script, "
                                      "RESULTS-reject-threshold.md with --calibrate; with --dev, nowhere)")
    args = parser.parse_args()

    recognizer = Recognizer(args.model, reader=args.reader)
    command = "python benchmarks/realworld.py" + "".join(f" {arg}" for arg in sys.argv[1:])
    if args.calibrate:
        report = ["# Reject threshold: confidence of calibration digits vs non-digits", "", *header(recognizer, command),
                  "", "Each cell: right and kept / right but refused / wrong and kept.", "",
                  calibrate(recognizer, args.count)]
        write_report(report, args.out or str(Path(__file__).with_name("RESULTS-reject-threshold.md")))
        return
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        sections = {}
        file_sets = []
        paths, labels = load_digits_pngs(folder)
        file_sets.append((paths, labels))
        started = time.perf_counter()
        sections["scikit-learn load_digits (1,797 real 8×8 digits, 43 writers, as 32×32 PNG)"] = \
            (score(read_files(recognizer, paths), labels), time.perf_counter() - started)
        count = args.count
        seeds = DEV_SEEDS if args.dev else TEST_SEEDS
        seed_singles = range(seeds.start, seeds.start + count)
        seed_numbers = range(seeds.start + 50_000, seeds.start + 50_000 + count)
        paths, labels = synthetic_files(folder, seed_singles, (1, 1))
        file_sets.append((paths, labels))
        started = time.perf_counter()
        sections[f"synthetic photos, single digits ({count}, seeds {seed_singles.start}…)"] = \
            (score(read_files(recognizer, paths), labels), time.perf_counter() - started)
        paths, labels = synthetic_files(folder, seed_numbers, (3, 5))
        file_sets.append((paths, labels))
        started = time.perf_counter()
        sections[f"synthetic photos, 3–5 digit numbers ({count}, seeds {seed_numbers.start}…)"] = \
            (score(read_files(recognizer, paths), labels), time.perf_counter() - started)
        speed_rows = speed(recognizer, folder)
        # The same files read by other models, for the comparison table.
        compared = {}
        for other_name in args.compare:
            other = Recognizer(other_name, reject_below=recognizer.reject_below)
            compared[other.name] = (other.info["test_accuracy"],
                                    [score(read_files(other, paths), labels) for paths, labels in file_sets])
        for reader in args.compare_readers:
            other = Recognizer(args.model, reader=reader)
            compared[f"{other.name}, {other.info['reader']} reader"] = (
                other.info["test_accuracy"], [score(read_files(other, paths), labels) for paths, labels in file_sets])

    report = [
        "# Reading real-world images",
        "",
        *header(recognizer, command),
        "",
        "Every image goes through `Recognizer.read_many` from a file, as `digitlab predict` reads it.",
        "\"Right\" means the whole string is exactly right; \"refused\" means the reader answered \"\" (nothing",
        "readable, or a digit below the reject threshold); \"without reject\" counts the digits it saw.",
        "",
        "| set | images | right | refused | wrong | right without reject | time per image |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (counts, seconds) in sections.items():
        n = counts["n"]
        report.append(f"| {name} | {n} | {counts['correct'] / n:.1%} | {counts['rejected'] / n:.1%} | "
                      f"{counts['wrong'] / n:.1%} | {counts['raw_correct'] / n:.1%} | {seconds / n * 1e3:.1f} ms |")
    report += ["", "Speed of one photo, read end to end (decode, preprocess, segment, model), 30 reads:", "",
               "| photo | p50 | p95 |", "|---|---|---|"]
    report += [f"| {name} | {p50:.1f} ms | {p95:.1f} ms |" for name, p50, p95 in speed_rows]
    if compared:
        report += ["", f"Other models on the same files and threshold ({recognizer.reject_below}): right "
                       "(right without reject):", "",
                   "| model | MNIST test accuracy | load_digits | single digits | 3–5 digit numbers |",
                   "|---|---|---|---|---|"]
        for other_name, (accuracy, scores) in compared.items():
            cells = [f"{c['correct'] / c['n']:.1%} ({c['raw_correct'] / c['n']:.1%})" for c in scores]
            report.append(f"| {other_name} | {accuracy} | " + " | ".join(cells) + " |")
    write_report(report, args.out or (None if args.dev else str(Path(__file__).with_name("RESULTS-realworld.md"))))


def shown_path(path: str | os.PathLike) -> str:
    """The model file as the RESULTS files show it: repository-relative (they are committed), else ~/… or its name."""
    path = Path(path).resolve()
    for root, prefix in ((Path(__file__).resolve().parents[1], ""), (Path.home(), "~/")):
        if path.is_relative_to(root):
            return prefix + path.relative_to(root).as_posix()
    return path.name


def header(recognizer: Recognizer, command: str) -> list[str]:
    return [
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
        f"- model: {recognizer.name} ({recognizer.info['parameters']:,} parameters, "
        f"MNIST test accuracy {recognizer.info['test_accuracy']}) — `{shown_path(recognizer.path)}`",
        f"- reader: {_reader_line(recognizer)}",
        f"- reject threshold: {recognizer.reject_below}",
        f"- command: `{command}`",
    ]


def _reader_line(recognizer: Recognizer) -> str:
    if recognizer.line_reader is None:
        return "segments (segmentation, then the model above on each digit)"
    line = (f"the line reader `{shown_path(recognizer.line_reader.path)}` on {recognizer.line_reader.runtime_name}, "
            f"reject below {recognizer.line_reject_below}")
    if recognizer.reader == "line":
        return f"line ({line}; the model above is not used for images)"
    return f"auto ({line}; a lone digit the segmentation finds read by the model above)"


def write_report(report: list[str], out: str | None) -> None:
    if out:
        write_text_atomic(out, "\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
