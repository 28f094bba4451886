"""digitlab.recognize: read digits from images with a trained model — the lean reader's core.

Usage:

    from digitlab.recognize import Recognizer

    recognizer = Recognizer()                  # the default shipped reader model
    result = recognizer.read("photo.jpg")      # path, bytes, file object, PIL image or numpy array
    result.prediction, result.confidence       # "2026", 0.97
    recognizer.predict_pixels(canvas_28x28)    # one MNIST-style 28×28 array

The CLI (`digitlab predict`), the web app and batch jobs all read through
`Recognizer`: digitlab.vision's preprocessing, a runtime (ONNX Runtime, or
Keras when asked), and the model's fitted calibration temperature. Nothing
here imports Keras, TensorFlow, JAX or scikit-learn unless the Keras runtime
is chosen. `Recognizer(runtime="onnx-int8")` runs the model's int8 twin
(model.int8.onnx) when one was made; the default stays the float model.
"""

from digitlab.recognize.line_reader import LINE_READER, READERS, LineReader, find_line_reader
from digitlab.recognize.recognizer import (
    LONE_DIGIT_IMAGE_SIDE,
    REJECT_BELOW,
    DigitReading,
    ImageError,
    ReadResult,
    Recognizer,
)
from digitlab.recognize.runtimes import (
    INT8_FILE,
    ONNX_FILE,
    QUANTIZATION_KEY,
    RUNTIMES,
    SOURCE_SHA256_KEY,
    EnsembleRuntime,
    KerasRuntime,
    OnnxRuntime,
    onnx_twin,
    open_runtime,
)
from digitlab.recognize.temperature import apply_temperature

__all__ = [
    "DigitReading", "EnsembleRuntime", "LINE_READER", "LineReader", "READERS", "find_line_reader", "INT8_FILE", "ImageError", "KerasRuntime", "ONNX_FILE", "OnnxRuntime",
    "LONE_DIGIT_IMAGE_SIDE", "QUANTIZATION_KEY", "REJECT_BELOW", "RUNTIMES",
    "ReadResult", "Recognizer", "SOURCE_SHA256_KEY", "apply_temperature", "onnx_twin", "open_runtime",
]
