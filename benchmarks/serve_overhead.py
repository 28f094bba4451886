"""How much of /api/predict's cost is HTTP: the real server beside one whose image reading costs nothing.

Usage:

    .venv/bin/python benchmarks/serve_overhead.py [--clients 32] [--seconds 5] [--rounds 3] [--out benchmarks/RESULTS-serve-overhead.md]

Starts two servers on loopback, one after the other, each `digitlab serve`'s own
app (same routes, upload checks, multipart parsing, JSON answers, one uvicorn
worker, the default model):

  - as shipped;
  - "HTTP only": the model's batcher answers every image with the result it
    computed once for the benchmark's drawing at start-up, so no request
    decodes, preprocesses or runs the model.

Both get the same closed-loop clients as benchmarks/load.py (the drawing's
multipart POST, and GET /api/health). The HTTP-only server's predict
throughput is the most any image reading could reach in this stack; the budget
line says how much CPU time per request the issue's 40 % goal leaves for
reading the image, beside what reading costs (load.py's in-process figures).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from common import machine_line
from load import PREPROCESSING, cost_per_image, drawing_png, endpoint_requests, free_port, run_step, start_serving
from digitlab.formats import write_text_atomic  # a killed benchmark leaves the previous file, never half of one

GOAL_SHARE = 0.40


def serve_http_only(port: int) -> None:
    """The real app, whose batcher returns a precomputed answer (run in a child process)."""
    import uvicorn

    from digitlab.serve import ServeSettings, create_app
    from digitlab.serve.models import ModelPool

    settings = ServeSettings()
    pool = ModelPool(settings)
    served = pool.load_default()
    answer = served.recognizer.read(drawing_png())

    async def submit(image):
        return answer

    served.batcher.submit = submit
    uvicorn.run(create_app(settings, pool), host="127.0.0.1", port=port, log_level="warning")


async def measure(port: int, clients: int, seconds: float) -> dict[str, object]:
    return {endpoint: await run_step("127.0.0.1", port, endpoint, request, clients, seconds, 50_000, 1.0)
            for endpoint, request in endpoint_requests("127.0.0.1", port).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the two servers, alternating")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS-serve-overhead.md"))
    parser.add_argument("--serve-http-only", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_http_only:
        serve_http_only(args.serve_http_only)
        return

    servers = {
        "as shipped": lambda port: [sys.executable, "-m", "digitlab", "serve", "--port", str(port)],
        "HTTP only": lambda port: [sys.executable, __file__, "--serve-http-only", str(port)],
    }
    # The servers alternate, round after round (this machine's speed drifts); each figure is the round
    # with the median predict throughput.
    rounds: dict[str, list[dict]] = {name: [] for name in servers}
    for _ in range(args.rounds):
        for name, command in servers.items():
            port = free_port()
            process = start_serving(command(port), port)
            try:
                rounds[name].append(asyncio.run(measure(port, args.clients, args.seconds)))
            finally:
                process.terminate()
                process.wait(timeout=30)
            for endpoint, step in rounds[name][-1].items():
                print(f"{name:<11} {endpoint:<13} {step.throughput:8,.0f} req/s  p99 {step.percentile(99):6.1f} ms  "
                      f"errors {step.errors}", flush=True)
    results = {name: sorted(runs, key=lambda steps: steps["/api/predict"].throughput)[len(runs) // 2]
               for name, runs in rounds.items()}
    costs = cost_per_image(drawing_png(), None, "runs")

    lines = [
        "# /api/predict: the server as shipped beside one whose image reading costs nothing",
        "",
        f"Date: {machine_line()}; the load generator shares the cores with the server.",
        "",
        "Reproduce: `.venv/bin/python benchmarks/serve_overhead.py`",
        "",
        f"{args.clients} clients, each one keep-alive connection in a closed loop, {args.seconds:g} s per step after "
        f"1 s of warm-up; one uvicorn worker, the default model; {args.rounds} rounds, the two servers alternating, "
        "each row from the server's round with the median predict throughput. \"HTTP only\": the same app, whose batcher answers "
        "with a result computed once at start-up (no decoding, preprocessing or model call per request).",
        "",
        "| server | endpoint | req/s | p50 ms | p99 ms | errors | predict ÷ health |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, steps in results.items():
        health, predict = steps["/api/health"], steps["/api/predict"]
        for endpoint, step in steps.items():
            share = f"{predict.throughput / health.throughput:.0%}" if endpoint == "/api/predict" else ""
            lines.append(f"| {name} | `{endpoint}` | {step.throughput:,.0f} | {step.percentile(50):.1f} | "
                         f"{step.percentile(99):.1f} | {step.errors} | {share} |")
    http_only = results["HTTP only"]
    health_rate = http_only["/api/health"].throughput
    goal_ms = 1000 / (GOAL_SHARE * health_rate)
    http_ms = 1000 / http_only["/api/predict"].throughput
    model_per_digit = costs["model call, 32 digits"] / 32
    lines += [
        "",
        "## The budget",
        "",
        f"- {GOAL_SHARE:.0%} of health's {health_rate:,.0f} req/s is {GOAL_SHARE * health_rate:,.0f} req/s: "
        f"{goal_ms:.2f} ms of the server's time per predict request.",
        f"- HTTP, the upload and the JSON answer alone take {http_ms:.2f} ms per request (the HTTP-only server's "
        "rate), " + (f"which leaves {goal_ms - http_ms:.2f} ms for reading the image." if goal_ms > http_ms else
                     "already more than that: no time is left for reading the image."),
        f"- Reading it costs, measured in-process (CPU ms, best of 5 rounds): {costs[PREPROCESSING]:.2f} ms to "
        f"decode and preprocess the drawing, and {model_per_digit:.2f} ms per digit for the model in a batch of 32.",
        "",
    ]
    write_text_atomic(args.out, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
