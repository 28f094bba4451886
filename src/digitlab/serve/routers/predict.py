"""POST /api/predict, /api/predict/batch and /api/predict/pixels.

Usage:

    curl -F file=@photo.jpg 'http://127.0.0.1:8000/api/predict?model=mlp&inputs=true'

Images go through the shared Recognizer (the same preprocessing as `digitlab
predict`) via the model's Batcher, so concurrent requests share model calls and
the event loop never runs the CPU-bound work itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile

from digitlab.serve.dependencies import ERROR_RESPONSES, get_pool, png_data_url
from digitlab.serve.errors import image_error_status
from digitlab.serve.models import ModelPool
from digitlab.serve.schemas import BatchPrediction, PixelsRequest, Prediction

router = APIRouter(prefix="/api", tags=["predict"])

MODEL_QUERY = Query(None, description="a name from GET /api/models; default: the server's model")
INPUTS_QUERY = Query(False, description="also return what the model saw: one 28×28 PNG (data: URL) per digit")


def _prediction(result: Any, model_name: str, with_inputs: bool) -> dict:
    answer = result.to_json()
    answer["model"] = model_name
    if result.note:
        answer["note"] = result.note
    if with_inputs:
        answer["inputs"] = [png_data_url(digit.model_input) for digit in result.digits]
    return answer


@router.post("/predict", response_model=Prediction, response_model_exclude_none=True, responses=ERROR_RESPONSES)
async def predict(
    file: UploadFile = File(description="an image: a photo, a scan or a drawing (PNG, JPEG, …)"),
    model_field: str | None = Form(None, alias="model", description="same as ?model="),
    model: str | None = MODEL_QUERY,
    inputs: bool = INPUTS_QUERY,
    pool: ModelPool = Depends(get_pool),
) -> dict:
    """Read the digits in one image, left to right."""
    served = await pool.get(model_field or model)
    data = await file.read()
    result = await served.batcher.submit(data)
    return _prediction(result, served.name, inputs)


@router.post("/predict/batch", response_model=BatchPrediction, response_model_exclude_none=True, responses=ERROR_RESPONSES)
async def predict_batch(
    files: list[UploadFile] = File(description="several images; each is read on its own"),
    model_field: str | None = Form(None, alias="model", description="same as ?model="),
    model: str | None = MODEL_QUERY,
    pool: ModelPool = Depends(get_pool),
) -> dict:
    """Read several images in one request. A file that cannot be read gets an `error`; the others are still read."""
    limit = pool.settings.max_batch_files
    if len(files) > limit:
        raise HTTPException(413, f"Send at most {limit} files in one batch request, not {len(files)}.")
    served = await pool.get(model_field or model)
    images = [await upload.read() for upload in files]
    outcomes = await served.batcher.submit_many(images)
    results = []
    for upload, outcome in zip(files, outcomes):
        if isinstance(outcome, Exception):
            results.append({"filename": upload.filename, "error": str(outcome), "status": image_error_status(outcome)})
        else:
            results.append({"filename": upload.filename, **outcome.to_json()})
    return {"model": served.name, "results": results}


@router.post("/predict/pixels", response_model=Prediction, response_model_exclude_none=True, responses=ERROR_RESPONSES)
async def predict_pixels(
    request: PixelsRequest,
    model: str | None = MODEL_QUERY,
    pool: ModelPool = Depends(get_pool),
) -> dict:
    """Classify one 28×28 image given as numbers (MNIST polarity: ink bright)."""
    served = await pool.get(model)
    pixels = np.asarray(request.pixels, dtype=np.float32)
    loop = asyncio.get_running_loop()
    answer = await loop.run_in_executor(pool.executor, served.recognizer.predict_pixels, pixels)
    return {**answer, "model": served.name}
