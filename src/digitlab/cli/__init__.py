"""digitlab.cli: the `digitlab` command — thin: parses arguments, calls the library, prints.

Usage:

    from digitlab.cli import main
    main(["predict", "--json", "photo.jpg"])     # → exit status

Modules: `parser` (the arguments), `commands` (one function per subcommand),
`text` (terminal tables and summaries), `predict_output` (`predict`'s JSON Lines
and table), `main` (errors as one line, exit codes, the console entry point).
"""

from digitlab.cli.commands import COMMANDS
from digitlab.cli.extras import EXIT_MISSING_EXTRA
from digitlab.cli.main import EXIT_INTERRUPTED, EXIT_USER_ERROR, console_main, main
from digitlab.cli.parser import BENCH_SECTIONS, DATASET_CHOICES, build_parser
from digitlab.cli.predict_output import EXIT_UNREADABLE
from digitlab.cli.text import format_classification_report, format_confused_pairs

__all__ = ["BENCH_SECTIONS", "COMMANDS", "DATASET_CHOICES", "EXIT_INTERRUPTED", "EXIT_MISSING_EXTRA", "EXIT_UNREADABLE",
           "EXIT_USER_ERROR", "build_parser", "console_main", "format_classification_report", "format_confused_pairs",
           "main"]
