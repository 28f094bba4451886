"""`digitlab serve` as a real process: slow clients are cut off, SIGTERM lets requests in flight finish.

Each test starts the server (tests/serve_process.py, ready when its log says so)
and talks to it over raw sockets (tests/raw_http.py), because both behaviours live
in the server process: uvicorn's connection handling and the app's middleware.
Nothing here sleeps or measures time; every wait is for an event with a deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import signal
import socket

import httpx2 as httpx
import pytest

from digitlab.serve.limits import BodyDeadline
from raw_http import RawRequest, Trickle, multipart_body, multipart_preamble
from serve_process import ServeProcess
from test_serve_api import NUMBER, mnist_test_set, number_image, serve_runs_dir  # noqa: F401  (shared fixtures)

BODY_TIMEOUT = 2  # seconds, set through --body-timeout; the default is 30
# More slow clients than the threads of the server's thread pool (anyio's default is 40): if each
# held a thread, the static file below (served through that pool) could not be answered.
SLOW_CLIENTS = 48
SLOW_LENGTH = 100_000  # declared, never all sent


def slow_request(port: int, index: int) -> RawRequest:
    """An upload (even index) or a pixels JSON body (odd) that begins well and then trickles."""
    if index % 2 == 0:
        boundary = "slow"
        request = RawRequest(port, "POST", "/api/predict", f"multipart/form-data; boundary={boundary}", SLOW_LENGTH)
        request.start = multipart_preamble(boundary, "file", "slow.png", "image/png")
    else:
        request = RawRequest(port, "POST", "/api/predict/pixels", "application/json", SLOW_LENGTH)
        request.start = b'{"pixels": ['
    return request


def test_a_trickling_body_is_cut_off_at_the_deadline_and_holds_no_worker(serve_runs_dir, number_image,
                                                                          mnist_test_set, tmp_path):  # noqa: F811
    server = ServeProcess(["--runs-dir", str(serve_runs_dir), "--body-timeout", str(BODY_TIMEOUT)],
                          tmp_path / "serve.log")
    slow = []
    try:
        # Connect them all first, then wait for each one's "100 Continue": its handler is reading its body.
        slow = [slow_request(server.port, index) for index in range(SLOW_CLIENTS)]
        for request in slow:
            request.wait_for_continue()
            request.send(request.start)
        # A byte every quarter second: never idle long, so only a deadline on the whole body stops them.
        with Trickle(slow, interval=0.25):
            with httpx.Client(base_url=server.url, timeout=30) as client:
                static = client.get("/static/app.js")  # Starlette serves files through its thread pool
                upload = client.post("/api/predict", files={"file": ("n.png", number_image, "image/png")})
                digits, labels = mnist_test_set
                pixels = client.post("/api/predict/pixels", json={"pixels": digits[0].tolist()})
            assert static.status_code == 200 and upload.status_code == 200 and pixels.status_code == 200
            assert upload.json()["prediction"] == NUMBER and pixels.json()["prediction"] == str(labels[0])
            assert not any(request.answered() for request in slow), (
                f"a slow client was answered before the other requests were, within its {BODY_TIMEOUT} s: "
                "the machine was too busy for this test to show they were served while the slow ones were held")
            for request in slow:
                status, headers, payload = request.response()
                assert status == 408, payload
                assert json.loads(payload) == {
                    "detail": f"The request body did not arrive within {BODY_TIMEOUT} s; "
                              "send it again over a faster connection."}
                assert headers["connection"] == "close" and request.closed_by_server()
    finally:
        for request in slow:
            request.close()
        status = server.stop(signal.SIGTERM, timeout=30)
    log_text = server.log_text()
    assert status == 0 and "Traceback" not in log_text, log_text
    assert log_text.count('" 408') == SLOW_CLIENTS, log_text


def test_sigterm_lets_a_request_in_flight_finish_and_exits_0(serve_runs_dir, number_image, tmp_path):  # noqa: F811
    server = ServeProcess(["--runs-dir", str(serve_runs_dir)], tmp_path / "serve.log")
    body, content_type = multipart_body("file", "n.png", number_image)
    request = RawRequest(server.port, "POST", "/api/predict", content_type, len(body))
    try:
        request.wait_for_continue()  # the app has the request: its handler is reading the body
        request.send(body[: len(body) // 2])
        server.process.send_signal(signal.SIGTERM)
        # uvicorn has stopped listening and waits for the open request.
        server.wait_for_output("Waiting for connections to close", timeout=30)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        request.send(body[len(body) // 2:])
        status, headers, payload = request.response()
        assert status == 200, payload
        assert json.loads(payload)["prediction"] == NUMBER
        assert headers["connection"] == "close" and request.closed_by_server()
    finally:
        request.close()
    exit_status = server.wait(timeout=30, after="of SIGTERM")
    log_text = server.log_text()
    assert exit_status == 0 and "Traceback" not in log_text, log_text
    assert '"POST /api/predict HTTP/1.1" 200' in log_text and "Application shutdown complete." in log_text, log_text


def test_the_deadline_answers_408_itself_when_nothing_in_the_app_does():
    """Below FastAPI (which hands the timeout to the app's error handler), the middleware answers on its own."""
    async def bare_app(scope, receive, send):
        await receive()

    async def silent_client():
        await asyncio.Event().wait()  # a body that never comes

    sent = []

    async def send(message):
        sent.append(message)

    # In a thread of its own: Playwright's sync API (test_browser.py's session browser) keeps
    # an event loop running in this one, and asyncio.run refuses to start a second.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, BodyDeadline(bare_app, seconds=0.01)({"type": "http", "headers": []},
                                                                   silent_client, send)).result(timeout=60)
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["detail"].startswith("The request body did not arrive within 0.01 s")
