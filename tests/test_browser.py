"""The web page in a real browser: Playwright drives Debian's Chromium against a real `digitlab serve`.

Draw a 7 with the mouse, draw with a finger on a 360×740 phone, upload a photo
of a number, upload a text file, use the keyboard. Screenshots go to
test-artifacts/ (git-ignored) for a person to look at.

Needs /usr/bin/chromium (`make test` installs Debian's `chromium` as root).
Without it the tests skip, saying what to install; under CI=true
tests/conftest.py turns the skip into a failure, so CI never silently skips them.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from test_serve_api import NUMBER, mnist_test_set, number_image, serve_runs_dir  # noqa: F401  (shared fixtures)

# pytest-playwright 0.10's base_url fixture trips a pytest 9 deprecation inside the plugin.
pytestmark = pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods")

CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # A name that is not localhost, for the same loopback server: plain http there is no secure
    # context (tests/test_browser_mode.py checks the page then reads on the server).
    "--host-resolver-rules=MAP digitlab-lan.test 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium (Playwright's own download cannot work here)."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium missing ({CHROMIUM}): apt-get install chromium (make system-test-deps does, as root)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


@pytest.fixture(scope="module")
def server(serve_runs_dir):  # noqa: F811
    """`digitlab serve` in a subprocess on a free loopback port; stopped with SIGINT, which must be clean."""
    from serve_process import ServeProcess

    log_path = serve_runs_dir.parent / "serve-browser.log"
    process = ServeProcess(["--runs-dir", str(serve_runs_dir)], log_path, deadline_seconds=90)
    yield process.url
    status = process.stop(signal.SIGINT, timeout=20)
    log_text = process.log_text()
    assert status == 0, f"digitlab serve exited with {status} on SIGINT:\n{log_text}"
    assert "Finished server process" in log_text and "Traceback" not in log_text, log_text


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def _errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return errors


def _mouse_stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """One stroke through points given as fractions of the drawing pad."""
    box = page.locator("#pad").bounding_box()
    position = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*position[0])
    page.mouse.down()
    for x, y in position[1:]:
        page.mouse.move(x, y, steps=12)
    page.mouse.up()


def test_drawing_a_seven_with_the_mouse_shows_7(page: Page, server):
    errors = _errors(page)
    page.goto(server)
    expect(page.locator("#model-accuracy")).to_contain_text("Test accuracy")
    _mouse_stroke(page, [(0.28, 0.22), (0.72, 0.22), (0.45, 0.82)])
    expect(page.locator("#prediction")).to_have_text("7", timeout=15_000)
    expect(page.locator("#confidence")).to_contain_text("confident")
    expect(page.locator("#bars li.top .label")).to_have_text("7")
    expect(page.locator("#inputs img")).to_have_count(1)
    _shot(page, "browser-draw-7")

    page.click("#undo")
    expect(page.locator("#prediction")).to_have_text("–")
    expect(page.locator("#undo")).to_be_disabled()
    assert errors == []


def test_drawing_with_a_finger_on_a_phone(browser, server):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors = _errors(page)
    page.goto(server)
    expect(page.locator("#model-accuracy")).to_contain_text("Test accuracy")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "no sideways scrolling on a phone"

    box = page.locator("#pad").bounding_box()
    cdp = context.new_cdp_session(page)

    def touch(kind: str, fx: float | None = None, fy: float | None = None) -> None:
        points = [] if fx is None else [{"x": box["x"] + fx * box["width"], "y": box["y"] + fy * box["height"]}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    # A 4, in two strokes; a vertical swipe on the pad must draw, not scroll the page.
    touch("touchStart", 0.35, 0.18)
    for step in range(1, 13):
        touch("touchMove", 0.35 - 0.1 * step / 12, 0.18 + 0.4 * step / 12)
    for step in range(1, 13):
        touch("touchMove", 0.25 + 0.5 * step / 12, 0.58)
    touch("touchEnd")
    touch("touchStart", 0.6, 0.3)
    for step in range(1, 13):
        touch("touchMove", 0.6, 0.3 + 0.55 * step / 12)
    touch("touchEnd")

    expect(page.locator("#prediction")).not_to_have_text("–", timeout=15_000)
    expect(page.locator("#inputs img")).to_have_count(1)
    assert page.evaluate("window.scrollY") == 0, "drawing scrolled the page"
    _shot(page, "browser-phone-touch")
    assert errors == []
    context.close()


def test_uploading_a_photo_of_a_number_shows_digits_and_boxes(page: Page, server, number_image):  # noqa: F811
    errors = _errors(page)
    page.goto(server)
    page.click("#tab-photo")
    page.set_input_files("#file-input", {"name": "number.png", "mimeType": "image/png", "buffer": number_image})
    expect(page.locator("#prediction")).to_have_text(NUMBER, timeout=15_000)
    expect(page.locator("#photo-boxes rect:not(.tag)")).to_have_count(len(NUMBER))
    expect(page.locator("#inputs img")).to_have_count(len(NUMBER))
    expect(page.locator("#digit-chips button")).to_have_count(len(NUMBER))
    # The second digit's probabilities, chosen with its chip.
    page.locator("#digit-chips button").nth(1).click()
    expect(page.locator("#bars li.top .label")).to_have_text(NUMBER[1])
    expect(page.locator("#file-name")).to_have_text("number.png")
    _shot(page, "browser-photo-number")
    assert errors == []


def test_uploading_a_text_file_says_it_is_not_an_image(page: Page, server):
    page.goto(server)
    page.click("#tab-photo")
    page.set_input_files("#file-input", {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just text\n"})
    message = page.locator("#message")
    expect(message).to_be_visible(timeout=15_000)
    expect(message).to_contain_text("not an image")
    expect(page.locator("#prediction")).to_have_text("–")
    _shot(page, "browser-text-file")


def test_the_page_works_from_the_keyboard(page: Page, server):
    page.goto(server)
    page.keyboard.press("Tab")  # the model picker comes first
    assert page.evaluate("document.activeElement.id") == "model-select"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "tab-draw"
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-photo"
    expect(page.locator("#panel-photo")).to_be_visible()
    expect(page.locator("#panel-draw")).to_be_hidden()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "file-input", "the file chooser is reachable by keyboard"
    # Focus is visible: the focused control's label gets a ring.
    ring = page.evaluate("getComputedStyle(document.querySelector('label[for=file-input]')).boxShadow")
    assert ring not in ("", "none")


@pytest.fixture(scope="module")
def proxied_server(serve_runs_dir, tmp_path_factory):  # noqa: F811
    """`digitlab serve --root-path /digits` behind a proxy that serves it at /digits/ and nothing else."""
    from serve_process import PrefixProxy, ServeProcess

    log_path = tmp_path_factory.mktemp("proxied") / "serve.log"
    process = ServeProcess(["--runs-dir", str(serve_runs_dir), "--root-path", "/digits"], log_path, deadline_seconds=90)
    proxy = PrefixProxy("/digits", process.url)
    yield proxy
    proxy.close()
    assert process.stop(signal.SIGINT, timeout=20) == 0, process.log_text()


def test_the_app_under_a_proxy_sub_path(page: Page, proxied_server):
    errors = _errors(page)
    page.goto(f"{proxied_server.url}/digits/")
    expect(page.locator("#model-accuracy")).to_contain_text("Test accuracy")
    # The in-browser reader, its service worker and manifest under the prefix too (all relative).
    expect(page.get_by_test_id("mode-browser")).to_have_attribute("aria-pressed", "true", timeout=30_000)
    scope = page.evaluate("navigator.serviceWorker.ready.then((registration) => registration.scope)")
    assert scope == f"{proxied_server.url}/digits/"
    _mouse_stroke(page, [(0.28, 0.22), (0.72, 0.22), (0.45, 0.82)])
    expect(page.locator("#prediction")).to_have_text("7", timeout=15_000)
    expect(page.locator("#prediction")).to_have_attribute("data-read-in", "browser")
    _shot(page, "browser-proxy-sub-path")
    page.click("footer a[href=docs]")
    expect(page.locator(".swagger-ui .title")).to_contain_text("digitlab", timeout=15_000)
    expect(page.locator(".swagger-ui .servers")).to_contain_text("/digits")
    assert errors == []
    outside = [path for path in proxied_server.requested if not path.startswith("/digits/")]
    assert outside == [], f"the page asked for URLs outside its prefix: {outside}"
