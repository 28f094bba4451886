"""The `digitlab` command (also `python -m digitlab`). Thin: parse, call the library, print.

Usage:

    digitlab run                       # the Keras MNIST tutorial, end to end
    digitlab train --model mlp --epochs 10 --seed 42
    digitlab evaluate --model runs/<run> --json
    digitlab report runs/<run>
    digitlab models
    digitlab serve --port 8000 --model mlp  # the web app and REST API
    digitlab predict [--json] [--debug DIR] photo.jpg scans/   # read digits from images
    digitlab data fetch|info|verify [--dataset mnist|fashion]
    digitlab bench [--only training inference]   # the speed benchmarks (benchmarks/run.py)

Global options, before or after the command: -v/--verbose, -q/--quiet,
--log-file FILE (digitlab.console routes the log records), --version.

Exit status (docs/cli.md has the table): 0 done; 1 a user mistake (a missing
file, a bad value), printed as one line on stderr, never a traceback; 2 bad
arguments (argparse), or `predict` could not read some inputs; 3 the command
needs an optional extra that is not installed (`pip install 'digitlab[train]'`,
...); 4 a file could not be written (the disk is full or over quota, the place
is read-only or not writable), one line naming the file and what to do; earlier
files are left as they were; 130 interrupted.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

from digitlab.cli.commands import COMMANDS
from digitlab.cli.extras import EXIT_MISSING_EXTRA, MissingExtra, require_extras
from digitlab.cli.failures import EXIT_CANNOT_WRITE, write_failure_message
from digitlab.cli.parser import build_parser
from digitlab.console import configure_logging
from digitlab.errors import CannotWrite, UserError, is_write_failure

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 70  # EX_SOFTWARE in sysexits.h: digitlab's own fault, not the input's
EXIT_INTERRUPTED = 130

logger = logging.getLogger("digitlab.cli")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in config.json so a run says how to reproduce it
    args.verbose, args.quiet = getattr(args, "verbose", 0), getattr(args, "quiet", 0)
    args.log_file = getattr(args, "log_file", None)
    try:
        # Notes, warnings (e.g. a damaged cache being rebuilt) and errors go to stderr as one line each.
        undo_logging = configure_logging(args.verbose, args.quiet, args.log_file)
    except UserError as error:  # the log file cannot be opened
        print(f"digitlab: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        require_extras(args.command)
        return COMMANDS[args.command](args)
    except MissingExtra as error:
        logger.error("%s", error)
        return EXIT_MISSING_EXTRA
    except CannotWrite as error:  # a lower layer said it already, naming its own option
        logger.error("%s", error)
        return EXIT_CANNOT_WRITE
    except UserError as error:  # includes digitlab.data.DataError
        logger.error("%s", error)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("digitlab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as error:
        # A full disk, a quota, a read-only or foreign place: the user's to fix, not a crash.
        # (Files written whole are written atomically, so the earlier ones are intact.)
        if not is_write_failure(error):
            return _internal_error(error)
        logger.error("%s", write_failure_message(args, error))
        return EXIT_CANNOT_WRITE
    except Exception as error:  # noqa: BLE001 - the last guard: still one line, never a traceback by default
        return _internal_error(error)
    finally:
        undo_logging()


def _internal_error(error: BaseException) -> int:
    """A failure no check foresaw (a bug): one line; with -v the traceback too (on stderr and in --log-file)."""
    reason = (str(error).splitlines() or [""])[0][:300]
    logger.error("internal error: %s%s (a bug in digitlab; run again with -v for the traceback, and please report "
                 "it)", type(error).__name__, f": {reason}" if reason else "")
    logger.debug("Traceback of the internal error:", exc_info=error)
    return EXIT_INTERNAL_ERROR


def console_main() -> None:
    """The `digitlab` command and `python -m digitlab`: main(), then a quick exit."""
    code = main()
    # At exit Python runs one last garbage collection over every object of the
    # ~2,800 modules Keras and JAX load: 0.6 s here, for memory the OS frees
    # anyway. Frozen objects are left out of it; atexit handlers, open files and
    # finalizers are handled as usual. (Not in main(): tests call it in-process.)
    gc.freeze()
    raise SystemExit(code)


if __name__ == "__main__":
    console_main()
