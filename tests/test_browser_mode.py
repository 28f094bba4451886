"""The web app reads a drawn digit in the browser too: onnxruntime-web, offline, installable.

In real Chromium (Playwright with Debian's Chromium, as tests/test_browser.py):
digits drawn with the mouse and with a finger read the same in both modes; the
page, its scripts, the WebAssembly and the model come from a service worker
once the server is gone and the browser is offline; a page that is no secure
context reads on the server and says why. Without a browser: the vendored
onnxruntime-web files are the release's, the model the page gets is the one
the server reads with, and the files are served with the types browsers need.
The pad's preprocessing against the server's, drawing by drawing: test_pad_parity.py.
"""

from __future__ import annotations

import hashlib
import re
import signal
from pathlib import Path

import json
import urllib.request
import pytest
from playwright.sync_api import Page, expect

from test_browser import ARTIFACTS, _errors, _mouse_stroke, browser_context_args  # noqa: F401
from test_browser import browser_type_launch_args  # noqa: F401  (Debian's Chromium)
from test_serve_api import serve_runs_dir  # noqa: F401  (shared fixture)

pytestmark = pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods")

STATIC = Path(__file__).resolve().parents[1] / "src" / "digitlab" / "serve" / "static"
# Digits drawn as mouse strokes (fractions of the pad), each a shape a reader can only take for that digit.
DRAWINGS = {
    "7": [[(0.28, 0.22), (0.72, 0.22), (0.45, 0.82)]],
    "1": [[(0.52, 0.18), (0.5, 0.84)]],
    "0": [[(0.5, 0.18), (0.33, 0.3), (0.3, 0.55), (0.38, 0.78), (0.52, 0.84), (0.66, 0.74),
           (0.7, 0.5), (0.64, 0.26), (0.5, 0.18)]],
    "4": [[(0.42, 0.18), (0.3, 0.58), (0.74, 0.58)], [(0.62, 0.3), (0.62, 0.86)]],
    "2": [[(0.32, 0.32), (0.4, 0.2), (0.56, 0.18), (0.66, 0.28), (0.62, 0.45), (0.32, 0.8), (0.72, 0.8)]],
}


def _serve(serve_runs_dir, tmp_path_factory, *extra: str):  # noqa: F811
    from serve_process import ServeProcess

    log_path = tmp_path_factory.mktemp("serve-browser-mode") / "serve.log"
    return ServeProcess(["--runs-dir", str(serve_runs_dir), *extra], log_path, deadline_seconds=90)


@pytest.fixture(scope="module")
def server(serve_runs_dir, tmp_path_factory):  # noqa: F811
    process = _serve(serve_runs_dir, tmp_path_factory)
    yield process.url
    assert process.stop(signal.SIGINT, timeout=20) == 0, process.log_text()


def _get(url: str):
    """(status, content type, body) of a GET."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers["content-type"], response.read()


def _wait_for_browser_mode(page: Page) -> None:
    expect(page.get_by_test_id("mode-browser")).to_be_enabled(timeout=30_000)
    expect(page.get_by_test_id("mode-browser")).to_have_attribute("aria-pressed", "true")


def _read(page: Page, strokes, where: str) -> str:
    """Draw the strokes on a clear pad, wait for the reading from `where`, return the prediction."""
    if page.locator("#clear").is_enabled():
        page.click("#clear")
    expect(page.get_by_test_id("prediction")).to_have_text("–")
    for stroke in strokes:
        _mouse_stroke(page, stroke)
    prediction = page.get_by_test_id("prediction")
    # The reading of the whole drawing, once no stroke is being drawn (live readings come before it).
    expect(prediction).to_have_attribute("data-strokes", str(len(strokes)), timeout=15_000)
    expect(prediction).to_have_attribute("data-settled", "true", timeout=15_000)
    expect(prediction).to_have_attribute("data-read-in", where)
    return prediction.inner_text()


def test_vendored_onnxruntime_web_is_the_release_named_in_vendored_md():
    table = (STATIC / "ort" / "VENDORED.md").read_text()
    listed = dict(re.findall(r"\| `([^`]+)` \| `dist/[^`]+` \| [\d,]+ \| `([0-9a-f]{64})` \|", table))
    assert set(listed) == {"ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"}
    for name, digest in listed.items():
        assert hashlib.sha256((STATIC / "ort" / name).read_bytes()).hexdigest() == digest, name
    from digitlab.serve.routers.browser import ONNXRUNTIME_WEB_VERSION

    assert f"`onnxruntime-web` {ONNXRUNTIME_WEB_VERSION}" in table


def test_the_browser_gets_the_servers_own_model_and_parameters_with_the_right_types(server):
    config = json.loads(_get(f"{server}/api/browser")[2])
    status, _, model = _get(f"{server}/{config['model']['url']}")
    assert status == 200 and hashlib.sha256(model).hexdigest() == config["model"]["sha256"]
    health = json.loads(_get(f"{server}/api/health")[2])
    assert config["model"]["name"] == health["model"]
    assert 0 < config["model"]["reject_below"] < 1 and config["model"]["temperature"] > 0
    from digitlab.vision.browser import pad_parameters

    assert config["pad"] == pad_parameters()  # one source: the server's own constants
    types = {"static/ort/ort.wasm.min.mjs": "text/javascript", "static/ort/ort-wasm-simd-threaded.wasm":
             "application/wasm", "static/pad.js": "text/javascript", "sw.js": "text/javascript",
             "manifest.webmanifest": "application/manifest+json"}
    for path, media_type in types.items():
        status, content_type, _ = _get(f"{server}/{path}")
        assert status == 200 and content_type.startswith(media_type), path
    manifest = json.loads(_get(f"{server}/manifest.webmanifest")[2])
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"  # relative: --root-path works
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_drawn_digits_read_the_same_in_the_browser_and_on_the_server(page: Page, server):
    errors = _errors(page)
    page.goto(server)
    _wait_for_browser_mode(page)
    in_browser = {digit: _read(page, strokes, "browser") for digit, strokes in DRAWINGS.items()}
    expect(page.locator("#reader-latency")).to_contain_text("in your browser")
    page.get_by_test_id("mode-server").click()
    expect(page.get_by_test_id("mode-server")).to_have_attribute("aria-pressed", "true")
    on_server = {digit: _read(page, strokes, "server") for digit, strokes in DRAWINGS.items()}
    expect(page.locator("#reader-latency")).to_contain_text("on the server")
    assert in_browser == on_server == {digit: digit for digit in DRAWINGS}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-mode-server.png"), full_page=True)
    assert errors == []


def test_a_finger_on_a_phone_reads_the_same_in_both_modes(browser, server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    errors = _errors(page)
    page.goto(server)
    _wait_for_browser_mode(page)
    cdp = context.new_cdp_session(page)
    box = {}

    def touch(kind: str, fx: float | None = None, fy: float | None = None) -> None:
        points = [] if fx is None else [{"x": box["x"] + fx * box["width"], "y": box["y"] + fy * box["height"]}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    def read_by_touch(where: str) -> dict[str, str]:
        page.evaluate("window.scrollTo(0, 0)")  # the toggle is below the pad on a phone
        box.update(page.get_by_test_id("pad").bounding_box())
        readings = {}
        for digit, strokes in DRAWINGS.items():
            if page.locator("#clear").is_enabled():
                page.click("#clear")
            for stroke in strokes:
                touch("touchStart", *stroke[0])
                for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
                    for step in range(1, 9):
                        touch("touchMove", x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8)
                touch("touchEnd")
            prediction = page.get_by_test_id("prediction")
            expect(prediction).to_have_attribute("data-strokes", str(len(strokes)), timeout=15_000)
            expect(prediction).to_have_attribute("data-settled", "true", timeout=15_000)
            expect(prediction).to_have_attribute("data-read-in", where)
            readings[digit] = prediction.inner_text()
        return readings

    in_browser = read_by_touch("browser")
    # The toggle by a click: after touches sent through CDP, Chromium answers a synthetic tap on a
    # button with touch and pointer events but no click (a tap on a fresh page does click it).
    page.get_by_test_id("mode-server").click()
    expect(page.get_by_test_id("mode-server")).to_have_attribute("aria-pressed", "true")
    on_server = read_by_touch("server")
    assert in_browser == on_server == {digit: digit for digit in DRAWINGS}
    page.screenshot(path=str(ARTIFACTS / "browser-mode-phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_offline_after_the_first_visit_the_browser_still_reads(browser, serve_runs_dir, tmp_path_factory):  # noqa: F811
    process = _serve(serve_runs_dir, tmp_path_factory)
    context = browser.new_context()
    page = context.new_page()
    page.goto(process.url)
    _wait_for_browser_mode(page)
    # The service worker has installed (the page, scripts, WebAssembly and model in its cache) and controls the page.
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    assert process.stop(signal.SIGINT, timeout=20) == 0
    context.set_offline(True)
    page.reload()  # from the service worker: the server is gone and the browser offline
    expect(page.locator("#offline-banner")).to_be_visible()
    _wait_for_browser_mode(page)
    assert _read(page, DRAWINGS["7"], "browser") == "7"
    assert _read(page, DRAWINGS["4"], "browser") == "4"
    page.screenshot(path=str(ARTIFACTS / "browser-mode-offline.png"), full_page=True)
    # A photo needs the server: one clear sentence, no hang.
    page.click("#tab-photo")
    page.set_input_files("#file-input", {"name": "a.png", "mimeType": "image/png",
                                         "buffer": (STATIC / "icons" / "icon-192.png").read_bytes()})
    expect(page.locator("#message")).to_contain_text("Could not reach the digitlab server", timeout=15_000)
    context.close()


def test_a_page_that_is_no_secure_context_reads_on_the_server_and_says_why(browser, server):
    # The same server under a name that is not localhost: plain http there is no secure context.
    port = server.rsplit(":", 1)[1]
    context = browser.new_context()
    page = context.new_page()
    errors = _errors(page)
    page.goto(f"http://digitlab-lan.test:{port}/")
    expect(page.locator("#reader-status")).to_contain_text("needs a secure connection", timeout=15_000)
    expect(page.get_by_test_id("mode-browser")).to_be_disabled()
    assert _read(page, DRAWINGS["7"], "server") == "7"
    assert page.evaluate("window.isSecureContext") is False
    assert errors == []
    context.close()
