"""Run a trained model on a batch of 28×28 images: with Keras, or with ONNX Runtime.

Usage:

    from digitlab.recognize import open_runtime

    runtime = open_runtime(Path("models/vgg/model.keras"))      # "auto": ONNX when model.onnx is beside it
    runtime = open_runtime(path, "keras")                        # always Keras
    runtime = open_runtime(path, "onnx-int8")                    # the model.int8.onnx beside it
    runtime = open_runtime(Path("models/ensemble/card.json"))    # an ensemble: its members' runtimes, averaged
    probabilities = runtime.predict(batch)                       # (n, 28, 28) float32 → (n, 10)
    runtime.name, runtime.parameters

ONNX Runtime starts in ~0.3 s where `import keras` takes 4–7 s, and runs one
image in tens of microseconds where Keras needs milliseconds, so shipped models
carry a `model.onnx` exported from their `.keras` file (digitlab.export, checked
for parity) and the Recognizer uses it when it is there. Keras stays the
reference: `--runtime keras` always works, and a `.keras` file without an ONNX
twin is run by Keras.

`onnx-int8` runs the int8 file `digitlab export --quantize int8` wrote beside
the model (model.int8.onnx, statically quantized by ONNX Runtime): never
chosen by "auto", only when asked, and only if it records the same source
.keras file as the model it stands for.

A shipped ensemble is only a card naming its members (digitlab.formats.ensembles):
its runtime opens each member's runtime (ONNX twins by default, Keras with
--runtime keras) and averages their probabilities, as the ensemble's Average
layer does. A standalone ensemble ONNX file, from `digitlab export`, runs as any ONNX file.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import warnings
from pathlib import Path

import numpy as np

from digitlab.errors import UserError, error_reason
from digitlab.formats import (
    CARD,
    ensemble_members,
    file_sha256,
    finite_number,
    is_ensemble_card,
    rundir,
    sidecar_value,
)
from digitlab.models import check_digit_model, import_keras, load_keras_model

RUNTIMES = ("auto", "onnx", "onnx-int8", "keras")
ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
SOURCE_SHA256_KEY = "digitlab.source_sha256"  # ONNX metadata: which .keras file this was exported from
QUANTIZATION_KEY = "digitlab.quantization"  # ONNX metadata of an int8 file: how it was quantized (JSON)


def onnx_twin(model_path: Path) -> Path | None:
    """The model.onnx beside a .keras file (or the path itself when it is .onnx), if there is one."""
    model_path = Path(model_path)
    if model_path.suffix == ".onnx":
        return model_path
    candidate = model_path.parent / ONNX_FILE
    return candidate if candidate.is_file() else None


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


class KerasRuntime:
    """A .keras model run by Keras (predict_on_batch: one compiled function, little per-call overhead)."""

    name = "keras"

    def __init__(self, model_path: Path):
        import_keras()
        self.path = Path(model_path)
        self._model = load_keras_model(self.path)  # refuses files that are no 28×28 → 10 classifier
        self._input_shape = tuple(self._model.input_shape[1:])
        self.parameters = int(self._model.count_params())
        self._lock = threading.Lock()  # Keras models are not safe to call from two threads at once

    def predict(self, batch: np.ndarray) -> np.ndarray:
        inputs = np.asarray(batch, dtype=np.float32).reshape((len(batch),) + self._input_shape)
        with self._lock:
            return checked_probabilities(self._model.predict_on_batch(inputs), len(batch), self.path)


def onnx_session(path: Path, threads: int | None = None, shared_memory: bool = False):
    """An ONNX Runtime session on the CPU for the file at `path`; UserError in one sentence if it cannot load."""
    import onnxruntime  # 0.25 s: loaded when a model is opened, not when the CLI starts

    options = onnxruntime.SessionOptions()
    if shared_memory and _shared_arena(onnxruntime):
        # Sessions that run one after another (an ensemble's members) reuse one memory
        # arena instead of each keeping its own peak: `benchmarks/inference.py --measure
        # ensemble onnx` peaked at 473 MB this way, 1,104 MB with three arenas.
        options.add_session_config_entry("session.use_env_allocators", "1")
    # On a small shared CPU, idle worker threads that spin-wait steal cycles
    # from the web server and the preprocessing threads; let them sleep.
    options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # ONNX Runtime raises its own exception types for bad files.
        raise UserError(
            f"{path} could not be loaded as an ONNX model ({_onnx_reason(error)}); is the file complete?"
        ) from None


class OnnxRuntime:
    """A model.onnx run by ONNX Runtime on the CPU."""

    name = "onnx"

    def __init__(self, onnx_path: Path, threads: int | None = None, shared_memory: bool = False):
        self.path = Path(onnx_path)
        self._session = onnx_session(self.path, threads, shared_memory)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or not outputs or inputs[0].type != "tensor(float)":
            raise UserError(f"{self.path} is not a digit classifier (it does not take one float image batch); "
                            "pass a model digitlab exported.")
        # A digit model takes (batch, 28, 28) or another layout of 784 values, and gives (batch, 10);
        # symbolic sizes (strings) are only known when it runs, and are checked then (predict).
        check_digit_model(_ShapeView(inputs[0].shape, outputs[0].shape), self.path)
        model_input = inputs[0]
        self._input_name = model_input.name
        self._input_shape = tuple(model_input.shape[1:])
        self.parameters = _onnx_parameter_count(self.path)
        # digitlab.export records the SHA-256 of the .keras file it exported from.
        metadata = self._session.get_modelmeta().custom_metadata_map
        self.source_sha256 = metadata.get(SOURCE_SHA256_KEY)
        # digitlab.export.quantize records how an int8 file was made; None for a float file.
        self.quantization = metadata.get(QUANTIZATION_KEY)
        self.name = "onnx" if self.quantization is None else "onnx-int8"

    @property
    def input_name(self) -> str:
        return self._input_name

    @property
    def input_shape(self) -> tuple:
        """The shape of one input image, without the batch dimension (e.g. (28, 28))."""
        return self._input_shape

    def predict(self, batch: np.ndarray) -> np.ndarray:
        inputs = np.ascontiguousarray(batch, dtype=np.float32).reshape((len(batch),) + self._input_shape)
        # InferenceSession.run is thread-safe: no lock, concurrent calls share the pool.
        try:
            outputs = self._session.run(None, {self._input_name: inputs})[0]
        except Exception as error:  # a model whose graph fails on real input (ONNX Runtime's own types)
            raise UserError(f"{self.path} failed to run ({_onnx_reason(error)}); is it a digit model "
                            "digitlab exported?") from None
        return checked_probabilities(outputs, len(batch), self.path)


class EnsembleRuntime:
    """A shipped ensemble: the mean of its members' probabilities, each member run by its own runtime."""

    def __init__(self, card_path: Path, runtime: str = "auto", threads: int | None = None):
        self.path = Path(card_path)
        self.members = [open_runtime(member, runtime, threads, shared_memory=True)
                        for member in ensemble_members(self.path)]
        names = sorted({member.name for member in self.members})
        self.name = names[0] if len(names) == 1 else "+".join(names)
        counts = [member.parameters for member in self.members]
        self.parameters = None if None in counts else int(sum(counts))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return np.mean([member.predict(batch) for member in self.members], axis=0)


_SHARED_ARENA: list[bool] = []  # set once per process: whether the shared CPU arena is registered
_SHARED_ARENA_LOCK = threading.Lock()


def _shared_arena(onnxruntime) -> bool:
    """Register one CPU memory arena for sessions that ask for it (once per process); whether it is there."""
    with _SHARED_ARENA_LOCK:
        if not _SHARED_ARENA:
            try:
                info = onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                                 onnxruntime.OrtMemType.DEFAULT)
                onnxruntime.create_and_register_allocator(info, onnxruntime.OrtArenaCfg(0, -1, -1, -1))
                _SHARED_ARENA.append(True)
            except Exception:  # noqa: BLE001 - an older ONNX Runtime: each session keeps its own arena
                _SHARED_ARENA.append(False)
        return _SHARED_ARENA[0]


class _ShapeView:
    """An ONNX session's input and output shapes, as check_digit_model reads a Keras model's."""

    def __init__(self, input_shape: list, output_shape: list):
        # ONNX Runtime gives symbolic sizes as strings (e.g. "batch") and unknown ones as None. An image
        # size must be fixed (predict reshapes to it); a symbolic class count is checked when the model runs.
        self.input_shape = (None, *(size if isinstance(size, int) else None for size in input_shape[1:]))
        self.output_shape = (None, *(size if isinstance(size, int) else 10 for size in output_shape[1:]))


def checked_probabilities(outputs, count: int, model_path: Path) -> np.ndarray:
    """A model's outputs as (count, 10) float64 scores; UserError if they are no such thing (a foreign model)."""
    scores = np.asarray(outputs, dtype=np.float64)
    if scores.shape != (count, 10):
        raise UserError(f"{model_path} gave outputs of shape {scores.shape} for {count} images, not {count}×10 "
                        "class scores; it is not a digit classifier.")
    if not np.all(np.isfinite(scores)):
        raise UserError(f"{model_path} gave scores that are not finite numbers (NaN or infinity); the model is "
                        "damaged.")
    return scores


def _onnx_reason(error: Exception) -> str:
    """ONNX Runtime's message without its "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from X failed:" prefix."""
    reason = error_reason(error)
    for marker in (" failed:", "] : "):
        if marker in reason:
            reason = reason.rsplit(marker, 1)[-1]
    reason = reason.split(" : ")[-1].strip()
    return reason or type(error).__name__


def _onnx_parameter_count(onnx_path: Path) -> int | None:
    """Trainable-plus-state parameter count from the card or metrics beside the file (ONNX folds some)."""
    value = finite_number(sidecar_value(onnx_path, (CARD, "parameters"), (rundir.METRICS, "parameters")))
    return int(value) if value is not None else None


def open_runtime(model_path: str | Path, runtime: str = "auto", threads: int | None = None, *,
                 shared_memory: bool = False):
    """A runtime for the model at model_path (.keras, .onnx or an ensemble's card.json): see the module docstring.

    shared_memory: an ONNX session shares one memory arena with the other sessions that ask
    for it (for models run one after another, as an ensemble's members are).
    """
    model_path = Path(model_path)
    if runtime not in RUNTIMES:
        raise UserError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}.")
    if is_ensemble_card(model_path):
        return EnsembleRuntime(model_path, runtime, threads)
    if model_path.suffix == ".onnx" and runtime == "keras":
        raise UserError(f"{model_path} is an ONNX file; Keras runs .keras files (use --runtime onnx or auto).")
    if runtime == "onnx-int8":
        return _open_int8(model_path, threads)
    twin = onnx_twin(model_path)
    if runtime == "onnx" or (runtime == "auto" and twin is not None and onnxruntime_available()):
        if twin is None:
            raise UserError(
                f"{model_path} has no {ONNX_FILE} beside it; create one with "
                f"`digitlab export --model {model_path} --format onnx --out {model_path.parent / ONNX_FILE}`."
            )
        if not onnxruntime_available():
            raise UserError("ONNX Runtime is not installed; `pip install onnxruntime`, or use --runtime keras.")
        if not twin.is_file():
            raise UserError(f"model file {twin} does not exist.")
        onnx_runtime = OnnxRuntime(twin, threads, shared_memory=shared_memory)
        if model_path.suffix == ".keras" and not _exported_from(onnx_runtime, model_path):
            if runtime == "onnx":
                raise UserError(f"{twin} was not exported from {model_path}; export it again with `digitlab export`.")
            warnings.warn(f"{twin} was not exported from {model_path.name} (stale?); using Keras.", stacklevel=2)
            return KerasRuntime(model_path)
        return onnx_runtime
    return KerasRuntime(model_path)


def _exported_from(onnx_runtime: OnnxRuntime, keras_path: Path) -> bool:
    """Whether the ONNX file records the SHA-256 of this very .keras file (a retrained model makes it stale)."""
    return onnx_runtime.source_sha256 == file_sha256(keras_path)


def _open_int8(model_path: Path, threads: int | None) -> OnnxRuntime:
    """The int8 file itself (an .onnx with quantization metadata) or the model.int8.onnx beside the model."""
    if not onnxruntime_available():
        raise UserError("ONNX Runtime is not installed; `pip install onnxruntime` to use --runtime onnx-int8.")
    if not model_path.is_file():
        raise UserError(f"model file {model_path} does not exist.")
    if model_path.suffix == ".onnx":
        given = OnnxRuntime(model_path, threads)
        if given.quantization is not None:
            return given
        source = given.source_sha256
    else:
        source = file_sha256(model_path)
    twin = model_path.parent / INT8_FILE
    if not twin.is_file():
        raise UserError(
            f"{model_path} has no {INT8_FILE} beside it; create one with "
            f"`digitlab export --model {model_path} --format onnx --quantize int8`."
        )
    int8_runtime = OnnxRuntime(twin, threads)
    if int8_runtime.quantization is None:
        raise UserError(f"{twin} is not an int8 model made by `digitlab export --quantize int8`; quantize again.")
    if source is not None and int8_runtime.source_sha256 != source:
        raise UserError(f"{twin} was not quantized from {model_path}; quantize it again with "
                        f"`digitlab export --model {model_path} --format onnx --quantize int8`.")
    return int8_runtime
