"""Settings of one web app instance, filled from `digitlab serve` options or by tests.

Usage:

    settings = ServeSettings(model="mlp", max_upload_mb=5, cors_origins=["http://localhost:3000"])
    app = create_app(settings)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from digitlab.recognize import RUNTIMES


@dataclass
class ServeSettings:
    # The model answering requests that name none: a shipped name, a run name or
    # directory, an architecture (its newest run) or a .keras file. None picks the
    # best shipped model, else the newest run, as everywhere in digitlab.
    model: str | None = None
    runs_dir: str = "runs"
    # Whole request bodies above this are refused with 413 while they stream in.
    max_upload_mb: float = 10.0
    # Decoded images above this many pixels are refused with 413 (decompression bombs).
    max_pixels: int = 40_000_000
    # Files accepted in one /api/predict/batch request.
    max_batch_files: int = 64
    # Origins allowed to call the API from other pages; empty means CORS stays off.
    cors_origins: list[str] = field(default_factory=list)
    # Up to this many images that arrive while the model is busy go through one
    # batched model call (dynamic batching); 1 turns batching off.
    max_batch_size: int = 32
    # Inference runtime: "auto" (ONNX Runtime when the model has a model.onnx), "onnx" or "keras".
    runtime: str = "auto"

    def __post_init__(self) -> None:
        if not self.max_upload_mb > 0:
            raise ValueError(f"max_upload_mb must be positive, got {self.max_upload_mb}.")
        if self.max_pixels < 1 or self.max_batch_files < 1 or self.max_batch_size < 1:
            raise ValueError("max_pixels, max_batch_files and max_batch_size must be at least 1.")
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}.")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
