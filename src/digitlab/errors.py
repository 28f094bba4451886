"""Errors caused by the user (bad arguments, missing files) rather than by a bug.

The CLI prints these as one line, without a traceback:

    raise UserError("run directory runs/x has no model.keras; was training finished?")

A file that cannot be written (a full disk, a quota, a read-only place, no
permission) is the user's to fix too, but not a mistake in what they typed:

    except OSError as error:
        if is_write_failure(error):
            raise CannotWrite(write_failure_sentence(error, folder, "another --out")) from None
        raise

The CLI exits with its own status for CannotWrite and for such an OSError
(docs/cli.md: 4), so a script can tell "try another place" from a bad argument.
"""

from __future__ import annotations

import errno
import os

# errno → the words the sentence opens with (fixed, not the C library's, so every machine says the same).
WRITE_FAILURES = {
    errno.ENOSPC: "No space left on device",
    errno.EDQUOT: "Disk quota exceeded",
    errno.EROFS: "Read-only file system",
    errno.EACCES: "Permission denied",
    errno.EPERM: "Operation not permitted",
}
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT)
EXIT_CANNOT_WRITE = 4  # the CLI's exit status for CannotWrite and such an OSError (docs/cli.md)


class UserError(Exception):
    """A mistake the user can fix; its message is one sentence saying how."""


class CannotWrite(UserError):
    """A file could not be written: the disk is full or over quota, the place is read-only or not ours.

    Whatever was there before is unchanged and nothing half-written is left
    behind (every whole-file write goes through digitlab.formats.files).
    """


def error_reason(error: BaseException) -> str:
    """The first line of a library's exception message (or its type), short enough to quote in one sentence."""
    message = str(error).strip()
    return message.splitlines()[0][:200] if message else type(error).__name__


def is_write_failure(error: BaseException) -> bool:
    """Whether `error` is an OSError that says the disk is full, over quota, read-only or not writable."""
    return isinstance(error, OSError) and error.errno in WRITE_FAILURES


def write_failure_sentence(error: OSError, path: str | os.PathLike | None = None, instead: str | None = None) -> str:
    """One sentence for a write failure: what happened, to which path, what to do.

    `path` defaults to the error's own file name; `instead` is the other place the
    user may choose ("another --runs-dir"), None when there is no option for it.

        No space left on device while writing runs/x/model.keras; free space or choose another --runs-dir.
    """
    reason = WRITE_FAILURES.get(error.errno, error.strerror or type(error).__name__)
    where = os.fspath(path) if path is not None else (error.filename or "a file")
    if error.errno in _NO_ROOM:
        remedy = f"free space or choose {instead}" if instead else "free space and try again"
        return f"{reason} while writing {where}; {remedy}."
    if error.errno == errno.EROFS:
        remedy = f"choose {instead}" if instead else "write somewhere else, or remount it read-write"
        return f"{reason} while writing {where}; {remedy}."
    # EACCES and EPERM also come from reading, so the sentence does not say "writing".
    remedy = f"choose {instead}, or change its permissions" if instead else "change its permissions"
    return f"{reason} for {where}; {remedy}."
