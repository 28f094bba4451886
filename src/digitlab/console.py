"""What digitlab shows on stderr: progress bars (tqdm) and log lines, and the rules for both.

Usage:

    from digitlab.console import configure_logging, progress

    for batch in progress(batches, "Parity check", unit="batch"):
        ...
    with progress(total=n_bytes, desc="x.gz", unit="B", unit_scale=True) as bar:
        bar.update(len(chunk))

    undo = configure_logging(verbose=0, quiet=0, log_file="digitlab.log")   # what `digitlab -v/-q/--log-file` do
    ...
    undo()

Progress: a bar is drawn only when stderr is a terminal and progress is on
(`digitlab -q` turns it off). Otherwise progress() gives a QuietBar, which
takes tqdm's calls and does nothing (tqdm is not imported for it),
so redirected output, CI logs and `--json` pipelines stay clean; callers with
something worth a line per step log it instead. Bars go to stderr, so what a
command prints on stdout (tables, JSON) is never mixed with them.

Logging: the library logs with `logging.getLogger(__name__)` and prints nothing
itself; configure_logging routes the records. On stderr, by default, digitlab's
notes (INFO) as plain lines, e.g. "Run directory: runs/…"; `quiet` leaves only
warnings and errors (and no bars); `verbose` adds digitlab's DEBUG records, and
from 2 other libraries' records too. Warnings and errors are one line each,
"digitlab: warning: …" and "digitlab: error: …"; Python warnings are routed
through logging too. `log_file` appends the same records with time, level and
logger name, at INFO (DEBUG with verbose) whatever `quiet` says, and tracebacks
where a record carries one.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from digitlab.errors import UserError

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["QuietBar", "configure_logging", "progress", "progress_enabled", "show_progress"]

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_shown = True


def show_progress(enabled: bool) -> None:
    """Switch progress bars on (the default, where stderr is a terminal) or off for this process."""
    global _shown
    _shown = bool(enabled)


def progress_enabled() -> bool:
    """Whether a bar would be drawn now: progress is on and stderr is a terminal."""
    isatty = getattr(sys.stderr, "isatty", None)
    return _shown and bool(isatty and isatty())


def progress(iterable: Iterable | None = None, desc: str | None = None, total: float | None = None,
             unit: str = "it", leave: bool = False, enabled: bool = True, **options) -> tqdm | QuietBar:
    """A tqdm bar on stderr, a QuietBar unless `enabled` and `progress_enabled()`; other options go to tqdm."""
    if not (enabled and progress_enabled()):
        return QuietBar(iterable)
    from tqdm import tqdm  # loaded by the first bar drawn: `digitlab predict one.jpg` starts without it

    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave, file=sys.stderr,
                dynamic_ncols=True, **options)


class QuietBar:
    """What progress() gives when no bar is drawn: tqdm's calls, doing nothing (tqdm is not even imported)."""

    disable = True

    def __init__(self, iterable: Iterable | None = None):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())

    def __len__(self) -> int:
        return len(self.iterable)  # type: ignore[arg-type]

    def __enter__(self) -> QuietBar:
        return self

    def __exit__(self, *exception) -> None:
        return None

    def update(self, n: float = 1) -> None:
        return None

    def set_description(self, *arguments, **options) -> None:
        return None

    def set_postfix(self, *arguments, **options) -> None:
        return None

    def refresh(self) -> None:
        return None

    def close(self) -> None:
        return None

    @staticmethod
    def write(text: str, file=None, end: str = "\n") -> None:
        print(text, file=file or sys.stdout, end=end)


class ConsoleFormatter(logging.Formatter):
    """One line per record: notes as they are, the others with a "digitlab: warning:"-style prefix."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().strip()
        if record.levelno >= logging.ERROR:
            return f"digitlab: error: {message}"
        if record.levelno >= logging.WARNING:
            return f"digitlab: warning: {message}"
        if record.levelno >= logging.INFO:
            return message
        return f"digitlab: debug: {record.name}: {message}"


class ConsoleHandler(logging.Handler):
    """Writes to the current sys.stderr, through tqdm once a bar exists, so that a line never cuts through one."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            loaded = sys.modules.get("tqdm")
            if loaded is None:  # no bar was ever made, so none is on screen
                sys.stderr.write(message + "\n")
                sys.stderr.flush()
            else:
                loaded.tqdm.write(message, file=sys.stderr)
        except Exception:  # logging's own rule: a failing handler reports, never raises
            self.handleError(record)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return str(message)


def configure_logging(verbose: int = 0, quiet: int = 0, log_file: str | Path | None = None) -> Callable[[], None]:
    """Route log records (and progress) as -v, -q and --log-file ask; return a function that undoes it."""
    console = ConsoleHandler(logging.DEBUG if verbose else (logging.WARNING if quiet else logging.INFO))
    console.setFormatter(ConsoleFormatter())
    handlers: list[logging.Handler] = [console]
    if log_file:
        try:
            file_handler = logging.FileHandler(Path(log_file), encoding="utf-8")
        except OSError as error:
            raise UserError(f"--log-file {log_file}: cannot write there ({error.strerror or error}).") from None
        file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
        handlers.append(file_handler)

    root, package = logging.getLogger(), logging.getLogger("digitlab")
    saved = (root.level, package.level, warnings.formatwarning)
    # digitlab's records down to what any handler wants; other libraries' only from -vv.
    package.setLevel(min(handler.level for handler in handlers))
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    for handler in handlers:
        root.addHandler(handler)
    warnings.formatwarning = _one_line_warning
    logging.captureWarnings(True)
    show_progress(not quiet)

    def undo() -> None:
        show_progress(True)
        logging.captureWarnings(False)
        root.setLevel(saved[0])
        package.setLevel(saved[1])
        warnings.formatwarning = saved[2]
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()

    return undo
