"""The FastAPI app: the page at /, the REST API under /api, OpenAPI docs at /docs.

Usage:

    from digitlab.serve import ServeSettings, create_app
    app = create_app(ServeSettings(model="mlp"))      # then: uvicorn.run(app)

The lifespan loads the default model once at start-up (a missing model fails
the start, not the first request) and shuts the model thread down at exit.
Routers reach the models through the `get_pool` dependency.

/docs is Swagger UI served from static/swagger/ (swagger-ui-dist, vendored with
its license; static/swagger/VENDORED.md says how to update it), not from a CDN,
so the docs work offline like the page. ReDoc is off: it needs a CDN and web fonts.
"""

from __future__ import annotations

import mimetypes
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from digitlab import __version__
from digitlab.serve.errors import install_error_handlers
from digitlab.serve.limits import BodyDeadline, BodySizeLimit
from digitlab.serve.models import ModelPool
from digitlab.serve.routers import browser, predict, status
from digitlab.serve.settings import ServeSettings

STATIC_DIR = Path(__file__).parent / "static"
# StaticFiles takes types from the mimetypes table, which the system's mime.types may lack or
# override: a module script must be JavaScript and WebAssembly must be application/wasm to run.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("application/manifest+json", ".webmanifest")
# Relative to /docs, as every URL in the page is relative to / (static/app.js): the app
# then works behind a reverse proxy under a path prefix, with or without --root-path.
SWAGGER_ASSETS = "static/swagger"

DESCRIPTION = """
Read handwritten digits from images: photos, scans, drawings.

* `POST /api/predict` — one image (multipart field `file`); the digits read left to right, each with its box and ten probabilities.
* `POST /api/predict/batch` — several images (field `files`), one result each.
* `POST /api/predict/pixels` — one 28×28 image as numbers.
* `GET /api/models`, `GET /api/health`.

Errors are JSON `{"detail": "one sentence"}` with a 4xx status: 413 too large, 415 not an image,
422 corrupt/empty image or malformed request, 404 unknown model, 408 a request body that took longer
than the server's limit to arrive (the connection is then closed).
"""


def create_app(settings: ServeSettings | None = None, pool: ModelPool | None = None) -> FastAPI:
    """Build the app. Pass a pool whose default model is already loaded to skip loading it again."""
    settings = settings or ServeSettings()
    pool = pool or ModelPool(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        pool.open()  # A new model thread if an earlier lifespan of this app closed the pool.
        await run_in_threadpool(pool.load_default)  # No-op if the CLI loaded it already.
        app.state.pool = pool
        yield
        pool.close()

    app = FastAPI(
        title="digitlab",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Replaced below by a /docs that loads Swagger UI from this app.
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.pool = pool
    install_error_handlers(app)
    app.include_router(predict.router)
    app.include_router(status.router)
    app.include_router(browser.router)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    # Next to the page, not under static/: a service worker's scope is its own folder, and the
    # manifest's URLs are relative to it. Both relative, so they work under --root-path too.
    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> FileResponse:
        return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript",
                            headers={"Cache-Control": "no-cache"})  # a new worker is seen on the next visit

    @app.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest() -> FileResponse:
        return FileResponse(STATIC_DIR / "manifest.webmanifest", media_type="application/manifest+json")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        # FastAPI's recipe for self-hosted docs assets, with URLs relative to /docs.
        return get_swagger_ui_html(
            openapi_url=app.openapi_url.lstrip("/"),
            title=f"{app.title} — REST API",
            swagger_js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_ASSETS}/favicon.png",
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # The last middleware added is the outermost: CORS wraps the body limits so
    # that even a 413 or 408 carries the CORS headers a cross-origin page needs to read it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    return app
