"""Export a trained model to ONNX or TFLite, then check the export answers like the original.

Usage:

    digitlab export --model vgg --format onnx --out vgg.onnx
    export_model(Path("models/vgg/model.keras"), "onnx", Path("vgg.onnx"))  # → ExportResult
    export_model(Path("models/ensemble/card.json"), "onnx", Path("ensemble.onnx"))  # one standalone file

Keras exports both formats from the TensorFlow backend (ONNX through tf2onnx,
TFLite through the LiteRT converter), so this module needs Keras on
TensorFlow; the CLI selects it before Keras is imported. `.keras` files are
backend-independent, so a model trained on JAX exports the same way.

The parity check runs the original Keras model and the exported file on the
MNIST test images and compares their class probabilities. An export that does
not agree (a different top class on any image, or probabilities apart by more
than PARITY_TOLERANCE) is deleted and reported as an error: no file is better
than a subtly wrong one. The file is written under a temporary name and
renamed when it is complete, so an interrupted export never leaves a
half-written model behind.

A shipped ensemble is stored as its card (digitlab.formats.ensembles); exporting
it builds the Keras ensemble from its members and writes one standalone file,
by default NAME.onnx in the current folder, never into the models directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from digitlab.console import progress
from digitlab.data import load_mnist, prepare_images
from digitlab.errors import EXIT_CANNOT_WRITE, CannotWrite, UserError, error_reason, is_write_failure
from digitlab.formats import atomic_path, check_writable, file_sha256, is_ensemble_card
from digitlab.models import check_keras_file, import_keras, load_keras_model
from digitlab.recognize import SOURCE_SHA256_KEY, OnnxRuntime

FORMATS = ("onnx", "tflite")
PARITY_TOLERANCE = 1e-4  # float32 kernels differ by ~1e-6; anything near 1e-4 means a real difference
PARITY_BATCH = 1000


@dataclass
class ExportResult:
    path: str
    format: str
    source: str
    file_bytes: int
    sha256: str
    parity_images: int
    parity_max_abs_diff: float
    parity_top1_agreement: float
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


def use_tensorflow_backend() -> bool:
    """Select Keras' TensorFlow backend for this process if Keras is not loaded yet; whether it is in use."""
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend() == "tensorflow"
    os.environ["KERAS_BACKEND"] = "tensorflow"
    return True


def default_export_path(model_path: Path, fmt: str) -> Path:
    """model.FORMAT beside a .keras file; NAME.FORMAT in the current folder for an ensemble (stored as its card)."""
    model_path = Path(model_path)
    if is_ensemble_card(model_path):
        return Path(f"{model_path.parent.name}.{fmt}")
    return model_path.with_name(f"model.{fmt}")


def export_model(
    model_path: Path, fmt: str, out: Path, parity_images: int | None = None
) -> ExportResult:
    """Export the .keras model at model_path to `out` in format `fmt` ("onnx" or "tflite"), checked for parity."""
    if fmt not in FORMATS:
        raise UserError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}.")
    model_path, out = Path(model_path), Path(out)
    if out.resolve() == model_path.resolve():
        raise UserError(f"--out {out} would overwrite the model being exported; choose another file.")
    if not out.parent.is_dir():
        raise UserError(f"folder {out.parent} does not exist; create it or choose another --out.")
    check_writable(out.parent)  # a read-only folder fails now, not after loading TensorFlow and converting
    if not is_ensemble_card(model_path):
        check_keras_file(model_path)  # a missing or damaged file is said now, before Keras or a subprocess starts
    if not use_tensorflow_backend():
        # Keras is already running on another backend in this process (e.g. JAX after
        # fast training); the exporters need TensorFlow, so export in a fresh process.
        return _export_in_subprocess(model_path, fmt, out, parity_images)
    keras = import_keras()
    started = time.perf_counter()
    model = load_keras_model(model_path)
    signature = [keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype="float32")]
    # Written under a hidden temporary name (the converters want the format's suffix), renamed when it passed.
    with atomic_path(out, suffix=f".{fmt}") as partial:
        keras_format = "litert" if fmt == "tflite" else "onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tf2onnx and the converter warn about their own internals
            try:
                model.export(str(partial), format=keras_format, input_signature=signature, verbose=False)
            except OSError as error:
                if is_write_failure(error):  # a full disk: the CLI says so, naming --out (atomic_path names the file)
                    raise
                raise UserError(f"{model_path} could not be exported to {fmt} ({error_reason(error)}).") from None
            except Exception as error:  # the converters raise many types; the user needs one sentence
                raise UserError(f"{model_path} could not be exported to {fmt} ({error_reason(error)}).") from None
        if fmt == "onnx":
            _record_source(partial, file_sha256(model_path))
        images = _parity_images(parity_images)
        expected, actual = _parity_outputs(model, partial, fmt, images)
        max_diff = float(np.max(np.abs(actual - expected)))
        agreement = float(np.mean(actual.argmax(axis=1) == expected.argmax(axis=1)))
        if agreement < 1.0 or max_diff > PARITY_TOLERANCE:
            raise UserError(
                f"the {fmt} export of {model_path} does not match the Keras model "
                f"(top class agrees on {agreement:.2%} of {len(images)} images, "
                f"probabilities differ by up to {max_diff:.2g}); nothing was written."
            )
    return ExportResult(
        path=str(out), format=fmt, source=str(model_path), file_bytes=out.stat().st_size, sha256=file_sha256(out),
        parity_images=len(images), parity_max_abs_diff=max_diff, parity_top1_agreement=agreement,
        seconds=round(time.perf_counter() - started, 2),
    )


def _export_in_subprocess(model_path: Path, fmt: str, out: Path, parity_images: int | None) -> ExportResult:
    command = [sys.executable, "-m", "digitlab", "export", "--model", str(model_path), "--format", fmt,
               "--out", str(out), "--json"]
    if parity_images:
        command += ["--parity-images", str(parity_images)]
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        message = message.removeprefix("digitlab: error: ")
        # The child's exit status 4 (docs/cli.md): it could not write; keep that apart from a bad model.
        raise CannotWrite(message) if done.returncode == EXIT_CANNOT_WRITE else UserError(message)
    return ExportResult(**json.loads(done.stdout))


def _record_source(onnx_path: Path, source_sha256: str) -> None:
    """Write which .keras file this ONNX file came from into its metadata (digitlab.recognize reads it)."""
    import onnx  # an [export] dependency: loaded only when exporting

    proto = onnx.load(str(onnx_path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = SOURCE_SHA256_KEY, source_sha256
    onnx.save(proto, str(onnx_path))


def _parity_images(count: int | None) -> np.ndarray:
    """The MNIST test images as the models see them (float32 in [0, 1]), the first `count` of them."""
    (_, _), (test_images, _) = load_mnist()
    return prepare_images(test_images[:count] if count else test_images)


def _exported_predictor(path: Path, fmt: str):
    """A function batch → class probabilities of the exported file."""
    return OnnxRuntime(path).predict if fmt == "onnx" else _tflite_predictor(path)


def _parity_outputs(model, path: Path, fmt: str, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities of the Keras model and of the exported file for `images`, batch by batch."""
    predict = _exported_predictor(path, fmt)
    expected, actual = [], []
    # A bar on a terminal (digitlab.console): all 10,000 test images take a while for a big model.
    with progress(total=len(images), desc=f"Parity check ({fmt})", unit="image") as bar:
        for start in range(0, len(images), PARITY_BATCH):
            batch = images[start:start + PARITY_BATCH]
            expected.append(model.predict(batch, batch_size=PARITY_BATCH, verbose=0))
            actual.append(predict(batch))
            bar.update(len(batch))
    return np.concatenate(expected), np.concatenate(actual)


def _tflite_predictor(path: Path):
    """A function batch → probabilities through TensorFlow's TFLite interpreter."""
    import tensorflow as tf  # heavy: the TFLite interpreter ships with TensorFlow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the interpreter moved to ai_edge_litert; TF's copy still works
        interpreter = tf.lite.Interpreter(model_path=str(path))
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def predict(batch: np.ndarray) -> np.ndarray:
        interpreter.resize_tensor_input(input_index, list(batch.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(input_index, np.ascontiguousarray(batch, dtype=np.float32))
        interpreter.invoke()
        return np.array(interpreter.get_tensor(output_index), dtype=np.float64)

    return predict
