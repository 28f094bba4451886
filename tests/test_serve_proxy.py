"""`digitlab serve` behind a reverse proxy under a sub-path, and its settings from flags or the environment.

The app is mounted under /digits (Starlette's Mount sets the ASGI root_path, as
uvicorn --root-path does behind a proxy that strips the prefix); the page, every
asset it names, the script's API calls, /docs and its spec are fetched through
that prefix only. tests/test_browser.py drives the same through a real proxy.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount

from digitlab import cli
from digitlab.serve import ServeSettings, create_app, settings_from_flags
from digitlab.serve.models import ModelPool
from test_serve_api import number_image, mnist_test_set, serve_runs_dir  # noqa: F401  (shared fixtures)

PREFIX = "/digits"


class PageURLs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def urls_in(html: str) -> list[str]:
    parser = PageURLs()
    parser.feed(html)
    # Swagger UI names its spec in an inline script, not in an attribute.
    return parser.urls + re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)


@pytest.fixture(scope="module")
def proxied(serve_runs_dir):  # noqa: F811
    settings = ServeSettings(runs_dir=str(serve_runs_dir), root_path=PREFIX)
    pool = ModelPool(settings)
    pool.load_default()  # a mounted app's lifespan does not run; load the model here instead
    outer = Starlette(routes=[Mount(PREFIX, app=create_app(settings, pool))])
    with TestClient(outer) as client:
        yield client
    pool.close()


def test_the_page_and_everything_it_names_load_under_the_prefix(proxied):
    page = proxied.get(f"{PREFIX}/")
    assert page.status_code == 200 and 'id="pad"' in page.text
    urls = urls_in(page.text)
    assert {"static/app.js", "static/style.css", "docs"} <= set(urls), urls
    for url in urls:
        assert not url.startswith("/") and "://" not in url, f"{url} is not relative to the page"
        assert proxied.get(urljoin(f"{PREFIX}/", url)).status_code == 200, url
    # Nothing is reachable outside the prefix: the proxy would not pass it on.
    assert proxied.get("/static/app.js").status_code == 404


def test_the_script_calls_the_api_relative_to_the_page(proxied, number_image):  # noqa: F811
    script = proxied.get(f"{PREFIX}/static/app.js").text
    called = re.findall(r"""fetch\(\s*[`'"]([^`'"?]+)""", script)
    assert sorted(set(called)) == ["api/health", "api/models", "api/predict"], called
    answer = proxied.post(urljoin(f"{PREFIX}/", "api/predict"),
                          files={"file": ("number.png", number_image, "image/png")})
    assert answer.status_code == 200 and answer.json()["prediction"] == "305"
    assert proxied.get(urljoin(f"{PREFIX}/", "api/health")).json()["status"] == "ok"


def test_docs_and_openapi_under_the_prefix(proxied):
    docs = proxied.get(f"{PREFIX}/docs")
    assert docs.status_code == 200
    urls = urls_in(docs.text)
    assert "openapi.json" in urls
    for url in urls:
        assert not url.startswith("/") and "://" not in url, url
        assert proxied.get(urljoin(f"{PREFIX}/docs", url)).status_code == 200, url
    # "Try it out" in Swagger UI sends requests to the spec's server, the prefix.
    spec = proxied.get(f"{PREFIX}/openapi.json").json()
    assert spec["servers"][0]["url"] == PREFIX


# ---------- settings: flags win over DIGITLAB_* variables, which win over defaults ----------


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("DIGITLAB_HOST", "0.0.0.0")
    monkeypatch.setenv("DIGITLAB_PORT", "9001")
    monkeypatch.setenv("DIGITLAB_WORKERS", "2")
    monkeypatch.setenv("DIGITLAB_MODEL", "mlp")
    monkeypatch.setenv("DIGITLAB_MAX_UPLOAD_MB", "2.5")
    monkeypatch.setenv("DIGITLAB_BODY_TIMEOUT", "5")
    monkeypatch.setenv("DIGITLAB_MAX_BATCH_FILES", "8")
    monkeypatch.setenv("DIGITLAB_RUNTIME", "onnx")
    monkeypatch.setenv("DIGITLAB_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("DIGITLAB_ROOT_PATH", "/digits/")
    settings = ServeSettings()
    assert (settings.host, settings.port, settings.workers, settings.model) == ("0.0.0.0", 9001, 2, "mlp")
    assert (settings.max_upload_mb, settings.max_batch_files, settings.runtime) == (2.5, 8, "onnx")
    assert settings.body_timeout == 5
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.root_path == "/digits"


def test_flags_win_over_the_environment_and_unset_flags_do_not(monkeypatch):
    monkeypatch.setenv("DIGITLAB_PORT", "9001")
    monkeypatch.setenv("DIGITLAB_MODEL", "mlp")
    settings = settings_from_flags({"port": 9002, "model": None, "host": None})
    assert (settings.port, settings.model, settings.host) == (9002, "mlp", "127.0.0.1")


def test_defaults_without_environment(monkeypatch):
    for name in ("HOST", "PORT", "WORKERS", "MODEL", "RUNTIME", "MAX_UPLOAD_MB", "BODY_TIMEOUT", "CORS_ORIGINS",
                 "ROOT_PATH"):
        monkeypatch.delenv(f"DIGITLAB_{name}", raising=False)
    settings = ServeSettings()
    assert (settings.host, settings.port, settings.workers, settings.model, settings.runtime) == (
        "127.0.0.1", 8000, 1, None, "auto")
    assert settings.max_upload_mb == 10.0 and settings.cors_origins == [] and settings.root_path == ""
    assert settings.body_timeout == 30.0


@pytest.mark.parametrize("variable, value, named", [
    ("DIGITLAB_PORT", "eighty", "--port or DIGITLAB_PORT"),
    ("DIGITLAB_WORKERS", "0", "--workers or DIGITLAB_WORKERS"),
    ("DIGITLAB_MAX_UPLOAD_MB", "-1", "--max-upload-mb or DIGITLAB_MAX_UPLOAD_MB"),
    ("DIGITLAB_BODY_TIMEOUT", "0", "--body-timeout or DIGITLAB_BODY_TIMEOUT"),
    ("DIGITLAB_RUNTIME", "torch", "--runtime or DIGITLAB_RUNTIME"),
    ("DIGITLAB_ROOT_PATH", "digits", "--root-path or DIGITLAB_ROOT_PATH"),
])
def test_a_bad_setting_is_one_line_naming_flag_and_variable(variable, value, named, monkeypatch, capsys):
    monkeypatch.setenv(variable, value)
    assert cli.main(["serve"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("digitlab: error:") and error.count("\n") == 1, error
    assert named in error and value in error, error
