"""pad.js (the page's own reader of one drawn digit) against digitlab.vision.analyze, in a real Chromium.

Each recorded drawing (tests/data/pad_strokes.json, made by tests/pad_drawings.py) is painted
with pad.js's paintStrokes on a 200×200 canvas, as app.js exports it. The page reads its pixels
with preparePad; the same canvas as a PNG goes through the server's pipeline. Whenever pad.js
answers, it must be the server's answer: a digit's 28×28 input within 1/255 and the same box, or
no digit with the same note. Handing the drawing to the server is always allowed, but most
single digits must be answered in the page, and a number of several digits never is.

No digitlab server: pad.js and a blank page are served by Playwright's routing. Needs
/usr/bin/chromium (`make test` installs Debian's `chromium`); without it the test skips, saying
what to install, and under CI=true tests/conftest.py turns the skip into a failure.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from digitlab.vision import analyze
from digitlab.vision.browser import pad_parameters

# pytest-playwright 0.10's fixtures trip a pytest 9 deprecation inside the plugin.
pytestmark = pytest.mark.filterwarnings("ignore:Session-scoped fixtures defined as instance methods")

PAD_JS = Path(__file__).resolve().parents[1] / "src" / "digitlab" / "serve" / "static" / "pad.js"
STROKES = Path(__file__).with_name("data") / "pad_strokes.json"
CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ORIGIN = "http://pad.test"
TOLERANCE = 1 / 255
SINGLE_DIGITS = ("single", "pieces")  # categories whose drawings hold one digit (tests/pad_drawings.py)
MIN_ANSWERED = 0.9  # of those, at least this fraction is read in the page

# Paints each drawing as app.js's exportDrawing does, then reads it both ways.
READ_ALL = """async ({drawings, params, size}) => {
  const pad = await import("/pad.js");
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  const answers = [];
  for (const drawing of drawings) {
    pad.paintStrokes(context, drawing.strokes, size, size, "#000000");
    const rgba = context.getImageData(0, 0, size, size).data;
    const started = performance.now();
    const answer = pad.preparePad(rgba, size, size, params);
    const ms = performance.now() - started;
    answers.push({...answer, input: answer.input ? Array.from(answer.input) : null, ms,
                  png: canvas.toDataURL("image/png")});
  }
  return answers;
}"""


@pytest.fixture(scope="module")
def pad_page(playwright):
    """A blank page at ORIGIN that can import /pad.js, in Debian's Chromium."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium missing ({CHROMIUM}): apt-get install chromium (make system-test-deps does, as root)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    def serve(route):
        if route.request.url == f"{ORIGIN}/pad.js":
            route.fulfill(body=PAD_JS.read_text(encoding="utf-8"), content_type="text/javascript")
        else:
            route.fulfill(body="<!doctype html><title>pad parity</title>", content_type="text/html")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page, errors
    browser.close()


def test_pad_js_takes_every_number_from_pad_parameters():
    params = pad_parameters()
    assert json.loads(json.dumps(params)) == params
    used = set(re.findall(r"\bp\.([a-z_]+)", PAD_JS.read_text(encoding="utf-8")))
    assert used - set(params) == set(), "pad.js reads parameters pad_parameters() does not give"
    assert set(params) - used == set(), "pad_parameters() gives numbers pad.js never reads"


def _check(drawing: dict, answer: dict) -> str | None:
    """What is wrong with pad.js's answer for one drawing (None: it agrees with the server, or hands off)."""
    png = base64.b64decode(answer["png"].split(",", 1)[1])
    analysis = analyze(png)
    name = f"{drawing['name']!r} ({drawing['category']})"
    kind = answer["kind"]
    if kind == "digit":
        if len(analysis.digits) != 1:
            return f"{name}: pad.js read one digit, the server {len(analysis.digits)}"
        digit = analysis.digits[0]
        difference = float(np.abs(np.array(answer["input"], dtype=np.float32).reshape(28, 28)
                                  - digit.model_input).max())
        answer["difference"] = difference
        if difference > TOLERANCE or list(answer["box"]) != list(digit.box):
            return (f"{name}: 28×28 differs by {difference:.3g} (at most {TOLERANCE:.3g}); "
                    f"box {answer['box']} against the server's {list(digit.box)}")
    elif kind == "blank":
        if analysis.digits or answer["note"] != analysis.note:
            return f"{name}: pad.js found no digit ({answer['note']!r}), the server {len(analysis.digits)} " \
                   f"({analysis.note!r})"
    elif kind != "server" or not answer.get("reason"):
        return f"{name}: not an answer pad.js may give: {answer}"
    answer["server_digits"] = len(analysis.digits)
    return None


def test_pad_js_reads_single_digits_as_the_server_does(pad_page):
    page, errors = pad_page
    recorded = json.loads(STROKES.read_text(encoding="utf-8"))
    drawings = recorded["drawings"]
    started = time.perf_counter()
    answers = page.evaluate(READ_ALL, {"drawings": drawings, "params": pad_parameters(), "size": recorded["pad"]})
    assert not errors, errors
    problems = [problem for drawing, answer in zip(drawings, answers) if (problem := _check(drawing, answer))]
    assert not problems, "\n".join(problems)

    tally = Counter((drawing["category"], answer["kind"]) for drawing, answer in zip(drawings, answers))
    differences = [answer["difference"] for answer in answers if "difference" in answer]
    print(f"\npad.js vs analyze over {len(drawings)} drawings in {time.perf_counter() - started:.1f} s; "
          f"max |difference| {max(differences, default=0):.2e}; page time per drawing "
          f"{np.mean([answer['ms'] for answer in answers]):.1f} ms (max {max(a['ms'] for a in answers):.0f})")
    for category in dict.fromkeys(drawing["category"] for drawing in drawings):
        print(f"  {category:8} " + ", ".join(f"{kind} {tally[category, kind]}" for kind in ("digit", "blank", "server")))
    for drawing, answer in zip(drawings, answers):
        if answer["kind"] == "server":
            print(f"  handed off: {drawing['name']!r} ({drawing['category']}, server read "
                  f"{answer['server_digits']}): {answer['reason']}")

    singles = [answer for drawing, answer in zip(drawings, answers) if drawing["category"] in SINGLE_DIGITS]
    answered = sum(answer["kind"] == "digit" for answer in singles)
    assert answered >= MIN_ANSWERED * len(singles), f"only {answered} of {len(singles)} single digits read in the page"
    several = [drawing["name"] for drawing, answer in zip(drawings, answers)
               if drawing["category"] == "multi" and answer["kind"] != "server"]
    assert not several, f"numbers of several digits answered in the page: {several}"
    # The recorded drawings keep exercising both ways of finding no digit.
    notes = {answer["note"] for answer in answers if answer["kind"] == "blank"}
    assert notes == {"no ink found", "no digit-like marks found"}, notes
