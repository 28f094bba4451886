"""The one exception the data layer raises for anything wrong with the data.

    from digitlab.data import DataError

    try:
        dataset = load_dataset("mnist")
    except DataError as error:
        print(error)  # one sentence: which file, what is wrong, what to do

It subclasses `digitlab.errors.UserError`, so the CLI prints it as one line
without a traceback, like every other mistake the user can fix.
"""

from __future__ import annotations

from digitlab.errors import UserError


class DataError(UserError):
    """A dataset file is missing, truncated, malformed or has the wrong checksum.

    The message is one sentence that names the file and says what to do.
    """


class SourceUnavailable(DataError):
    """A source has nothing to offer (no cache yet, package not installed, offline).

    This is not an error by itself: `load_dataset` notes it and tries the next
    source. It only reaches the user inside the final "nothing worked" message.
    """
