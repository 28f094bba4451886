"""Errors caused by the user (bad arguments, missing files) rather than by a bug.

The CLI prints these as one line, without a traceback:

    raise UserError("run directory runs/x has no model.keras; was training finished?")
"""


class UserError(Exception):
    """A mistake the user can fix; its message is one sentence saying how."""


def error_reason(error: BaseException) -> str:
    """The first line of a library's exception message (or its type), short enough to quote in one sentence."""
    message = str(error).strip()
    return message.splitlines()[0][:200] if message else type(error).__name__
