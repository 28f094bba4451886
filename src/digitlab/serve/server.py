"""Run the app under uvicorn: `digitlab serve` calls run_server().

Usage:

    run_server(ServeSettings(model="mlp"), host="127.0.0.1", port=8000)
    run_server(settings, workers=2)     # two server processes sharing the port

With workers > 1, uvicorn starts that many processes, each building the app
with `app_from_environment` from the settings passed in DIGITLAB_SERVE_SETTINGS
and loading its own copy of the model. Reading an image is CPU-bound Python and
holds the GIL for much of its time, so one process uses about one core; a
second process lets a 2-core machine serve with both.

The default model is loaded before uvicorn starts, so a missing or broken model
is one clear error line rather than a failed start-up traceback. uvicorn handles
SIGINT/SIGTERM: it stops accepting, finishes the requests in flight, then runs
the lifespan's shutdown.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import uvicorn

from digitlab.serve.app import create_app
from digitlab.serve.models import ModelPool
from digitlab.serve.settings import ServeSettings


SETTINGS_VARIABLE = "DIGITLAB_SERVE_SETTINGS"


def app_from_environment():
    """The app of one worker process (uvicorn factory), from the settings the parent process passed."""
    return create_app(ServeSettings(**json.loads(os.environ[SETTINGS_VARIABLE])))


def run_server(
    settings: ServeSettings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info", workers: int = 1
) -> None:
    # Load the default model here first, also with several workers: a missing or
    # broken model is then one clear error line, not a traceback per worker.
    pool = ModelPool(settings)
    served = pool.load_default()
    accuracy = served.entry.test_accuracy
    logging.getLogger("uvicorn.error").info(
        "model %s%s", served.name, f" (test accuracy {accuracy:.2%})" if accuracy is not None else ""
    )
    processes = f", {workers} worker processes" if workers > 1 else ""
    print(f"digitlab: serving model {served.name} on http://{host}:{port}/{processes}  (Ctrl+C stops)", flush=True)
    # Finish requests in flight at Ctrl+C / SIGTERM, but do not wait forever.
    options = dict(host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
    if workers <= 1:
        uvicorn.run(create_app(settings, pool), **options)
        return
    pool.close()
    # Each worker loads the model the parent resolved, by path, so all serve the same one.
    os.environ[SETTINGS_VARIABLE] = json.dumps(dataclasses.asdict(settings) | {"model": str(served.entry.path)})
    uvicorn.run("digitlab.serve.server:app_from_environment", factory=True, workers=workers, **options)
