"""HTTP/1.1 requests on raw sockets for tests: a body sent piece by piece, or trickled in by a slow client.

Usage:

    request = RawRequest(port, "POST", "/api/predict", content_type, content_length)
    request.wait_for_continue()      # "100 Continue": the app has the request and asks for its body
    request.send(body[:100])
    request.send(body[100:])         # the whole declared length: the request is complete
    status, headers, payload = request.response()
    assert request.closed_by_server()

    with Trickle([request_a, request_b], interval=0.25):   # one byte each per interval, as a slow client sends
        ...

The request says `Expect: 100-continue`, so the server answers "100 Continue" as
soon as the app first reads the body (uvicorn does so then): a test knows the
request is in the app's hands without sleeping. h11 frames the request and parses
the answers; every read waits at most `timeout` seconds, so a test fails rather
than hangs.
"""

from __future__ import annotations

import select
import socket
import threading

import h11


def multipart_preamble(boundary: str, field: str, filename: str, content_type: str) -> bytes:
    return (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode()


def multipart_body(field: str, filename: str, data: bytes, content_type: str = "image/png") -> tuple[bytes, str]:
    """A multipart/form-data body with one file, and its Content-Type header."""
    boundary = "digitlab-test-boundary"
    body = multipart_preamble(boundary, field, filename, content_type) + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class RawRequest:
    def __init__(self, port: int, method: str, path: str, content_type: str, content_length: int,
                 timeout: float = 30):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._connection = h11.Connection(h11.CLIENT)
        headers = [("Host", f"127.0.0.1:{port}"), ("Content-Type", content_type),
                   ("Content-Length", str(content_length)), ("Expect", "100-continue")]
        self.socket.sendall(self._connection.send(h11.Request(method=method, target=path, headers=headers)))
        self._sent = 0
        self._length = content_length

    def _next_event(self):
        while True:
            event = self._connection.next_event()
            if event is not h11.NEED_DATA:
                return event
            self._connection.receive_data(self.socket.recv(65536))  # b"" (closed) becomes ConnectionClosed

    def wait_for_continue(self) -> None:
        event = self._next_event()
        if not (isinstance(event, h11.InformationalResponse) and event.status_code == 100):
            raise AssertionError(f"expected 100 Continue, got {event!r}")

    def send(self, data: bytes) -> None:
        """Part of the body; the part that completes the declared length ends the request."""
        self.socket.sendall(self._connection.send(h11.Data(data=data)))
        self._sent += len(data)
        if self._sent == self._length:
            self.socket.sendall(self._connection.send(h11.EndOfMessage()))

    def answered(self) -> bool:
        """Whether anything of an answer (or the server closing) has arrived; does not wait."""
        readable, _, _ = select.select([self.socket], [], [], 0)
        return bool(readable)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers (lower-case names) and body of the final answer."""
        status, headers, body = 0, {}, b""
        while True:
            event = self._next_event()
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = {name.decode().lower(): value.decode() for name, value in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, body
            elif isinstance(event, h11.ConnectionClosed):
                raise AssertionError(f"the server closed the connection before a whole answer (status {status})")

    def closed_by_server(self) -> bool:
        """After response(): whether the server then closed the connection (waits at most the timeout)."""
        try:
            return isinstance(self._next_event(), h11.ConnectionClosed)
        except ConnectionResetError:  # closed with bytes of ours unread: the kernel says so with a reset
            return True

    def close(self) -> None:
        self.socket.close()


class Trickle:
    """A slow client: one byte of body on each request every `interval` seconds, until stopped or cut off."""

    def __init__(self, requests: list[RawRequest], interval: float, byte: bytes = b" "):
        self._sockets = [request.socket for request in requests]
        self._interval = interval
        self._byte = byte
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        # Straight onto the sockets, not through h11: the main thread reads the answers through it meanwhile.
        while self._sockets and not self._stop.wait(self._interval):
            for sock in list(self._sockets):
                try:
                    sock.send(self._byte)
                except OSError:  # the server answered and closed the connection
                    self._sockets.remove(sock)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
