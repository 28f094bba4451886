"""`digitlab export --quantize int8`: the shipped cnn quantized end to end, the int8 runtime, and refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab.data import load_mnist, split_validation
from digitlab.errors import UserError
from digitlab.export import calibration_images, quantize_model
from digitlab.formats import file_sha256
from digitlab.recognize import INT8_FILE, OnnxRuntime, Recognizer, open_runtime

SHIPPED_CNN = Path(__file__).resolve().parents[1] / "models" / "cnn"


def digitlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *args], capture_output=True, text=True, timeout=300)


def validation_digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    (x_train, y_train), _ = load_mnist()
    _, (images, labels) = split_validation(x_train, y_train)
    return images[:count].astype(np.float32) / 255.0, labels[:count]


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """A copy of the shipped cnn (model.keras, its model.onnx, card) with model.int8.onnx made by the CLI."""
    folder = tmp_path_factory.mktemp("int8")
    for name in ("model.keras", "model.onnx", "card.json"):
        shutil.copyfile(SHIPPED_CNN / name, folder / name)
    done = digitlab("export", "--model", str(folder / "model.keras"), "--format", "onnx", "--quantize", "int8",
                    "--calibration-images", "300", "--parity-images", "500", "--json")
    assert done.returncode == 0, done.stderr
    return folder, json.loads(done.stdout)


def test_the_int8_file_loads_and_agrees_with_float(quantized):
    folder, result = quantized
    path = folder / INT8_FILE
    assert result["path"] == str(path) and result["sha256"] == file_sha256(path)
    assert result["calibration_images"] == 300 and result["check_images"] == 500
    assert result["file_bytes"] < result["float_onnx_bytes"] / 2, "int8 weights take a quarter of float32's bytes"
    int8 = OnnxRuntime(path)
    assert int8.name == "onnx-int8" and json.loads(int8.quantization)["type"] == "int8"
    assert int8.source_sha256 == file_sha256(folder / "model.keras"), "records the .keras file it stands for"
    images, _ = validation_digits(500)
    agreement = np.mean(int8.predict(images).argmax(axis=1) == OnnxRuntime(folder / "model.onnx").predict(images).argmax(axis=1))
    assert agreement >= 0.99
    assert not list(folder.glob(".*partial*")), "no temporary file is left behind"


def test_the_recognizer_runs_int8_only_when_asked(quantized):
    folder, _ = quantized
    float_reader = Recognizer(folder / "model.keras")
    int8_reader = Recognizer(folder / "model.keras", runtime="onnx-int8")
    assert float_reader.info["runtime"] == "onnx" and int8_reader.info["runtime"] == "onnx-int8"
    assert int8_reader.temperature == float_reader.temperature, "the card's temperature applies to both"
    images, labels = validation_digits(20)
    int8_digits = [int8_reader.predict_pixels(image)["digits"][0]["digit"] for image in images]
    float_digits = [float_reader.predict_pixels(image)["digits"][0]["digit"] for image in images]
    assert int8_digits == float_digits


def test_int8_runtime_errors_are_one_sentence(quantized, tmp_path):
    folder, _ = quantized
    shutil.copyfile(folder / "model.onnx", tmp_path / "model.onnx")
    (tmp_path / "model.keras").write_bytes(b"another model")
    with pytest.raises(UserError, match="no model.int8.onnx beside it"):
        open_runtime(tmp_path / "model.keras", "onnx-int8")
    shutil.copyfile(folder / INT8_FILE, tmp_path / INT8_FILE)
    with pytest.raises(UserError, match="was not quantized from"):
        open_runtime(tmp_path / "model.keras", "onnx-int8")
    shutil.copyfile(folder / "model.onnx", tmp_path / INT8_FILE)
    with pytest.raises(UserError, match="is not an int8 model"):
        open_runtime(tmp_path / "model.onnx", "onnx-int8")


def test_quantize_on_another_format_is_one_clear_line(tmp_path):
    done = digitlab("export", "--model", str(SHIPPED_CNN / "model.keras"), "--format", "tflite", "--quantize", "int8",
                    "--out", str(tmp_path / "cnn.tflite"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "--format onnx" in done.stderr
    assert not list(tmp_path.iterdir())


def test_int8_that_loses_accuracy_is_not_written(tmp_path):
    out = tmp_path / "cnn.int8.onnx"
    with pytest.raises(UserError, match="nothing was written"):
        # A negative allowance: every int8 file fails the check, so the refusal path runs.
        quantize_model(SHIPPED_CNN / "model.onnx", out, calibration_count=100, check_count=200,
                       max_accuracy_loss=-1.0, variants=(("qdq", True),))
    assert not list(tmp_path.iterdir())


def test_calibration_images_come_from_the_fit_part_only():
    (x_train, y_train), _ = load_mnist()
    (fit, _), _ = split_validation(x_train, y_train)
    fit_rows = {image.tobytes() for image in fit}
    chosen = np.rint(calibration_images(300) * 255).astype(np.uint8)
    assert len(chosen) == 300 and all(image.tobytes() in fit_rows for image in chosen)
    with pytest.raises(UserError, match="between 1 and 54,000"):
        calibration_images(len(fit) + 1)
