"""Run the app under uvicorn: `digitlab serve` calls run_server().

Usage:

    run_server(ServeSettings(model="mlp", port=8000))
    run_server(ServeSettings(workers=2))     # two server processes sharing the port
    run_server(settings, quiet=1, log_file="serve.log")   # what `digitlab -q serve --log-file serve.log` does

With workers > 1, uvicorn starts that many processes, each building the app
with `app_from_environment` from the settings passed in DIGITLAB_SERVE_SETTINGS
and loading its own copy of the model. Reading an image is CPU-bound Python and
holds the GIL for much of its time, so one process uses about one core; a
second process lets a 2-core machine serve with both.

The default model is loaded before uvicorn starts, so a missing or broken model
is one clear error line rather than a failed start-up traceback. uvicorn handles
SIGINT/SIGTERM: it stops accepting, finishes the requests in flight (for at most
GRACEFUL_SHUTDOWN_SECONDS), then runs the lifespan's shutdown. Then it raises the
signal again so that the process dies of it. SIGTERM is how service managers ask
a server to stop, so here it ends in exit status 0, as Ctrl+C does (uvicorn
swallows the KeyboardInterrupt) and as SIGTERM does with workers. settings.root_path
goes to uvicorn as its root_path, the ASGI way to say the app lives under a proxy's
path prefix.

uvicorn's own log records (start-up, requests) go through the same logging as
digitlab's (digitlab.console): on stderr as plain lines, and into the log file
if there is one; each worker process sets that up again for itself.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from contextlib import contextmanager

import uvicorn

from digitlab.console import configure_logging
from digitlab.serve.app import create_app
from digitlab.serve.models import ModelPool
from digitlab.serve.settings import ServeSettings

SETTINGS_VARIABLE = "DIGITLAB_SERVE_SETTINGS"
# How long requests in flight may take to finish after SIGTERM or Ctrl+C before they are cancelled.
GRACEFUL_SHUTDOWN_SECONDS = 10

logger = logging.getLogger(__name__)


def app_from_environment():
    """The app of one worker process (uvicorn factory), from the settings the parent process passed."""
    passed = json.loads(os.environ[SETTINGS_VARIABLE])
    # A fresh process: route its log records as the parent's -v, -q and --log-file said.
    configure_logging(**passed["logging"])
    return create_app(ServeSettings.model_validate(passed["settings"]))


class _Terminated(Exception):
    """SIGTERM arrived: after uvicorn's graceful shutdown (it raises the signal again), or before it started."""


def _raise_terminated(signal_number, frame) -> None:
    raise _Terminated


@contextmanager
def _sigterm_stops_cleanly():
    """Within: SIGTERM ends the server's run normally, so the process exits 0 instead of dying of the signal."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    except _Terminated:
        logger.debug("stopped by SIGTERM")
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_server(settings: ServeSettings, verbose: int = 0, quiet: int = 0, log_file: str | None = None) -> None:
    """Serve until Ctrl+C or SIGTERM; verbose, quiet and log_file as `digitlab -v/-q/--log-file` (console.py)."""
    if not logging.getLogger().handlers:  # called as a library, not by the CLI (which did this already)
        configure_logging(verbose, quiet, log_file)
    # Load the default model here first, also with several workers: a missing or
    # broken model is then one clear error line, not a traceback per worker.
    pool = ModelPool(settings)
    served = pool.load_default()
    accuracy = served.entry.test_accuracy
    shown = f" (test accuracy {accuracy:.2%})" if accuracy is not None else ""
    processes = f", {settings.workers} worker processes" if settings.workers > 1 else ""
    proxied = f" (behind a proxy at {settings.root_path}/)" if settings.root_path else ""
    logger.info("Serving model %s%s on http://%s:%d/%s%s  (Ctrl+C stops)", served.name, shown, settings.host,
                settings.port, proxied, processes)
    # Finish requests in flight at Ctrl+C / SIGTERM, but do not wait forever. log_config=None: uvicorn's
    # records reach the handlers configure_logging installed, which filter them for the console and the file.
    options = dict(host=settings.host, port=settings.port, root_path=settings.root_path, log_config=None,
                   log_level="debug" if verbose else "info", timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    if settings.workers <= 1:
        app = create_app(settings, pool)
        with _sigterm_stops_cleanly():
            uvicorn.run(app, **options)
        return
    pool.close()
    # Each worker loads the model the parent resolved, by path, so all serve the same one.
    os.environ[SETTINGS_VARIABLE] = json.dumps({
        "settings": settings.model_copy(update={"model": str(served.entry.path)}).model_dump(),
        "logging": {"verbose": verbose, "quiet": quiet, "log_file": log_file},
    })
    uvicorn.run("digitlab.serve.server:app_from_environment", factory=True, workers=settings.workers, **options)
