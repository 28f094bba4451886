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

Exit status: 0 done; 1 a user mistake (a missing file, a bad value), printed
as one line on stderr, never a traceback; 2 bad arguments (argparse), or
`predict` could not read some inputs; 3 the command needs an optional extra
that is not installed (`pip install 'digitlab[train]'`, ...); 130 interrupted.
"""

from __future__ import annotations

import gc
import os
import sys
import warnings

from digitlab.cli.commands import COMMANDS
from digitlab.cli.extras import EXIT_MISSING_EXTRA, MissingExtra, require_extras
from digitlab.cli.parser import build_parser
from digitlab.errors import UserError

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"digitlab: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in config.json so a run says how to reproduce it
    # Warnings (e.g. a damaged cache being rebuilt) read as one line, like errors.
    warnings.formatwarning = _one_line_warning
    try:
        require_extras(args.command)
        return COMMANDS[args.command](args)
    except MissingExtra as error:
        print(f"digitlab: error: {error}", file=sys.stderr)
        return EXIT_MISSING_EXTRA
    except UserError as error:  # includes digitlab.data.DataError
        print(f"digitlab: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("digitlab: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")
        return 0


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
