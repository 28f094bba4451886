"""Quantize an exported ONNX model to int8 with ONNX Runtime's static quantization, checked on the validation split.

Usage:

    digitlab export --model reader --format onnx --quantize int8            # → models/reader/model.int8.onnx
    quantize_model(Path("models/reader/model.keras"), Path("reader.int8.onnx"))   # → QuantizeResult
    quantize_onnx(Path("model.onnx"), Path("model.int8.onnx"), calibration_images(1000))   # one variant

Static quantization stores weights as int8 and fixes the activations' int8
ranges ahead of time from calibration images run through the float model:
here MNIST *training* images from the fit part only (the first 54,000; see
digitlab.data.split_validation), never the validation or test images. Two
formats (QDQ: float graph with QuantizeLinear/DequantizeLinear pairs;
QOperator: QLinearConv/QLinearMatMul nodes) with per-tensor and per-channel
weight scales are tried, and the one with the highest accuracy on the
validation split (ties: more top-1 agreement with the float model, then the
smaller probability difference) is kept. It is kept only if it loses at most
MAX_ACCURACY_LOSS of validation accuracy against the float model; otherwise
nothing is written. The MNIST test set decides nothing here.

The int8 file records the SHA-256 of the .keras file its float model was
exported from (digitlab.recognize's `--runtime onnx-int8` matches it) and how
it was quantized. Written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from digitlab.data import load_mnist, prepare_images, split_validation
from digitlab.errors import UserError, error_reason, is_write_failure
from digitlab.export.exporter import export_model
from digitlab.formats import atomic_path, check_writable, file_sha256
from digitlab.recognize import INT8_FILE, ONNX_FILE, QUANTIZATION_KEY, SOURCE_SHA256_KEY, OnnxRuntime

CALIBRATION_IMAGES = 1000  # MNIST fit-part images whose activations fix the int8 ranges
CALIBRATION_SEED = 0
CALIBRATION_BATCH = 100
MAX_ACCURACY_LOSS = 0.001  # 0.1 percentage point of validation accuracy
FLOAT_ONNX_SHA256_KEY = "digitlab.float_onnx_sha256"
# (format, per-channel weight scales): every variant tried; the validation split picks one.
VARIANTS = (("qdq", False), ("qdq", True), ("qoperator", False), ("qoperator", True))
CHECK_BATCH = 1000


@dataclass
class QuantizeResult:
    path: str
    source: str
    source_sha256: str | None
    float_onnx_bytes: int
    file_bytes: int
    sha256: str
    quant_format: str
    per_channel: bool
    calibration_images: int
    check_images: int  # validation images the variants were compared on
    float_accuracy: float
    int8_accuracy: float
    top1_agreement: float
    max_abs_diff: float
    seconds: float
    variants: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


class ImageCalibrationReader:
    """ONNX Runtime's CalibrationDataReader protocol (get_next) over a batch of 28×28 images."""

    def __init__(self, input_name: str, input_shape: tuple, images: np.ndarray, batch_size: int = CALIBRATION_BATCH):
        images = np.ascontiguousarray(images, dtype=np.float32).reshape((len(images), *input_shape))
        self._batches = iter([{input_name: images[start:start + batch_size]}
                              for start in range(0, len(images), batch_size)])

    def get_next(self) -> dict | None:
        return next(self._batches, None)

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        batch = self.get_next()
        if batch is None:
            raise StopIteration
        return batch


def calibration_images(count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    """`count` MNIST training images from the fit part (never the validation split), float32 in [0, 1]."""
    (train_images, train_labels), _ = load_mnist()
    (fit_images, _), _ = split_validation(train_images, train_labels)
    if not 0 < count <= len(fit_images):
        raise UserError(f"--calibration-images must be between 1 and {len(fit_images):,}, got {count}.")
    chosen = np.sort(np.random.default_rng(seed).choice(len(fit_images), size=count, replace=False))
    return prepare_images(fit_images[chosen])


def check_images(count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The validation split (the last 6,000 MNIST training images) as the models see them, the first `count`."""
    (train_images, train_labels), _ = load_mnist()
    _, (images, labels) = split_validation(train_images, train_labels)
    if count:
        images, labels = images[:count], labels[:count]
    return prepare_images(images), labels


@contextlib.contextmanager
def _quiet_quantizer():
    """ONNX Runtime's quantizer logs a warning on the root logger for every shape tensor it skips (harmless)."""
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def quantize_onnx(float_onnx: Path, out: Path, calibration: np.ndarray, quant_format: str = "qdq",
                  per_channel: bool = True) -> Path:
    """Statically quantize float_onnx to int8 at `out`, calibrated on `calibration` images; return `out`."""
    # onnx and onnxruntime.quantization are [export] dependencies, loaded only when quantizing.
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    float_onnx, out = Path(float_onnx), Path(out)
    if quant_format not in ("qdq", "qoperator"):
        raise ValueError(f"quant_format must be 'qdq' or 'qoperator', got {quant_format!r}")
    source = OnnxRuntime(float_onnx, threads=1)
    if source.quantization is not None:
        raise UserError(f"{float_onnx} is already quantized; quantize the float model.")
    reader = ImageCalibrationReader(source.input_name, source.input_shape, calibration)
    with tempfile.TemporaryDirectory(prefix="digitlab-quantize-") as scratch, atomic_path(out, ".onnx") as partial:
        prepared = Path(scratch) / "prepared.onnx"
        try:
            with _quiet_quantizer():
                # Folds constants and infers shapes, as ONNX Runtime recommends before quantizing
                # (without sympy's symbolic shapes: every shape here is static but the batch).
                quant_pre_process(str(float_onnx), str(prepared), skip_symbolic_shape=True)
                quantize_static(
                    str(prepared), str(partial), reader,
                    quant_format=QuantFormat.QDQ if quant_format == "qdq" else QuantFormat.QOperator,
                    per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                )
        except Exception as error:  # the quantizer raises many types; the user needs one sentence
            if is_write_failure(error):  # a full disk or a read-only --out: the CLI says so in one sentence
                raise
            raise UserError(f"{float_onnx} could not be quantized to int8 ({error_reason(error)}).") from None
        proto = onnx.load(str(partial))
        metadata = {
            FLOAT_ONNX_SHA256_KEY: file_sha256(float_onnx),
            QUANTIZATION_KEY: json.dumps({
                "type": "int8", "method": "onnxruntime quantize_static, MinMax calibration",
                "format": quant_format, "per_channel": per_channel, "activations": "uint8", "weights": "int8",
                "calibration_images": len(calibration),
            }),
        }
        if source.source_sha256:
            metadata[SOURCE_SHA256_KEY] = source.source_sha256
        kept = [entry for entry in proto.metadata_props if entry.key not in metadata]
        del proto.metadata_props[:]
        for key, value in [(entry.key, entry.value) for entry in kept] + sorted(metadata.items()):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, str(partial))
    return out


def _predict(path: Path, images: np.ndarray) -> np.ndarray:
    runtime = OnnxRuntime(path)
    return np.concatenate([runtime.predict(images[start:start + CHECK_BATCH])
                           for start in range(0, len(images), CHECK_BATCH)])


def _float_onnx(model_path: Path, scratch: Path) -> Path:
    """The float ONNX model for model_path: itself, its up-to-date model.onnx twin, or a fresh export."""
    if model_path.suffix == ".onnx":
        return model_path
    twin = model_path.parent / ONNX_FILE
    if twin.is_file() and OnnxRuntime(twin, threads=1).source_sha256 == file_sha256(model_path):
        return twin
    # Exporting loads Keras on TensorFlow: only when the twin is missing or stale.
    exported = scratch / ONNX_FILE
    export_model(model_path, "onnx", exported, parity_images=CHECK_BATCH)
    return exported


def default_int8_path(model_path: Path) -> Path:
    """Where `digitlab export --quantize int8` writes by default: model.int8.onnx beside the model."""
    return Path(model_path).with_name(INT8_FILE) if Path(model_path).name in ("model.keras", ONNX_FILE) \
        else Path(model_path).with_suffix(".int8.onnx")


def quantize_model(model_path: Path, out: Path, calibration_count: int = CALIBRATION_IMAGES,
                   check_count: int | None = None, max_accuracy_loss: float = MAX_ACCURACY_LOSS,
                   variants=VARIANTS) -> QuantizeResult:
    """Quantize the model at model_path (.keras or float .onnx) to int8 at `out`: see the module docstring."""
    model_path, out = Path(model_path), Path(out)
    started = time.perf_counter()
    if not model_path.is_file():
        raise UserError(f"model file {model_path} does not exist.")
    if model_path.suffix not in (".keras", ".onnx"):
        raise UserError(f"{model_path} is neither a .keras nor an .onnx model; quantize one of those.")
    if out.resolve() == model_path.resolve():
        raise UserError(f"--out {out} would overwrite the model being quantized; choose another file.")
    if not out.parent.is_dir():
        raise UserError(f"folder {out.parent} does not exist; create it or choose another --out.")
    check_writable(out.parent)  # a read-only folder fails now, not after exporting and quantizing
    calibration = calibration_images(calibration_count)
    images, labels = check_images(check_count)
    with tempfile.TemporaryDirectory(prefix="digitlab-int8-") as scratch:
        scratch = Path(scratch)
        float_onnx = _float_onnx(model_path, scratch)
        if out.resolve() == float_onnx.resolve():
            raise UserError(f"--out {out} would overwrite the float model; choose another file.")
        expected = _predict(float_onnx, images)
        float_accuracy = float(np.mean(expected.argmax(axis=1) == labels))
        tried = []
        for quant_format, per_channel in variants:
            candidate = scratch / f"{quant_format}-{'channel' if per_channel else 'tensor'}.onnx"
            quantize_onnx(float_onnx, candidate, calibration, quant_format, per_channel)
            actual = _predict(candidate, images)
            tried.append({
                "format": quant_format, "per_channel": per_channel, "file": candidate,
                "file_bytes": candidate.stat().st_size,
                "accuracy": float(np.mean(actual.argmax(axis=1) == labels)),
                "top1_agreement": float(np.mean(actual.argmax(axis=1) == expected.argmax(axis=1))),
                "mean_abs_diff": float(np.mean(np.abs(actual - expected))),
                "max_abs_diff": float(np.max(np.abs(actual - expected))),
            })
        best = max(tried, key=lambda row: (row["accuracy"], row["top1_agreement"], -row["mean_abs_diff"]))
        loss = float_accuracy - best["accuracy"]
        if loss > max_accuracy_loss + 1e-12:
            raise UserError(
                f"int8 loses {loss:.2%} of validation accuracy on {len(images):,} images "
                f"({float_accuracy:.2%} float, {best['accuracy']:.2%} int8), more than {max_accuracy_loss:.2%}; "
                "nothing was written."
            )
        with atomic_path(out, ".onnx") as partial:
            partial.write_bytes(best["file"].read_bytes())
        float_bytes, source_sha256 = float_onnx.stat().st_size, OnnxRuntime(float_onnx, threads=1).source_sha256
    return QuantizeResult(
        path=str(out), source=str(model_path), source_sha256=source_sha256, float_onnx_bytes=float_bytes,
        file_bytes=out.stat().st_size, sha256=file_sha256(out), quant_format=best["format"],
        per_channel=best["per_channel"], calibration_images=len(calibration), check_images=len(images),
        float_accuracy=float_accuracy, int8_accuracy=best["accuracy"], top1_agreement=best["top1_agreement"],
        max_abs_diff=best["max_abs_diff"], seconds=round(time.perf_counter() - started, 2),
        variants=[{key: value for key, value in row.items() if key != "file"} for row in tried],
    )
