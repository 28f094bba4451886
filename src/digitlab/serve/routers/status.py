"""GET /api/models (what can be served, with test accuracy) and GET /api/health."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from digitlab import __version__
from digitlab.serve.dependencies import get_pool
from digitlab.serve.models import ModelPool
from digitlab.serve.schemas import Health, ModelList

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/models", response_model=ModelList)
async def list_models(pool: ModelPool = Depends(get_pool)) -> dict:
    """Shipped models (best first), then finished runs (newest first)."""
    loaded = set(pool.loaded_names())
    models = [
        {**entry.describe(), "loaded": name in loaded, "default": name == pool.default_name}
        for name, entry in pool.catalog().items()
    ]
    return {"default": pool.default_name, "models": models}


@router.get("/health", response_model=Health)
async def health(pool: ModelPool = Depends(get_pool)) -> dict:
    """Cheap liveness check: the server is up and its default model is loaded."""
    default = next((served for served in pool.served() if served.name == pool.default_name), None)
    return {
        "status": "ok",
        "model": pool.default_name,
        "loaded": pool.loaded_names(),
        "runtime": default.recognizer.runtime.name if default is not None else None,
        "version": __version__,
        "max_upload_mb": pool.settings.max_upload_mb,
        "batching": {
            served.name: {"calls": served.batcher.calls, "images": served.batcher.images} for served in pool.served()
        },
    }
