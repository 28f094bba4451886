"""FastAPI dependencies: the model pool the lifespan created, and request helpers.

Usage (in a router):

    async def endpoint(pool: ModelPool = Depends(get_pool)): ...
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from fastapi import Request

from digitlab.serve.models import ModelPool


def _error(description: str, example: str) -> dict:
    return {"description": description, "content": {"application/json": {"example": {"detail": example}}}}


# Statuses and the error body every endpoint may answer with, for /docs.
ERROR_RESPONSES = {
    404: _error("No model by that name", "No model named 'x'; GET /api/models lists the available ones."),
    408: _error("The request body took too long to arrive (the connection is closed)",
                "The request body did not arrive within 30 s; send it again over a faster connection."),
    413: _error("Upload or image too large", "The upload is larger than the limit of 10 MB; send a smaller image."),
    415: _error("Not an image", "The image is not an image file Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP)."),
    422: _error("Corrupt or empty image, or a malformed request", "Pixels: must have exactly 28 rows, got 27."),
}


async def get_pool(request: Request) -> ModelPool:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool,
    # a thread hand-off per request for what is one attribute lookup.
    return request.app.state.pool


def png_data_url(model_input: np.ndarray) -> str:
    """A 28×28 float image in [0, 1] as a PNG data: URL (ink bright, as the model sees it)."""
    pixels = np.clip(np.asarray(model_input, dtype=np.float32).reshape(28, 28), 0.0, 1.0)
    buffer = io.BytesIO()
    Image.fromarray(np.round(pixels * 255).astype(np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
