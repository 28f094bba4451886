"""The one error type for images that cannot be read.

Usage:

    try:
        image = decode_image(path)
    except ImageError as error:
        print(error.kind, error)        # "corrupt", "photo.jpg is truncated or damaged ..."

    normalize_pixels(np.full((3, 3), np.nan))   # PixelsError (a UserError and a ValueError)

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


class PixelsError(UserError, ValueError):
    """An array that cannot be an image or a 28×28 model input (shape, dtype, NaN, range); one sentence.

    A UserError, so the CLI and the web app show it as a user's mistake, and a
    ValueError, as a bad argument to a library function has always been.
    """
