"""Limits on request bodies: their size (413) and the time they take to arrive (408).

Usage:

    app.add_middleware(BodySizeLimit, max_bytes=10 * 1024 * 1024)
    app.add_middleware(BodyDeadline, seconds=30)

BodySizeLimit: a declared Content-Length over the limit is refused before a byte
is read. The header is not trusted, though: a chunked body, or one longer than it
claimed, is counted as it arrives and the request fails with 413 as soon as the
count passes the limit, so the server never buffers more than the limit.

BodyDeadline: the whole body must arrive within `seconds` of the app first asking
for it, however steadily it trickles in (uvicorn has no such timeout: a client
sending a byte a second would otherwise hold its request open for as long as it
likes). A late body is answered 408 and the connection closed. Both are pure ASGI
middleware wrapping `receive`, and FastAPI reads a body (JSON or multipart) in
async code before the endpoint runs, so a slow client costs one waiting coroutine,
never a thread.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digitlab.serve.errors import error_response


def too_large_message(max_bytes: int) -> str:
    return f"The upload is larger than the limit of {max_bytes / (1024 * 1024):g} MB; send a smaller image."


def too_slow_message(seconds: float) -> str:
    return f"The request body did not arrive within {seconds:g} s; send it again over a faster connection."


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse({"detail": too_large_message(self.max_bytes)}, status_code=413)
            # Close the connection: the client may still be sending the body we refuse to read.
            response.headers["Connection"] = "close"
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises an HTTPException raised while it reads the
                    # body, so this reaches the app's JSON error handler as a 413.
                    raise HTTPException(413, too_large_message(self.max_bytes), headers={"Connection": "close"})
            return message

        await self.app(scope, counting_receive, send)


class BodyTimeout(HTTPException):
    """The body was not all there by the deadline: a 408 that closes the connection."""

    def __init__(self, seconds: float):
        super().__init__(408, too_slow_message(seconds), headers={"Connection": "close"})


class BodyDeadline:
    def __init__(self, app: ASGIApp, seconds: float):
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline: float | None = None  # set when the app first asks for the body
        body_complete = False
        response_started = False

        async def deadline_receive() -> Message:
            nonlocal deadline, body_complete
            if body_complete:
                # After the body, receive() only waits for the client to go away: no deadline.
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                # Like the 413 above, FastAPI re-raises it to the app's JSON error handler.
                raise BodyTimeout(self.seconds) from None
            body_complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            response_started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, deadline_receive, watching_send)
        except BodyTimeout as error:
            # Only code that reads the body outside FastAPI's request handling lets it through to here.
            if response_started:
                raise
            await error_response(error.status_code, error.detail, error.headers)(scope, receive, send)
