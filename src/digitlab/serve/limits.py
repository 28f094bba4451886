"""Refuse request bodies over the upload limit with 413, while they stream in.

Usage:

    app.add_middleware(BodySizeLimit, max_bytes=10 * 1024 * 1024)

A declared Content-Length over the limit is refused before a byte is read. The
header is not trusted, though: a chunked body, or one longer than it claimed,
is counted as it arrives and the request fails with 413 as soon as the count
passes the limit, so the server never buffers more than the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large_message(max_bytes: int) -> str:
    return f"The upload is larger than the limit of {max_bytes / (1024 * 1024):g} MB; send a smaller image."


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
