"""The web app and REST API: `digitlab serve`.

Usage:

    digitlab serve --port 8000 --model mlp          # then open http://127.0.0.1:8000/

    from digitlab.serve import ServeSettings, create_app, run_server
    app = create_app(ServeSettings(model="mlp"))     # an ASGI app (tests use TestClient(app))

Layout (FastAPI "bigger applications"): app.py builds the app, routers/ holds
the endpoints, models.py loads and caches models, batching.py groups concurrent
requests into one model call, limits.py enforces the upload limit, errors.py
turns every error into JSON, static/ is the page (no build step, no CDN).
"""

from digitlab.serve.app import create_app
from digitlab.serve.server import run_server
from digitlab.serve.settings import ServeSettings, settings_from_flags

# The settings' names, which are also `digitlab serve`'s option names (--max-upload-mb → max_upload_mb).
SETTINGS_FIELDS = tuple(ServeSettings.model_fields)

__all__ = ["SETTINGS_FIELDS", "ServeSettings", "create_app", "run_server", "settings_from_flags"]
