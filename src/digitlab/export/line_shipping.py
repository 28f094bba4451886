"""Ship a trained line reader: ONNX export with a parity check, calibration on validation strips, its card.

Usage:

    digitlab ship runs/20261207T020000Z-line-reader --name line-reader
    ship_line_reader(Path("runs/...-line-reader"), "line-reader")   # → models/line-reader/

The folder gets model.keras (no optimizer state), model.onnx (strips of any
width; checked against Keras on validation strips: the same best-path reading
of every strip, frame scores within PARITY_TOLERANCE) and card.json. Calibration
runs the ONNX file the way `digitlab predict` does (digitlab.recognize.LineReader,
each strip's frame scores averaged over its row shifts, recorded in the card)
over the run's validation strips (MNIST training digits 54,000–59,999; never a
test digit): the temperature (searched coarse to fine, grid_minimum) that makes
a number's confidence (the product of its digits') match how often such numbers
are right, then `reject_below`, the highest threshold on the least sure digit
that refuses at most MAX_RIGHT_REFUSED of the right readings.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

from digitlab.errors import UserError
from digitlab.export.exporter import use_tensorflow_backend
from digitlab.formats import CARD, atomic_path, file_sha256, staged_files, write_json_atomic
from digitlab.models import import_keras
from digitlab.recognize.ctc import best_path_text, decode, frame_probabilities
from digitlab.recognize.line_reader import LineReader
from digitlab.synth.strip_data import StripSet, line_strips
from digitlab.synth.strips import HELD_OUT_FONT_FAMILIES
from digitlab.train.line_training import HISTORY

PARITY_TOLERANCE = 1e-3  # logits; float32 kernels differ by ~1e-5
PARITY_STRIPS = 300
MAX_RIGHT_REFUSED = 0.01
TEMPERATURES = np.round(np.arange(0.5, 3.01, 0.05), 2)
THRESHOLDS = np.round(np.arange(0.0, 0.96, 0.01), 2)
# grid_minimum looks at every COARSE_STRIDE-th temperature first (every 0.25), then at the 0.05 steps around the best.
COARSE_STRIDE = 5


def grid_minimum(grid: np.ndarray, cost, stride: int = COARSE_STRIDE) -> float:
    """The point of the sorted `grid` where `cost` is least, searched coarse to fine: every stride-th
    point (and the last), then every point between the coarse best's neighbours. The same answer as
    trying them all when the cost has one valley, as the log loss over temperatures has, in about
    a third of the calls (each decodes every validation strip)."""
    cost = functools.lru_cache(maxsize=None)(cost)
    coarse = sorted(set(range(0, len(grid), stride)) | {len(grid) - 1})
    best = min(coarse, key=lambda index: cost(float(grid[index])))
    position = coarse.index(best)
    low, high = coarse[max(position - 1, 0)], coarse[min(position + 1, len(coarse) - 1)]
    return float(min((float(grid[index]) for index in range(low, high + 1)), key=cost))


def _export_onnx(keras_path: Path, onnx_path: Path) -> None:
    """model.keras → model.onnx taking (n, 32, any width, 1), through TensorFlow (in a subprocess if need be)."""
    if not use_tensorflow_backend():  # Keras already runs on JAX here: export in a fresh process
        environment = {**os.environ, "KERAS_BACKEND": "tensorflow"}
        done = subprocess.run([sys.executable, "-m", "digitlab.export.line_shipping", str(keras_path), str(onnx_path)],
                              capture_output=True, text=True, env=environment)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines()
            raise UserError(f"the ONNX export of {keras_path} failed ({lines[-1] if lines else done.returncode}).")
        return
    keras = import_keras()
    model = keras.saving.load_model(keras_path, compile=False, safe_mode=True)
    signature = [keras.InputSpec(shape=(None, model.input_shape[1], None, 1), dtype="float32")]
    with atomic_path(onnx_path, suffix=".onnx") as partial, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf2onnx warns about its own internals
        model.export(str(partial), format="onnx", input_signature=signature, verbose=False)


def _save_weights_only(source: Path, target: Path) -> int:
    """The run's model.keras without its optimizer state; returns its parameter count."""
    keras = import_keras()
    model = keras.saving.load_model(source, compile=False, safe_mode=True)
    with atomic_path(target, suffix=".keras") as partial:
        model.save(partial)
    return int(model.count_params())


def _parity(keras_path: Path, reader: LineReader, strips: StripSet) -> dict:
    keras = import_keras()
    model = keras.saving.load_model(keras_path, compile=False, safe_mode=True)
    worst, same = 0.0, 0
    count = min(PARITY_STRIPS, len(strips))
    for index in range(count):
        expected = np.asarray(model.predict_on_batch(strips.pixels(index)[None, :, :, None]))[0]
        actual = reader.model_logits(strips.pixels(index)[None])[0]
        worst = max(worst, float(np.max(np.abs(expected - actual))))
        same += best_path_text(expected) == best_path_text(actual)
    if worst > PARITY_TOLERANCE or same < count:
        raise UserError(f"the ONNX export does not match the Keras line reader (same reading of {same} of {count} "
                        f"strips, frame scores apart by up to {worst:.2g}); nothing was shipped.")
    return {"strips": count, "max_abs_diff": worst, "same_reading": same}


def calibrate(reader: LineReader, strips: StripSet) -> dict:
    """Temperature and reject threshold chosen on `strips` (see the module doc), with the validation figures."""
    logits = [reader.logits(strips.pixels(index)) for index in range(len(strips))]
    numbers = [index for index, text in enumerate(strips.texts) if text]
    refuse = [index for index, text in enumerate(strips.texts) if not text]

    def readings(temperature: float):
        found = []
        for index in range(len(strips)):
            digits = decode(frame_probabilities(logits[index], temperature))  # as LineReader.read does
            text = "".join(str(digit.digit) for digit in digits)
            confidences = [digit.confidence for digit in digits]
            found.append((text, float(np.prod(confidences)) if digits else 0.0, min(confidences, default=0.0)))
        return found

    def log_loss(temperature: float) -> float:
        found = readings(temperature)
        right = np.array([found[index][0] == strips.texts[index] for index in numbers], float)
        confidence = np.clip([found[index][1] for index in numbers], 1e-6, 1 - 1e-6)
        return float(-np.mean(right * np.log(confidence) + (1 - right) * np.log(1 - confidence)))

    temperature = grid_minimum(TEMPERATURES, log_loss)
    found = readings(temperature)
    right = [index for index in numbers if found[index][0] == strips.texts[index]]
    allowed = int(MAX_RIGHT_REFUSED * len(right))
    threshold = max(value for value in THRESHOLDS
                    if sum(found[index][2] < value for index in right) <= allowed)
    read = [index for index in numbers if found[index][0] and found[index][2] >= threshold]
    wrong_read = sum(found[index][0] != strips.texts[index] for index in read)
    return {
        "temperature": temperature, "reject_below": float(threshold),
        "validation": {
            "numbers": len(numbers), "exact": len(right) / max(len(numbers), 1),
            "exact_after_reject": sum(found[index][0] == strips.texts[index] for index in read) / max(len(numbers), 1),
            "wrong_after_reject": wrong_read / max(len(numbers), 1),
            "non_numbers": len(refuse),
            "non_numbers_refused": sum(not found[index][0] or found[index][2] < threshold for index in refuse)
            / max(len(refuse), 1),
        },
    }


def ship_line_reader(run_dir: Path, name: str, models_dir: Path) -> Path:
    """Export, check, calibrate and card the run's line reader into models_dir/name; return the folder."""
    run_dir = Path(run_dir)
    history_path = run_dir / HISTORY
    if not (run_dir / "model.keras").is_file() or not history_path.is_file():
        raise UserError(f"{run_dir} is not a finished line-reader run (it needs model.keras and {HISTORY}).")
    training = json.loads(history_path.read_text(encoding="utf-8"))
    strips = line_strips("validation", training["validation_photos"])
    target = Path(models_dir) / name
    with staged_files(target, last=(CARD,)) as staging:
        parameters = _save_weights_only(run_dir / "model.keras", staging / "model.keras")
        _export_onnx(staging / "model.keras", staging / "model.onnx")
        reader = LineReader(staging / "model.onnx")
        parity = _parity(staging / "model.keras", reader, strips)
        card = {
            "name": name, "kind": "line-reader", "architecture": "line-reader",
            "training_command": training.get("command"), "seed": training.get("seed"),
            "parameters": parameters, "data": {
                "train_strips": training["train_strips"], "train_photos_missed": training["train_missed"],
                "validation_strips": len(strips), "validation_photos_missed": strips.missed,
                "digits": "MNIST training images 0-53,999 (train), 54,000-59,999 (validation); no test image",
                "fonts_held_out": list(HELD_OUT_FONT_FAMILIES), "generator": training.get("generator"),
                "validation_generator": strips.generator,  # the calibration strips' (today's code)
            },
            "epochs": len(training["history"]), "best_epoch": training.get("best_epoch"),
            **calibrate(reader, strips),
            "row_shifts": list(reader.row_shifts),  # how calibration (and predict) read each strip
            "onnx_parity": parity,
            "files": {file: file_sha256(staging / file) for file in ("model.keras", "model.onnx")},
        }
        write_json_atomic(staging / CARD, card)
    return target


if __name__ == "__main__":  # the TensorFlow-backend export subprocess of _export_onnx
    _export_onnx(Path(sys.argv[1]), Path(sys.argv[2]))
