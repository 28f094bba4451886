"""A drawn digit read in the browser against the server round trip, side by side in Chromium.

Usage:

    .venv/bin/python benchmarks/browser_latency.py                 # writes benchmarks/RESULTS-browser.md
    .venv/bin/python benchmarks/browser_latency.py --rounds 2 --no-write

Starts `digitlab serve` on a free loopback port and opens the page in Debian's
Chromium (Playwright). Inside the page, for each recorded single-digit drawing
of tests/data/pad_strokes.json (painted as the pad exports it, 200×200), it
times both ways the page can read it, alternating which goes first:

- in the browser: pad.js's preprocessing and the model on onnxruntime-web
  (browser-reader.js, exactly what the page runs), from the canvas's pixels to
  the answer;
- on the server: the canvas encoded as PNG, `POST api/predict` over loopback,
  the JSON answer (the server's decode, pipeline and model included).

The table gives the median and 95th percentile per drawing over all rounds,
the spread of the round medians, and how many drawings the browser handed to
the server (more than one piece, a case pad.js does not reproduce, an unclear
digit). The server is on the same machine, so its figure is the best case of a
round trip: a real network adds its own latency on top.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from common import ROOT, finish, machine_line

CHROMIUM = os.environ.get("DIGITLAB_CHROMIUM", "/usr/bin/chromium")
DRAWINGS = ROOT / "tests" / "data" / "pad_strokes.json"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

# Runs in the page: both readers over every drawing, `rounds` times, alternating the order.
MEASURE = """
async ([drawings, rounds]) => {
  const { loadBrowserReader } = await import("./static/browser-reader.js");
  const { paintStrokes } = await import("./static/pad.js");
  const reader = await loadBrowserReader();
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 200;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const timings = { browser: [], server: [] }, roundMedians = { browser: [], server: [] };
  let handOffs = 0, agree = 0, compared = 0;
  const median = (values) => { const s = [...values].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  for (let round = 0; round < rounds; round += 1) {
    const thisRound = { browser: [], server: [] };
    for (const [index, strokes] of drawings.entries()) {
      paintStrokes(context, strokes, 200, 200, "#000000");
      const order = (round + index) % 2 === 0 ? ["browser", "server"] : ["server", "browser"];
      const answers = {};
      for (const where of order) {
        const started = performance.now();
        if (where === "browser") {
          const pixels = context.getImageData(0, 0, 200, 200);
          const { result, handOff } = await reader.read(pixels.data, 200, 200);
          if (handOff) handOffs += round === 0 ? 1 : 0;
          answers.browser = handOff ? null : result.prediction;
        } else {
          const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
          const form = new FormData();
          form.append("file", blob, "drawing.png");
          const response = await fetch("api/predict", { method: "POST", body: form });
          answers.server = (await response.json()).prediction;
        }
        const elapsed = performance.now() - started;
        timings[where].push(elapsed);
        thisRound[where].push(elapsed);
      }
      if (round === 0 && answers.browser !== null) { compared += 1; agree += answers.browser === answers.server; }
    }
    for (const where of ["browser", "server"]) roundMedians[where].push(median(thisRound[where]));
  }
  return { timings, roundMedians, handOffs, agree, compared };
}
"""


def single_digit_drawings() -> list:
    """The recorded drawings of one digit each (the browser's scope), as stroke lists."""
    recorded = json.loads(DRAWINGS.read_text())["drawings"]
    # "single": digits in one or more strokes; "pieces": digits drawn in separate pieces (a 4 with a gap...).
    return [item["strokes"] for item in recorded if item["category"] in ("single", "pieces")]


def start_server(log_path: Path) -> tuple[subprocess.Popen, str]:
    """`digitlab serve` on a free port; returns once its application has started (its own log line)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "digitlab", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    started = threading.Event()

    def watch() -> None:
        with log_path.open("w") as log:
            for line in process.stdout:
                log.write(line)
                if "Application startup complete." in line:
                    started.set()
        started.set()

    threading.Thread(target=watch, daemon=True).start()
    if not started.wait(120) or process.poll() is not None:
        raise SystemExit(f"digitlab serve did not start:\n{log_path.read_text()}")
    return process, f"http://127.0.0.1:{port}/"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the drawings (default 5)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-browser.md")
    parser.add_argument("--no-write", action="store_true", help="print the report; write no results file")
    args = parser.parse_args()
    drawings = single_digit_drawings()
    with tempfile.TemporaryDirectory() as temporary:
        process, url = start_server(Path(temporary) / "serve.log")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url)
                page.get_by_test_id("mode-browser").wait_for(state="visible")
                page.wait_for_function("!document.querySelector('[data-testid=mode-browser]').disabled",
                                       timeout=60_000)
                measured = page.evaluate(MEASURE, [drawings, args.rounds])
                version = browser.version
                browser.close()
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    lines = [
        "# A drawn digit: read in the browser against the server round trip",
        "",
        f"- {machine_line()} · Chromium {version}",
        f"- Command: `python benchmarks/browser_latency.py --rounds {args.rounds}`",
        f"- Drawings: the {len(drawings)} single-digit drawings of `tests/data/pad_strokes.json`, 200×200 as the "
        "pad exports them; each read both ways in every round, the order alternating.",
        "- In the browser: `pad.js` + the server's default model on onnxruntime-web 1.30 (WebAssembly, one "
        "thread), from the canvas's pixels to the answer. On the server: PNG encoding, `POST api/predict` over "
        "loopback, the answer. Times in milliseconds per drawing, measured in the page with `performance.now()`.",
        "",
        "| read | median | 95th percentile | round medians (min–max) |",
        "|---|---:|---:|---|",
    ]
    for where, label in (("browser", "in the browser"), ("server", "on the server (loopback)")):
        values = measured["timings"][where]
        rounds = measured["roundMedians"][where]
        lines.append(f"| {label} | {statistics.median(values):.1f} | {percentile(values, 95):.1f} | "
                     f"{min(rounds):.1f}–{max(rounds):.1f} |")
    ratio = statistics.median(measured["timings"]["server"]) / statistics.median(measured["timings"]["browser"])
    lines += [
        "",
        f"- The server round trip takes {ratio:.1f}× the in-browser reading (medians), on loopback.",
        f"- Handed to the server by the browser: {measured['handOffs']} of {len(drawings)} drawings. "
        f"Of the {measured['compared']} the browser read, {measured['agree']} gave the server's answer.",
    ]
    return finish(lines, args.out, args.no_write)


if __name__ == "__main__":
    raise SystemExit(main())
