"""The one error type for images that cannot be read.

Usage:

    try:
        image = decode_image(path)
    except ImageError as error:
        print(error.kind, error)        # "corrupt", "photo.jpg is truncated or damaged ..."

`kind` is one of KINDS, so callers (the CLI, the web app) can map it to an exit
status or an HTTP status without parsing the message.
"""

from __future__ import annotations

from digitlab.errors import UserError

KINDS = ("not_image", "corrupt", "too_large", "empty", "missing")


class ImageError(UserError):
    """An input that is not a readable image; the message is one sentence saying why."""

    def __init__(self, message: str, kind: str):
        if kind not in KINDS:
            raise ValueError(f"ImageError kind must be one of {KINDS}, got {kind!r}")
        super().__init__(message)
        self.kind = kind
