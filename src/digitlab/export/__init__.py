"""digitlab.export: trained models out into the world — ONNX/TFLite files checked for parity, and shipped models.

Usage:

    from digitlab.export import export_model, ship_run, ship_ensemble

    export_model(Path("models/vgg/model.keras"), "onnx", Path("vgg.onnx"))   # → ExportResult
    ship_run(Path("runs/20261130T110417Z-cnn"), "cnn")                         # → models/cnn/
    ship_ensemble(["deotte", "deotte-tuned", "vgg"], "ensemble")                 # → models/ensemble/card.json
    quantize_model(Path("models/reader/model.keras"), Path("reader.int8.onnx"))   # → QuantizeResult (int8)

Exporting needs Keras on TensorFlow (tf2onnx, the LiteRT converter); the CLI
selects that backend before Keras is imported (`use_tensorflow_backend`).
Quantizing to int8 needs ONNX Runtime and the onnx package, and Keras only
when the model has no up-to-date model.onnx to start from.
"""

from digitlab.export.exporter import (
    FORMATS,
    PARITY_TOLERANCE,
    ExportResult,
    default_export_path,
    export_model,
    use_tensorflow_backend,
)
from digitlab.export.quantize import (
    MAX_ACCURACY_LOSS,
    QuantizeResult,
    calibration_images,
    default_int8_path,
    quantize_model,
    quantize_onnx,
)
from digitlab.export.shipping import save_without_optimizer, ship_ensemble, ship_run

__all__ = ["ExportResult", "FORMATS", "MAX_ACCURACY_LOSS", "PARITY_TOLERANCE", "QuantizeResult",
           "calibration_images", "default_export_path", "default_int8_path", "export_model", "quantize_model",
           "quantize_onnx", "save_without_optimizer", "ship_ensemble", "ship_run", "use_tensorflow_backend"]
