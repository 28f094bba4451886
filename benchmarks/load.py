"""Load test of `digitlab serve`: /api/predict beside /api/health at 1, 8 and 32 concurrent clients.

Usage:

    .venv/bin/python benchmarks/load.py                       # starts its own server, writes RESULTS-serve.md
    .venv/bin/python benchmarks/load.py --model mlp --seconds 5 --clients 1 8 32
    .venv/bin/python benchmarks/load.py --url http://127.0.0.1:8000 --no-write   # a server already running
    .venv/bin/python benchmarks/load.py --workers 2 --out benchmarks/RESULTS-serve-2-workers.md

Loopback only: the target must be 127.0.0.0/8 or localhost. Every run is bounded
in time (--seconds per step) and in requests (--max-requests per step), and
stops by itself; the server it started is stopped with SIGINT at the end.

Each client is one keep-alive HTTP/1.1 connection sending its next request as
soon as the previous answer is in (a closed loop). The client is lean (asyncio
streams, h11 to parse answers) because it shares the machine's cores with the
server, and it is the same client for both endpoints, so the comparison is fair.
The request: a multipart POST of the PNG the web page sends for a drawing (its
size read from app.js), with an MNIST test digit as the ink.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import h11

import common  # noqa: F401  (measures the clone's models/: it sets DIGITLAB_MODELS_DIR)
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS-serve.md"
PREPROCESSING = "preprocessing (vision.analyze) of the drawing"
LOOPBACK = ("localhost", "::1")


@dataclass
class Step:
    endpoint: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def page_export_size() -> int:
    """The size of the PNG the web page sends for a drawing (EXPORT_SIZE in app.js)."""
    script = (ROOT / "src" / "digitlab" / "serve" / "static" / "app.js").read_text(encoding="utf-8")
    return int(re.search(r"const EXPORT_SIZE = (\d+);", script).group(1))


def drawing_png(size: int | None = None) -> bytes:
    """What the web page sends for a drawing: a square RGBA PNG, dark ink on a transparent canvas.

    The ink is an MNIST test digit (a 7) drawn to fill the pad; `size`
    defaults to the page's own export size.
    """
    from digitlab.data import load_mnist
    from digitlab.synth import render_mnist_drawing

    (_, _), (x_test, y_test) = load_mnist()
    return render_mnist_drawing(x_test[int((y_test == 7).nonzero()[0][0])], size or page_export_size())


def build_request(host: str, port: int, method: str, path: str, body: bytes = b"", content_type: str = "") -> bytes:
    headers = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    if method == "POST":
        headers += [f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def multipart(field: str, filename: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = "digitlab-load-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def client_loop(host: str, port: int, request: bytes, stop_at: float, budget: list[int],
                      latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            connection = h11.Connection(h11.CLIENT)
            started = time.perf_counter()
            writer.write(request)
            status = 0
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    if not data:
                        raise ConnectionError("server closed the connection")
                    connection.receive_data(data)
                    continue
                if isinstance(event, h11.Response):
                    status = event.status_code
                if isinstance(event, h11.EndOfMessage):
                    break
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors[0] += 1
    except (ConnectionError, OSError, h11.RemoteProtocolError):
        errors[0] += 1
    finally:
        writer.close()


async def run_step(host: str, port: int, endpoint: str, request: bytes, clients: int, seconds: float,
                   max_requests: int, warmup: float) -> Step:
    # Warm-up: the same load, not measured (connections, caches, the model's first batches).
    await asyncio.gather(*(client_loop(host, port, request, time.perf_counter() + warmup, [10**9], [], [0])
                           for _ in range(clients)))
    latencies: list[float] = []
    errors = [0]
    budget = [max_requests]
    started = time.perf_counter()
    await asyncio.gather(*(client_loop(host, port, request, started + seconds, budget, latencies, errors)
                           for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return Step(endpoint, clients, len(latencies), errors[0], elapsed, latencies)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int, model: str | None, runs_dir: str, workers: int = 1) -> subprocess.Popen:
    command = [sys.executable, "-m", "digitlab", "serve", "--port", str(port), "--runs-dir", runs_dir,
               "--workers", str(workers)]
    if model:
        command += ["--model", model]
    return start_serving(command, port)


def start_serving(command: list[str], port: int, log=None) -> subprocess.Popen:
    """Start a server process and return it once /api/health answers on the port (at most 120 s).

    Its output goes to `log` (an open text file; a temporary file by default):
    a pipe nobody reads would fill up with access-log lines and stall the server.
    """
    log = log if log is not None else tempfile.TemporaryFile("w+")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a benchmark, not a test: asking /api/health until it answers is fine
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"the server exited with status {process.returncode} before it served:\n"
                             f"{log.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the server did not answer within 120 s")


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def cost_per_image(png: bytes, model: str | None, runs_dir: str, repeats: int = 100) -> dict[str, float]:
    """CPU milliseconds per call of the CPU-bound parts, measured in this process: the ceiling of one model thread.

    CPU time (time.process_time), not wall time: the machine's cores may be
    shared, and CPU time is what caps throughput. The best of 5 rounds.
    """
    import numpy as np

    from digitlab.recognize import Recognizer
    from digitlab.vision.pipeline import analyze

    recognizer = Recognizer(model=model, runs_dir=runs_dir)
    analysis = analyze(png)
    batch = np.stack([crop.model_input for crop in analysis.digits])
    timings = {}
    for name, work in ((PREPROCESSING, lambda: analyze(png)),
                       ("preprocessing, the same drawing read the way a photo is",
                        lambda: analyze(png, drawing_max_side=None)),
                       ("model call, 1 digit", lambda: recognizer._probabilities(batch)),
                       ("model call, 32 digits", lambda: recognizer._probabilities(np.repeat(batch, 32, axis=0)))):
        work()
        best = float("inf")
        for _ in range(5):
            started = time.process_time()
            for _ in range(repeats // 5):
                work()
            best = min(best, (time.process_time() - started) / (repeats // 5) * 1000)
        timings[name] = best
    return timings


def write_results(steps: list[Step], command: str, server_info: dict, batching: dict, load_before: float,
                  costs: dict[str, float], workers: int = 1, out: Path = RESULTS) -> None:
    by_key = {(step.endpoint, step.clients): step for step in steps}
    lines = [
        "# digitlab serve — load test",
        "",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine()}; the load generator runs on the same cores as the server.",
        f"- Load average (1 min) just before the run: {load_before:.1f} (other work on the machine takes cores too).",
        f"- Command: `{command}`",
        f"- Server: `digitlab serve` (uvicorn, {workers} worker process{'es' if workers > 1 else ''}), "
        f"model `{server_info.get('model')}` on {server_info.get('runtime', 'keras')}, dynamic batching on.",
        f"- Request: `POST /api/predict` with what the web page sends for a drawing: a {page_export_size()}×"
        f"{page_export_size()} RGBA PNG of one MNIST digit (multipart, {len(drawing_png()):,} bytes), vs `GET /api/health`.",
        "- Each client is one keep-alive connection in a closed loop; warm-up excluded.",
        "",
        "| clients | endpoint | req/s | p50 ms | p99 ms | errors | requests |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for step in steps:
        lines.append(
            f"| {step.clients} | `{step.endpoint}` | {step.throughput:,.0f} | {step.percentile(50):.1f} | "
            f"{step.percentile(99):.1f} | {step.errors} | {step.requests:,} |"
        )
    lines += ["", "Predict throughput as a share of health's, at the same concurrency:", ""]
    for clients in sorted({step.clients for step in steps}):
        predict, health = by_key.get(("/api/predict", clients)), by_key.get(("/api/health", clients))
        if predict and health and health.throughput:
            lines.append(f"- {clients} clients: {predict.throughput / health.throughput:.0%}")
    if batching:
        lines += ["", "Dynamic batching during the run, warm-ups included (model calls vs images): "
                  + ", ".join(f"{name}: {value['images']:,} images in {value['calls']:,} calls "
                              f"(mean batch {value['images'] / max(value['calls'], 1):.1f})"
                              for name, value in batching.items())]
    if costs:
        lines += ["", "Where a predict request's CPU time goes (measured in-process, CPU ms per call, best of 5 rounds):", ""]
        lines += [f"- {name}: {value:.2f} ms" for name, value in costs.items()]
        preprocessing = costs.get(PREPROCESSING, 0.0)
        if preprocessing:
            lines += ["", f"Preprocessing alone caps one model thread at about {1000 / preprocessing:,.0f} images/s; "
                      "batching removes the per-call model overhead but not this."]
    write_text_atomic(out, "\n".join(lines) + "\n")
    print(f"wrote {out}")


def endpoint_requests(host: str, port: int) -> dict[str, bytes]:
    """The two requests compared: GET /api/health, and POST /api/predict with the page's drawing."""
    body, content_type = multipart("file", "drawing.png", drawing_png(), "image/png")
    return {
        "/api/health": build_request(host, port, "GET", "/api/health"),
        "/api/predict": build_request(host, port, "POST", "/api/predict", body, content_type),
    }


async def main_async(args: argparse.Namespace) -> list[Step]:
    target = urlsplit(args.url)
    host, port = target.hostname, target.port or 80
    requests = endpoint_requests(host, port)
    steps = []
    for clients in args.clients:
        for endpoint in ("/api/health", "/api/predict"):
            step = await run_step(host, port, endpoint, requests[endpoint], clients, args.seconds,
                                  args.max_requests, args.warmup)
            steps.append(step)
            print(f"{clients:>3} clients  {endpoint:<14} {step.throughput:8,.0f} req/s  "
                  f"p50 {step.percentile(50):6.1f} ms  p99 {step.percentile(99):6.1f} ms  errors {step.errors}",
                  flush=True)
    return steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server on loopback (default: start one)")
    parser.add_argument("--model", help="model for the started server (default: the server's default)")
    parser.add_argument("--workers", type=int, default=1, help="server processes for the started server")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per step (max 60)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured warm-up per step (max 10)")
    parser.add_argument("--max-requests", type=int, default=50_000, help="requests per step at most")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="where to write the results (default: benchmarks/RESULTS-serve.md)")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 0.5), 60.0)
    args.warmup = min(max(args.warmup, 0.0), 10.0)
    args.clients = [min(max(clients, 1), 256) for clients in args.clients]

    load_before = os.getloadavg()[0]
    process = None
    if args.url:
        host = urlsplit(args.url).hostname or ""
        if not (host.startswith("127.") or host in LOOPBACK):
            parser.error("load tests run against this machine only: use a 127.0.0.0/8 or localhost URL.")
    else:
        port = free_port()
        process = start_server(port, args.model, args.runs_dir, args.workers)
        args.url = f"http://127.0.0.1:{port}"
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        steps = asyncio.run(main_async(args))
        with urllib.request.urlopen(f"{args.url}/api/health", timeout=5) as response:
            info = json.load(response)
    finally:
        if process is not None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=30)
    if not args.no_write:
        command = "python benchmarks/load.py " + " ".join(sys.argv[1:])
        costs = cost_per_image(drawing_png(), args.model, args.runs_dir)
        write_results(steps, command.strip(), info, info.get("batching", {}), load_before, costs, args.workers,
                      args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
