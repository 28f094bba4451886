"""Soak test of `digitlab serve`: minutes of mixed traffic from many clients; errors, latency and the server's memory.

Usage:

    .venv/bin/python benchmarks/soak.py                              # 5 minutes, 32 clients; writes RESULTS-soak.md
    .venv/bin/python benchmarks/soak.py --seconds 30 --no-write      # a quick look, nothing written

Starts its own `digitlab serve` on loopback (the clone's models, as every
benchmark here; default logging, into a temporary file), warms it up with the
same traffic, then runs `--clients` closed-loop clients for `--seconds`. Each
client keeps one keep-alive connection (a new one after the server closes it)
and picks its next request at random (seeded per client) from four kinds:

- drawing: `POST /api/predict/pixels`, an MNIST test digit as 28×28 numbers;
- photo: `POST /api/predict`, a synthetic photo of a handwritten number (digitlab.synth, JPEG);
- batch: `POST /api/predict/batch`, eight photos and one text file (which gets its own 415 inside a 200);
- bad: one of the hostile or broken requests in BAD_REQUESTS, each with the 4xx it must get.

An error is a 5xx, a connection error or time-out, any status other than the
expected one, or an answer whose body is not the documented JSON. The server's
resident memory (VmRSS) is read from /proc after the warm-up, every few seconds,
and at the end; then the server gets SIGTERM and must exit 0 with no traceback.
Goals (the reliability issue): 0 errors, RSS growth < 10 %. Loopback only, and
bounded in time: the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import h11
import numpy as np
from PIL import Image

from common import ROOT
from load import free_port, machine, start_serving

from digitlab.data import load_mnist
from digitlab.formats import write_text_atomic
from digitlab.synth import TEST_SEEDS, render_photo

RESULTS = ROOT / "benchmarks" / "RESULTS-soak.md"
KINDS = ("drawing", "photo", "batch", "bad")
WEIGHTS = (45, 30, 5, 20)
BOUNDARY = "digitlab-soak"


@dataclass
class Request:
    kind: str
    name: str
    raw: bytes
    expected: int
    keys: tuple[str, ...] = ("detail",)  # what a JSON answer must hold


def http_request(method: str, path: str, body: bytes = b"", content_type: str = "",
                 content_length: int | None = None) -> bytes:
    headers = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if method == "POST":
        headers += [f"Content-Type: {content_type}", f"Content-Length: {len(body) if content_length is None else content_length}"]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def multipart(parts: list[tuple[str, str, bytes, str]]) -> tuple[bytes, str]:
    """(field, filename, data, content type) parts as one multipart/form-data body, and its Content-Type."""
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
        for name, filename, data, content_type in parts
    ) + f"--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def upload(path: str, parts: list[tuple[str, str, bytes, str]]) -> bytes:
    return http_request("POST", path, *multipart(parts))


def pixels_request(payload: str | bytes) -> bytes:
    body = payload.encode() if isinstance(payload, str) else payload
    return http_request("POST", "/api/predict/pixels", body, "application/json")


def build_requests(photo_count: int = 24) -> dict[str, list[Request]]:
    """Every request the clients send, built once (the same bytes every time they are picked)."""
    (_, _), (x_test, y_test) = load_mnist()
    drawings = [Request("drawing", f"digit {y_test[index]}",
                        pixels_request(json.dumps({"pixels": x_test[index].tolist()})), 200,
                        ("prediction", "digits", "model")) for index in range(32)]
    photos = [render_photo(seed).jpeg for seed in TEST_SEEDS[:photo_count]]
    photo_requests = [Request("photo", f"photo {index}", upload("/api/predict", [("file", f"{index}.jpg", jpeg, "image/jpeg")]),
                              200, ("prediction", "digits", "model")) for index, jpeg in enumerate(photos)]
    batches = []
    for start in range(0, photo_count, 8):
        parts = [("files", f"{index}.jpg", photos[index], "image/jpeg") for index in range(start, start + 8)]
        parts.insert(3, ("files", "notes.txt", b"not an image\n", "text/plain"))
        batches.append(Request("batch", f"batch of 9 from photo {start}", upload("/api/predict/batch", parts), 200,
                               ("model", "results")))
    return {"drawing": drawings, "photo": photo_requests, "batch": batches, "bad": bad_requests(photos[0])}


def bad_requests(jpeg: bytes) -> list[Request]:
    """Hostile or broken requests, each with the status it must get."""
    rows_27 = json.dumps({"pixels": [[0] * 28] * 27})
    nan = json.dumps({"pixels": [[0] * 28] * 27 + [[0] * 27 + [float("nan")]]})
    bomb = io.BytesIO()
    Image.new("1", (10_000, 5_000), 1).save(bomb, format="PNG", optimize=True)  # 50 million pixels, a tiny file
    too_many = [("files", f"{index}.png", b"x", "image/png") for index in range(65)]
    cases = [
        ("text file as image", upload("/api/predict", [("file", "notes.txt", b"just text\n", "text/plain")]), 415),
        ("empty file", upload("/api/predict", [("file", "empty.png", b"", "image/png")]), 422),
        ("truncated JPEG", upload("/api/predict", [("file", "cut.jpg", jpeg[: len(jpeg) // 3], "image/jpeg")]), 422),
        ("decompression bomb", upload("/api/predict", [("file", "bomb.png", bomb.getvalue(), "image/png")]), 413),
        ("missing file field", upload("/api/predict", [("image", "a.jpg", jpeg, "image/jpeg")]), 422),
        ("broken multipart", http_request("POST", "/api/predict", b"--x\r\ngarbage",
                                          "multipart/form-data; boundary=x"), 422),
        ("unknown model", upload("/api/predict?model=no-such-model", [("file", "a.jpg", jpeg, "image/jpeg")]), 404),
        ("65 files in a batch", upload("/api/predict/batch", too_many), 413),
        ("declared 20 MB upload", http_request("POST", "/api/predict", b"", f"multipart/form-data; boundary={BOUNDARY}",
                                               content_length=20 * 1024 * 1024), 413),
        ("pixels: 27 rows", pixels_request(rows_27), 422),
        ("pixels: NaN", pixels_request(nan), 422),
        ("pixels: not JSON", pixels_request("{not json"), 422),
        ("pixels: not UTF-8", pixels_request(b"\xff\xfe\x00{"), 422),
        ("unknown path", http_request("GET", "/api/nothing-here"), 404),
        ("wrong method", http_request("GET", "/api/predict"), 405),
    ]
    return [Request("bad", name, raw, status) for name, raw, status in cases]


@dataclass
class Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    error_examples: dict[str, int] = field(default_factory=dict)

    def error(self, request: Request, what: str) -> None:
        self.errors[request.kind] += 1
        key = f"{request.kind} / {request.name}: {what}"
        self.error_examples[key] = self.error_examples.get(key, 0) + 1


def judge(request: Request, status: int, body: bytes) -> str | None:
    """None if the answer is the one expected, else what is wrong with it."""
    if status != request.expected:
        return f"status {status}, expected {request.expected}: {body[:120]!r}"
    try:
        answer = json.loads(body)
    except ValueError:
        return f"status {status} with a body that is not JSON: {body[:120]!r}"
    missing = [key for key in request.keys if key not in answer]
    return f"status {status} without {', '.join(missing)}" if missing else None


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> tuple[int, bytes, bool]:
    """Send one request; its status, body, and whether the server closes the connection after it."""
    writer.write(raw)
    await writer.drain()
    connection = h11.Connection(h11.CLIENT)
    status, body, closes = 0, bytearray(), False
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(65536))
        elif isinstance(event, h11.Response):
            status = event.status_code
            closes = any(name == b"connection" and b"close" in value.lower() for name, value in event.headers)
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, bytes(body), closes
        elif isinstance(event, h11.ConnectionClosed):
            raise ConnectionError("the server closed the connection mid-answer")


async def client_loop(seed: int, port: int, requests: dict[str, list[Request]], stop_at: float, tally: Tally,
                      timeout: float) -> None:
    rng = random.Random(seed)
    reader = writer = None
    while time.perf_counter() < stop_at:
        request = rng.choice(requests[rng.choices(KINDS, WEIGHTS)[0]])
        started = time.perf_counter()
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, body, closes = await asyncio.wait_for(exchange(reader, writer, request.raw), timeout)
        except (OSError, asyncio.TimeoutError, h11.ProtocolError) as error:
            tally.error(request, f"{type(error).__name__}: {error}")
            if writer is not None:
                writer.close()
            writer = None
            continue
        tally.latencies_ms[request.kind].append((time.perf_counter() - started) * 1000)
        problem = judge(request, status, body)
        if problem:
            tally.error(request, problem)
        if closes:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


async def run_traffic(port: int, requests: dict[str, list[Request]], clients: int, seconds: float, pid: int,
                      rss_every: float, timeout: float, seed: int) -> tuple[Tally, list[tuple[float, float]]]:
    """The clients for `seconds`, and (second, RSS MB) samples of the server from the start to the end."""
    tally = Tally()
    started = time.perf_counter()
    stop_at = started + seconds
    samples = [(0.0, rss_mb(pid))]
    loops = asyncio.gather(*(client_loop(seed + index, port, requests, stop_at, tally, timeout)
                             for index in range(clients)))
    while not loops.done():
        await asyncio.wait([loops], timeout=rss_every)
        samples.append((time.perf_counter() - started, rss_mb(pid)))
    await loops
    return tally, samples


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def start_server(port: int, model: str | None, runs_dir: str, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "digitlab", "serve", "--port", str(port), "--runs-dir", runs_dir]
    command += ["--model", model] if model else []
    return start_serving(command, port, log)


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as response:
        return json.load(response)


def report(args: argparse.Namespace, tally: Tally, samples: list[tuple[float, float]], info: dict,
           server_log: str, exit_status: int, load: tuple[float, float], requests: dict[str, list[Request]]) -> str:
    answered = sum(len(values) for values in tally.latencies_ms.values())
    errors = sum(tally.errors.values())
    rss_start, rss_end = samples[0][1], samples[-1][1]
    growth = (rss_end - rss_start) / rss_start
    tracebacks = server_log.count("Traceback")
    server_errors = len(re.findall(r'HTTP/1\.1" 5\d\d', server_log))
    mark = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    command = "python benchmarks/soak.py " + " ".join(sys.argv[1:])
    lines = [
        "# digitlab serve — soak test",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}; the 2 cores are shared with other work, and the load generator runs on them too.",
        f"- Load average (1 min) before / after the run: {load[0]:.1f} / {load[1]:.1f}",
        f"- Command: `{command.strip()}`",
        f"- Server: `digitlab serve` (one uvicorn worker, default settings and logging), model `{info.get('model')}` on "
        f"{info.get('runtime')}; {args.warmup:g} s of the same traffic first, not counted.",
        f"- Traffic: {args.clients} clients, each one keep-alive connection in a closed loop, for {args.seconds:g} s; "
        "each request picked at random: " + ", ".join(f"{kind} {weight} %" for kind, weight in zip(KINDS, WEIGHTS)) + ".",
        "",
        "## Goals",
        "",
        "| goal | measured | |",
        "|---|---:|---|",
        f"| 0 errors | {errors:,} in {answered:,} answers | {mark(errors == 0)} |",
        f"| RSS growth < 10 % | {growth:+.1%} ({rss_start:.0f} → {rss_end:.0f} MB) | {mark(growth < 0.10)} |",
        "",
        "An error is a 5xx, a connection error or time-out, a status other than the expected one, or a body that is "
        "not the documented JSON.",
        "",
        "## Requests",
        "",
        "| kind | requests | errors | p50 ms | p99 ms | what |",
        "|---|---:|---:|---:|---:|---|",
    ]
    what = {
        "drawing": "`POST /api/predict/pixels`, an MNIST test digit as 28×28 numbers",
        "photo": "`POST /api/predict`, a synthetic photo of a handwritten number (JPEG, digitlab.synth)",
        "batch": "`POST /api/predict/batch`, 8 photos and a text file",
        "bad": f"{len(requests['bad'])} broken or hostile requests, each with its 4xx (below)",
    }
    for kind in KINDS:
        values = tally.latencies_ms[kind]
        lines.append(f"| {kind} | {len(values):,} | {tally.errors[kind]:,} | {percentile(values, 50):.1f} | "
                     f"{percentile(values, 99):.1f} | {what[kind]} |")
    lines.append(f"| all | {answered:,} | {errors:,} | {percentile(sum(tally.latencies_ms.values(), []), 50):.1f} | "
                 f"{percentile(sum(tally.latencies_ms.values(), []), 99):.1f} | {answered / args.seconds:,.0f} answers/s |")
    lines += ["", "The bad requests and the status each must get: "
              + "; ".join(f"{request.name} {request.expected}" for request in requests["bad"]) + ".", ""]
    lines += ["## Server memory (VmRSS)", "", "| s | RSS MB |", "|---:|---:|"]
    step = max(1, len(samples) // 10)
    shown = samples[:-1:step]  # about ten readings, then the one at the end
    lines += [f"| {second:.0f} | {rss:.0f} |" for second, rss in shown]
    lines.append(f"| {samples[-1][0]:.0f} (end) | {samples[-1][1]:.0f} |")
    span = min(60.0, samples[-1][0] / 2)  # the first and the last minute (halves of a shorter run)
    first = float(np.median([rss for second, rss in samples if second <= span]))
    last = float(np.median([rss for second, rss in samples if second >= samples[-1][0] - span]))
    lines += ["", f"Peak {max(rss for _, rss in samples):.0f} MB; RSS is read from /proc every {args.rss_every:g} s. "
              f"It swings with what is in flight, so single readings are noisy; the median of the first "
              f"{span:.0f} s is {first:.0f} MB, of the last {span:.0f} s {last:.0f} MB ({(last - first) / first:+.1%}).", ""]
    lines += ["## The server afterwards", "",
              f"- SIGTERM after the run: exit status {exit_status} (0 expected).",
              f"- Its log: {tracebacks} tracebacks, {server_errors} requests answered 5xx.",
              "- Dynamic batching, warm-up included: " + ", ".join(
                  f"{name}: {value['images']:,} images in {value['calls']:,} model calls"
                  for name, value in info.get("batching", {}).items()) + "."]
    if tally.error_examples:
        lines += ["", "## Errors", "", "| count | request: what went wrong |", "|---:|---|"]
        for key, count in sorted(tally.error_examples.items(), key=lambda item: -item[1])[:20]:
            lines.append(f"| {count:,} | {key.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="measured time (default 300, at most 3600)")
    parser.add_argument("--warmup", type=float, default=20.0, help="unmeasured traffic first (default 20 s)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32, at most 256)")
    parser.add_argument("--model", help="model for the server (default: the server's default)")
    parser.add_argument("--rss-every", type=float, default=5.0, help="seconds between RSS readings (default 5)")
    parser.add_argument("--timeout", type=float, default=60.0, help="a request unanswered this long is an error")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS, help="default: benchmarks/RESULTS-soak.md")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 3600.0)
    args.warmup = min(max(args.warmup, 0.0), 120.0)
    args.clients = min(max(args.clients, 1), 256)

    requests = build_requests()
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch, open(Path(scratch) / "serve.log", "w+") as log:
        process = start_server(port, args.model, str(Path(scratch) / "runs"), log)
        try:
            if args.warmup:
                asyncio.run(run_traffic(port, requests, args.clients, args.warmup, process.pid, args.warmup,
                                        args.timeout, seed=10_000 + args.seed))
            load_before = os.getloadavg()[0]
            print(f"warm; server RSS {rss_mb(process.pid):.0f} MB; {args.clients} clients for {args.seconds:g} s",
                  flush=True)
            tally, samples = asyncio.run(run_traffic(port, requests, args.clients, args.seconds, process.pid,
                                                     args.rss_every, args.timeout, seed=args.seed))
            load_after = os.getloadavg()[0]
            info = health(port)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                exit_status = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                exit_status = process.wait()
        log.seek(0)
        server_log = log.read()
    text = report(args, tally, samples, info, server_log, exit_status, (load_before, load_after), requests)
    print(text)
    if not args.no_write:
        write_text_atomic(args.out, text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
