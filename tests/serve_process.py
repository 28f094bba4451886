"""`digitlab serve` in a subprocess for tests, ready when its own log says so (no polling, no sleeps).

Usage:

    server = ServeProcess(["--runs-dir", str(runs_dir)], log_path)   # returns once it serves
    httpx.get(f"{server.url}/api/health")
    status = server.stop(signal.SIGINT, timeout=20)                  # exit status
    log_text = server.log_text()

    server.process.send_signal(signal.SIGTERM)                       # or step by step:
    server.wait_for_output("Waiting for connections to close", timeout=30)   # once the server logged it
    status = server.wait(timeout=30)

The server's output is read line by line as it comes and copied to log_path. It
is ready once uvicorn logged "Uvicorn running on" (the socket listens) and every
worker logged "Application startup complete." (its app, model included, is loaded).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

LISTENING = "Uvicorn running on"
STARTED = "Application startup complete."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServeProcess:
    def __init__(self, args: list[str], log_path: Path, workers: int = 1, deadline_seconds: float = 120):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._workers = workers
        self._listening = False
        self._started = 0
        self._ready = threading.Event()
        self._output: list[str] = []
        self._output_changed = threading.Condition()
        self._output_ended = False
        self.process = subprocess.Popen(
            [sys.executable, "-m", "digitlab", "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._copy_output, daemon=True)
        self._reader.start()
        # Set on readiness, or at the end of the output when the process died first.
        if self._ready.wait(deadline_seconds) and self._is_ready():
            return
        why = "exited before it was ready" if self._ready.is_set() else f"was not ready within {deadline_seconds:.0f} s"
        self.process.kill()
        self.process.wait()
        pytest.fail(f"digitlab serve {why}; its output:\n{self.log_text()}")

    def _is_ready(self) -> bool:
        return self._listening and self._started >= self._workers

    def _copy_output(self) -> None:
        with open(self.log_path, "wb") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                text = line.decode(errors="replace")
                with self._output_changed:
                    self._output.append(text)
                    self._output_changed.notify_all()
                self._listening |= LISTENING in text
                self._started += STARTED in text
                if self._is_ready():
                    self._ready.set()
        with self._output_changed:
            self._output_ended = True
            self._output_changed.notify_all()
        self._ready.set()

    def wait_for_output(self, text: str, timeout: float) -> str:
        """The first line of output containing text, once the server printed it; fail the test if it does not in time."""
        def found() -> str | None:
            return next((line for line in self._output if text in line), None)

        with self._output_changed:
            self._output_changed.wait_for(lambda: found() is not None or self._output_ended, timeout)
            line = found()
        if line is None:
            pytest.fail(f"digitlab serve did not print {text!r} within {timeout:.0f} s:\n{self.log_text()}")
        return line

    def stop(self, signal_number: int, timeout: float) -> int:
        """Send the signal and return the exit status; fail the test if it does not exit in time."""
        self.process.send_signal(signal_number)
        return self.wait(timeout, f"of signal {signal_number}")

    def wait(self, timeout: float, after: str = "") -> int:
        """The exit status; fail the test (and kill the server) if it does not exit within timeout."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"digitlab serve did not stop within {timeout:.0f} s {after}:\n{self.log_text()}")

    def log_text(self) -> str:
        """Everything the server printed (all of it once the process has exited)."""
        if self.process.poll() is not None:
            self._reader.join(timeout=30)  # the rest of the output: worker processes may still be writing
        return self.log_path.read_text(errors="replace")


class PrefixProxy:
    """A reverse proxy for tests: serves `upstream` under `prefix`, stripping it (as nginx's
    `location /digits/ { proxy_pass http://127.0.0.1:8000/; }` does); anything outside the prefix is 404.

        proxy = PrefixProxy("/digits", server.url)     # then open proxy.url + "/digits/"
        proxy.close()
    """

    def __init__(self, prefix: str, upstream: str):
        import http.client
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlsplit

        upstream_address = urlsplit(upstream).netloc
        hop_by_hop = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}
        self.requested: list[str] = []
        requested = self.requested

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                requested.append(self.path)
                if not self.path.startswith(prefix + "/"):
                    self.send_error(404, "outside the proxy's prefix")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name: value for name, value in self.headers.items() if name.lower() not in hop_by_hop}
                connection = http.client.HTTPConnection(upstream_address, timeout=60)
                connection.request(self.command, self.path[len(prefix):], body=body, headers=headers)
                answer = connection.getresponse()
                content = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in hop_by_hop:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                connection.close()

            do_GET = do_POST = _forward

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
