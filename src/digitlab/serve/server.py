"""Run the app under uvicorn: `digitlab serve` calls run_server().

Usage:

    run_server(ServeSettings(model="mlp"), host="127.0.0.1", port=8000)

The default model is loaded before uvicorn starts, so a missing or broken model
is one clear error line rather than a failed start-up traceback. uvicorn handles
SIGINT/SIGTERM: it stops accepting, finishes the requests in flight, then runs
the lifespan's shutdown.
"""

from __future__ import annotations

import logging

from digitlab.serve.app import create_app
from digitlab.serve.models import ModelPool
from digitlab.serve.settings import ServeSettings


def run_server(settings: ServeSettings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    import uvicorn

    pool = ModelPool(settings)
    served = pool.load_default()
    accuracy = served.entry.test_accuracy
    logging.getLogger("uvicorn.error").info(
        "model %s%s", served.name, f" (test accuracy {accuracy:.2%})" if accuracy is not None else ""
    )
    print(f"digitlab: serving model {served.name} on http://{host}:{port}/  (Ctrl+C stops)", flush=True)
    uvicorn.run(
        create_app(settings, pool),
        host=host,
        port=port,
        log_level=log_level,
        # Finish requests in flight at Ctrl+C / SIGTERM, but do not wait forever.
        timeout_graceful_shutdown=10,
    )
