"""Request and response shapes of the REST API (pydantic), with the examples /docs shows.

Usage:

    PixelsRequest.model_validate({"pixels": rows})   # exactly 28 rows of 28 finite numbers
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

IMAGE_SIDE = 28

_EXAMPLE_PROBABILITIES = [0.0, 0.0, 0.0, 0.001, 0.0, 0.0, 0.0, 0.998, 0.0, 0.001]


class Digit(BaseModel):
    digit: int = Field(description="the digit read, 0–9", examples=[7])
    confidence: float = Field(description="the model's probability of that digit", examples=[0.998])
    box: list[int] = Field(
        description="[x0, y0, x1, y1] of the digit in the uploaded image, in pixels", examples=[[12, 8, 40, 52]]
    )
    probabilities: list[float] = Field(description="ten probabilities, for digits 0 to 9")


class Prediction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "prediction": "7",
                    "confidence": 0.998,
                    "digits": [
                        {"digit": 7, "confidence": 0.998, "box": [12, 8, 40, 52], "probabilities": _EXAMPLE_PROBABILITIES}
                    ],
                    "model": "mlp",
                }
            ]
        }
    )

    prediction: str = Field(description='the digits read left to right; "" when nothing readable was found')
    confidence: float = Field(description="confidence of the whole reading: the product of the digits' confidences")
    digits: list[Digit]
    model: str = Field(description="the model that answered")
    note: str | None = Field(default=None, description='why nothing was read, e.g. "low confidence; not read"')
    inputs: list[str] | None = Field(
        default=None,
        description="with ?inputs=true: what the model saw, one 28×28 PNG (data: URL) per digit",
    )


class BatchItem(BaseModel):
    filename: str | None = None
    prediction: str | None = None
    confidence: float | None = None
    digits: list[Digit] | None = None
    error: str | None = Field(default=None, description="why this file could not be read (the others still are)")
    status: int = Field(default=200, description="the status this file alone would have had")


class BatchPrediction(BaseModel):
    model: str
    results: list[BatchItem]


class PixelsRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"pixels": [[0] * IMAGE_SIDE] * 10 + [[0] * 12 + [255] * 4 + [0] * 12] * 8 + [[0] * IMAGE_SIDE] * 10}]}
    )

    pixels: list[list[float]] = Field(
        description="28 rows of 28 numbers in MNIST polarity (ink bright, background 0), either 0–1 or 0–255",
    )

    @field_validator("pixels")
    @classmethod
    def _check_shape(cls, rows: list[list[float]]) -> list[list[float]]:
        if len(rows) != IMAGE_SIDE:
            raise ValueError(f"must have exactly {IMAGE_SIDE} rows, got {len(rows)}")
        for index, row in enumerate(rows):
            if len(row) != IMAGE_SIDE:
                raise ValueError(f"row {index} must have exactly {IMAGE_SIDE} numbers, got {len(row)}")
            if not all(math.isfinite(value) for value in row):
                raise ValueError(f"row {index} holds a value that is not a finite number")
            if any(value < 0 or value > 255 for value in row):
                raise ValueError(f"row {index} holds a value outside 0–255")
        return rows


class ModelInfo(BaseModel):
    name: str
    source: str = Field(description='"shipped", "run" or "file"')
    architecture: str | None = None
    test_accuracy: float | None = Field(default=None, description="accuracy on the MNIST test set, 0–1")
    loaded: bool = False
    default: bool = False


class ModelList(BaseModel):
    default: str | None
    models: list[ModelInfo]


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    model: str | None = Field(description="the default model")
    loaded: list[str] = Field(description="models loaded in memory")
    runtime: str | None = Field(None, description="what runs the default model: onnx (ONNX Runtime) or keras")
    version: str
    max_upload_mb: float = Field(description="request bodies above this are refused with 413")
    batching: dict[str, dict[str, int]] = Field(
        description="per loaded model: model calls and images since start (images per call = mean batch size)"
    )


class ErrorResponse(BaseModel):
    detail: str = Field(examples=["The upload is larger than the limit of 10 MB; send a smaller image."])


class BrowserModel(BaseModel):
    name: str = Field(description="the server's default model, which the page runs itself")
    url: str = Field(description="its ONNX file, relative to the page")
    sha256: str = Field(description="the file's SHA-256; the page refuses a file that does not match")
    bytes: int
    temperature: float = Field(description="calibration: softmax(log p / T)")
    reject_below: float = Field(description="a digit less confident than this is not read (prediction \"\")")


class BrowserConfig(BaseModel):
    model: BrowserModel
    pad: dict = Field(description="the vision pipeline's constants that static/pad.js uses (one source: the server)")
    onnxruntime_web: str = Field(description="the onnxruntime-web release vendored in static/ort/")
