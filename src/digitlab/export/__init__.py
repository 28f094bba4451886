"""digitlab.export: trained models out into the world — ONNX/TFLite files checked for parity, and shipped models.

Usage:

    from digitlab.export import export_model, ship_run, ship_ensemble

    export_model(Path("models/vgg/model.keras"), "onnx", Path("vgg.onnx"))   # → ExportResult
    ship_run(Path("runs/20261130T110417Z-cnn"), "cnn")                         # → models/cnn/
    ship_ensemble(["deotte", "deotte-tuned", "vgg"], "ensemble")                 # → models/ensemble/card.json

Exporting needs Keras on TensorFlow (tf2onnx, the LiteRT converter); the CLI
selects that backend before Keras is imported (`use_tensorflow_backend`).
"""

from digitlab.export.exporter import (
    FORMATS,
    PARITY_TOLERANCE,
    ExportResult,
    default_export_path,
    export_model,
    use_tensorflow_backend,
)
from digitlab.export.shipping import save_without_optimizer, ship_ensemble, ship_run

__all__ = ["ExportResult", "FORMATS", "PARITY_TOLERANCE", "default_export_path", "export_model",
           "save_without_optimizer", "ship_ensemble", "ship_run", "use_tensorflow_backend"]
