"""int8 against float: accuracy on the decision sets, size, single-image latency and batch throughput.

Usage:

    .venv/bin/python benchmarks/quantize.py [--models reader deotte vgg cnn mlp] [--photos 1000] [--rounds 3]
                                            [--out benchmarks/RESULTS-quantize.md] [--ship]

For each shipped model, `digitlab.export.quantize_model` makes the int8 file
(ONNX Runtime static quantization calibrated on 1,000 MNIST training images
from the fit part; the variant — QDQ or QOperator, per-tensor or per-channel
weights — picked on the validation split). Then, float (models/NAME/model.onnx)
against int8:

1. The decision sets, which decide whether int8 ships for a model:
   - the validation split (x_train[54000:], 6,000 images; top-1 accuracy);
   - scikit-learn's load_digits (1,797 real 8×8 scans as 32×32 PNG) and
     synthetic photos from CALIBRATION_SEEDS (single digits and 3–5 digit
     numbers; never the TEST_SEEDS photos RESULTS-realworld.md reports on),
     each read end to end as `digitlab predict` reads it (benchmarks/realworld.py's
     files and scoring), counted both as predict answers ("right", with the
     reject threshold) and without the reject option ("right without reject").
     The vision pipeline does not depend on the model, so each image is analyzed
     once and both runtimes read the same crops (Recognizer.read_analyses).
   Rule, fixed before the figures were seen: int8 ships for a model only if it
   loses at most 0.1 percentage point against float on the validation split AND
   on every real-image decision figure (both counts of all three sets).
2. Reported only, after the decision: MNIST test accuracy (10,000 images).
3. Speed, float and int8 alternated over --rounds rounds (median, and the
   spread min–max over rounds): file size; single-image latency (p50 of many
   one-image calls, one thread); batch throughput (batches of 256, one thread).

`--ship` writes models/reader/model.int8.onnx and an "onnx_int8" entry in
models/reader/card.json when the reader passes the rule (nothing otherwise).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, machine_line, write_results
from realworld import load_digits_pngs, score, seen, synthetic_files

from digitlab.data import load_mnist, prepare_images, split_validation
from digitlab.export import MAX_ACCURACY_LOSS, quantize_model
from digitlab.formats import CARD, atomic_path, read_card, write_card
from digitlab.recognize import INT8_FILE, ImageError, OnnxRuntime, Recognizer
from digitlab.synth import CALIBRATION_SEEDS

MODELS = ("reader", "deotte", "vgg", "cnn", "mlp")
SINGLE_CALLS = 2000
BATCH = 256
BATCH_CALLS = 20  # at least this many batch calls, and at least BATCH_SECONDS of them
BATCH_SECONDS = 1.0
NEAR = 0.05  # a least-confident digit this close to the reject threshold flips answer ↔ refusal easily
COUNTS = (("right", "correct"), ("right without reject", "raw_correct"))


def decision_sets(folder: Path, photos: int) -> dict[str, tuple[list, list[str]]]:
    """name → (analyses, labels) of the real-image decision sets, each image analyzed once."""
    analyzer = Recognizer(ROOT / "models" / "reader" / "model.keras")  # analyze() runs digitlab.vision only
    files = {"load_digits (1,797 real scans)": load_digits_pngs(folder)}
    singles = range(CALIBRATION_SEEDS.start, CALIBRATION_SEEDS.start + photos)
    numbers = range(CALIBRATION_SEEDS.start + 50_000, CALIBRATION_SEEDS.start + 50_000 + photos)
    files[f"synthetic photos, single digits ({photos}, calibration seeds {singles.start}…)"] = \
        synthetic_files(folder, singles, (1, 1))
    files[f"synthetic photos, 3–5 digit numbers ({photos}, calibration seeds {numbers.start}…)"] = \
        synthetic_files(folder, numbers, (3, 5))
    sets = {}
    for name, (paths, labels) in files.items():
        analyses = []
        for path in paths:
            try:
                analyses.append(analyzer.analyze(path))
            except ImageError as error:
                analyses.append(error)
        sets[name] = (analyses, labels)
    return sets


def accuracy(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    runtime = OnnxRuntime(path)
    predicted = np.concatenate([runtime.predict(images[start:start + 1000]).argmax(axis=1)
                                for start in range(0, len(images), 1000)])
    return float(np.mean(predicted == labels))


def speed(path: Path, images: np.ndarray) -> tuple[float, float]:
    """(p50 µs of one-image calls, images per second in batches of BATCH), one thread."""
    runtime = OnnxRuntime(path, threads=1)
    for index in range(50):
        runtime.predict(images[index:index + 1])
    times = []
    for index in range(SINGLE_CALLS):
        one = images[index % len(images)][None]
        started = time.perf_counter()
        runtime.predict(one)
        times.append(time.perf_counter() - started)
    batch = images[:BATCH]
    runtime.predict(batch)
    calls, started = 0, time.perf_counter()
    while calls < BATCH_CALLS or time.perf_counter() - started < BATCH_SECONDS:
        runtime.predict(batch)
        calls += 1
    return float(np.median(times) * 1e6), BATCH * calls / (time.perf_counter() - started)


def changed_answers(float_results: list, int8_results: list, threshold: float) -> tuple[int, int]:
    """(images whose answer or seen digits differ, of which both least confidences are within NEAR of threshold)."""
    changed = near = 0
    for first, second in zip(float_results, int8_results):
        if isinstance(first, ImageError):
            continue
        if first.prediction != second.prediction or seen(first) != seen(second):
            changed += 1
            confidences = [min((digit.confidence for digit in result.digits), default=0.0)
                           for result in (first, second)]
            near += all(abs(confidence - threshold) <= NEAR for confidence in confidences)
    return changed, near


def spread(values: list[float], form: str) -> str:
    return f"{format(float(np.median(values)), form)} ({format(min(values), form)}–{format(max(values), form)})"


def ship_reader(int8_path: Path, row: dict) -> None:
    """models/reader/model.int8.onnx and the card's "onnx_int8" entry (every other field kept)."""
    folder = ROOT / "models" / "reader"
    with atomic_path(folder / INT8_FILE) as partial:
        shutil.copyfile(int8_path, partial)
    card = read_card(folder)
    result = row["result"]
    card["onnx_int8"] = {
        "file": INT8_FILE, "sha256": result.sha256, "file_bytes": result.file_bytes,
        "source_sha256": result.source_sha256,
        "quantization": {"method": "onnxruntime quantize_static, MinMax", "format": result.quant_format,
                         "per_channel": result.per_channel, "activations": "uint8", "weights": "int8",
                         "calibration_images": result.calibration_images,
                         "calibration_data": "MNIST training images from the fit part (x_train[:54000]), seed 0"},
        "validation_accuracy": round(result.int8_accuracy, 6), "validation_accuracy_float": round(result.float_accuracy, 6),
        "validation_top1_agreement": round(result.top1_agreement, 6),
        "real_images": {name: {"n": figures["n"], "float": figures["float"], "int8": figures["int8"]}
                        for name, figures in row["real"].items()},
        "test_accuracy": row["test"][1], "test_accuracy_float": row["test"][0],
        "decision": "int8 ships only if it loses at most 0.1 percentage point against float on the validation "
                    "split and on load_digits and the calibration-seed synthetic photos; the test figures are "
                    "reported only. Figures: benchmarks/RESULTS-quantize.md.",
    }
    write_card(folder, card)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--photos", type=int, default=1000, help="synthetic photos per kind (default 1000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-quantize.md")))
    parser.add_argument("--ship", action="store_true", help="ship the reader's int8 file if it passes the rule")
    args = parser.parse_args()
    command = "python benchmarks/quantize.py" + "".join(f" {arg}" for arg in sys.argv[1:])

    (train_images, train_labels), (test_images, test_labels) = load_mnist()
    _, (validation, _) = split_validation(train_images, train_labels)
    validation = prepare_images(validation)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="digitlab-bench-int8-") as scratch:
        scratch = Path(scratch)
        print("analyzing the real-image decision sets…", file=sys.stderr)
        sets = decision_sets(scratch, args.photos)
        for name in args.models:
            print(f"{name}: quantizing and reading the decision sets…", file=sys.stderr)
            folder = ROOT / "models" / name
            # The int8 file sits beside a copy of the card, so its Recognizer gets the same temperature.
            int8_folder = scratch / name
            int8_folder.mkdir()
            shutil.copyfile(folder / CARD, int8_folder / CARD)
            int8_path = int8_folder / INT8_FILE
            result = quantize_model(folder / "model.keras", int8_path, max_accuracy_loss=1.0)
            float_reader = Recognizer(folder / "model.keras", runtime="onnx")
            int8_reader = Recognizer(int8_path, runtime="onnx-int8", reject_below=float_reader.reject_below)
            real, changes = {}, {}
            for set_name, (analyses, labels) in sets.items():
                float_results, int8_results = float_reader.read_analyses(analyses), int8_reader.read_analyses(analyses)
                float_counts, int8_counts = score(float_results, labels), score(int8_results, labels)
                changes[set_name] = changed_answers(float_results, int8_results, float_reader.reject_below)
                for count_name, key in COUNTS:
                    real[f"{set_name}: {count_name}"] = {
                        "n": len(labels), "float": round(float_counts[key] / len(labels), 6),
                        "int8": round(int8_counts[key] / len(labels), 6)}
            losses = {"validation split (6,000)": result.float_accuracy - result.int8_accuracy}
            losses.update({key: figures["float"] - figures["int8"] for key, figures in real.items()})
            rows[name] = {"result": result, "real": real, "changes": changes, "losses": losses, "int8_path": int8_path,
                          "float_path": folder / "model.onnx",
                          "passes": all(loss <= MAX_ACCURACY_LOSS + 1e-9 for loss in losses.values())}
        # Reported only: computed after every decision above is fixed.
        test = prepare_images(test_images)
        for row in rows.values():
            row["test"] = (round(accuracy(row["float_path"], test, test_labels), 6),
                           round(accuracy(row["int8_path"], test, test_labels), 6))
        print("timing…", file=sys.stderr)
        timings = {name: {"float": [], "int8": []} for name in rows}
        for round_index in range(args.rounds):
            for name, row in rows.items():
                order = ("float", "int8") if round_index % 2 == 0 else ("int8", "float")
                for kind in order:
                    timings[name][kind].append(speed(row[f"{kind}_path"], validation))
        if args.ship and "reader" in rows and rows["reader"]["passes"]:
            ship_reader(rows["reader"]["int8_path"], rows["reader"])
        lines = report(rows, timings, args, command)
    write_results(Path(args.out), lines)


def report(rows: dict, timings: dict, args, command: str) -> list[str]:
    lines = [
        "# int8 quantization against float",
        "",
        f"- {machine_line()}",
        f"- command: `{command}`",
        "- int8: ONNX Runtime static quantization (`digitlab export --quantize int8`), MinMax calibration on "
        "1,000 MNIST training images from the fit part (x_train[:54000], seed 0); uint8 activations, int8 weights; "
        "the variant picked on the validation split.",
        "- **Rule** (fixed before measuring): int8 ships for a model only if it loses at most 0.1 percentage point "
        "against float on the validation split AND on every real-image decision figure below. The real-image sets "
        f"are load_digits and synthetic photos from the calibration seeds ({args.photos} per kind), never the "
        "test-seed photos; \"right\" counts what `digitlab predict` answers (reject threshold "
        "applied), \"right without reject\" the digits it saw. MNIST test accuracy is reported only, computed after "
        "the decision.",
        "",
        "## Decision",
        "",
        "| model | variant | validation float → int8 | largest loss on a decision figure | int8 ships? "
        "| MNIST test float → int8 (reported only) |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        result = row["result"]
        worst_set, worst = max(row["losses"].items(), key=lambda item: item[1])
        variant = f"{result.quant_format}, {'per-channel' if result.per_channel else 'per-tensor'}"
        lines.append(
            f"| {name} | {variant} | {result.float_accuracy:.2%} → {result.int8_accuracy:.2%} | "
            f"{worst * 100:+.2f} pp ({worst_set}) | {'**yes**' if row['passes'] else 'no'} | "
            f"{row['test'][0]:.2%} → {row['test'][1]:.2%} |")
    lines += ["", "A positive loss means int8 is worse; a negative one, better.", "",
              "## Real-image decision sets, float → int8", "",
              "| model | set | images | float | int8 | loss |", "|---|---|---|---|---|---|"]
    for name, row in rows.items():
        for set_name, figures in row["real"].items():
            lines.append(f"| {name} | {set_name} | {figures['n']:,} | {figures['float']:.2%} | {figures['int8']:.2%} "
                         f"| {(figures['float'] - figures['int8']) * 100:+.2f} pp |")
    lines += ["", f"Answers that changed (the answer or the digits seen differ), and how many of them have their "
              f"least confident digit within {NEAR} of the reject threshold in both runtimes:", "",
              "| model | set | answers changed | near the threshold |", "|---|---|---|---|"]
    for name, row in rows.items():
        for set_name, (changed, near) in row["changes"].items():
            lines.append(f"| {name} | {set_name} | {changed} | {near} |")
    lines += ["", "## Variants on the validation split (6,000 images)", "",
              "| model | variant | accuracy | same top class as float | mean abs. probability difference | size |",
              "|---|---|---|---|---|---|"]
    for name, row in rows.items():
        for variant in row["result"].variants:
            lines.append(f"| {name} | {variant['format']}, {'per-channel' if variant['per_channel'] else 'per-tensor'} "
                         f"| {variant['accuracy']:.2%} | {variant['top1_agreement']:.2%} | "
                         f"{variant['mean_abs_diff']:.1e} | {variant['file_bytes'] / 1e3:,.0f} kB |")
    lines += ["", f"## Size and speed (one thread; median over {args.rounds} alternated rounds, spread min–max)", "",
              f"Single image: p50 of {SINGLE_CALLS:,} one-image calls of `OnnxRuntime.predict`. Batch: "
              f"at least {BATCH_CALLS} calls and {BATCH_SECONDS:.0f} s of calls with {BATCH} images each.", "",
              "| model | float size | int8 size | single image, float | single image, int8 | "
              f"batch {BATCH}, float | batch {BATCH}, int8 |", "|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        cells = []
        for index, (form, unit) in enumerate((((".0f"), " µs"), ((",.0f"), " img/s"))):
            for kind in ("float", "int8"):
                cells.append(spread([timing[index] for timing in timings[name][kind]], form) + unit)
        lines.append(f"| {name} | {row['float_path'].stat().st_size / 1e3:,.0f} kB | "
                     f"{row['result'].file_bytes / 1e3:,.0f} kB | " + " | ".join([cells[0], cells[1], cells[2], cells[3]]) + " |")
    return lines


if __name__ == "__main__":
    main()
