"""GET /api/browser and /api/browser/model.onnx: what the page needs to read a drawn digit in the browser.

Usage (what static/app.js does):

    config = await (await fetch("api/browser")).json()
    bytes  = await (await fetch(config.model.url)).arrayBuffer()   // checked against config.model.sha256

The page reads a single drawn digit itself, offline if need be, with
onnxruntime-web (static/ort/, vendored) and static/pad.js, the JavaScript twin
of the vision pipeline's canvas path. Everything both sides must agree on comes
from here, written by the server from its own code: the pipeline's constants
(digitlab.vision.browser.pad_parameters), the default model's ONNX file with
its SHA-256, its calibration temperature and the reject threshold. Only the
default model is offered, and only when it is one ONNX file (float or int8, the one the server runs) (an ensemble or a
Keras-only run is read on the server: 404 with the reason).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

from digitlab.formats import file_sha256
from digitlab.recognize.runtimes import OnnxRuntime
from digitlab.serve.dependencies import ERROR_RESPONSES, get_pool
from digitlab.serve.models import ModelPool, ServedModel
from digitlab.serve.schemas import BrowserConfig
from digitlab.vision.browser import pad_parameters

router = APIRouter(prefix="/api/browser", tags=["browser"])

# The onnxruntime-web release vendored in static/ort/ (static/ort/VENDORED.md).
ONNXRUNTIME_WEB_VERSION = "1.30.0"


@lru_cache(maxsize=8)
def _sha256(path: Path, size: int, modified: int) -> str:
    """The file's SHA-256, computed once per (path, size, mtime): the model is read on every config request."""
    return file_sha256(path)


def _onnx_path(served: ServedModel) -> Path:
    runtime = served.recognizer.runtime
    if not isinstance(runtime, OnnxRuntime):  # float or int8: the very file the server reads with
        raise HTTPException(404, f"The default model {served.name!r} is not one ONNX file; "
                                 "the page reads on the server.")
    return runtime.path


@router.get("", response_model=BrowserConfig, responses={404: ERROR_RESPONSES[404]})
async def browser_config(pool: ModelPool = Depends(get_pool)) -> dict:
    """The default model for the browser (URL, SHA-256, temperature, reject threshold) and the pad's parameters."""
    served = await pool.get(None)
    path = _onnx_path(served)
    status = path.stat()
    recognizer = served.recognizer
    return {
        "model": {
            "name": served.name,
            "url": "api/browser/model.onnx",
            "sha256": _sha256(path, status.st_size, status.st_mtime_ns),
            "bytes": status.st_size,
            "temperature": float(recognizer.temperature),
            "reject_below": float(recognizer.segments_reject_below),
        },
        "pad": pad_parameters(),
        "onnxruntime_web": ONNXRUNTIME_WEB_VERSION,
    }


@router.get("/model.onnx", response_class=FileResponse, responses={404: ERROR_RESPONSES[404]})
async def browser_model(pool: ModelPool = Depends(get_pool)) -> FileResponse:
    """The default model's ONNX file (the page checks it against the SHA-256 of GET /api/browser)."""
    served = await pool.get(None)
    return FileResponse(_onnx_path(served), media_type="application/octet-stream", filename="model.onnx")
