"""Results files of the benchmarks: markdown tables (RESULTS-*.md) and their JSON twins.

Usage:

    lines = markdown_table(["model", "accuracy"], [["mlp", "97.70 %"]])
    write_results(Path("benchmarks/RESULTS-x.md"), "\\n".join(lines))    # atomic, and shown
    write_results_json(Path("benchmarks/RESULTS-x.json"), rows)

The docs site includes these files at build time, so a benchmark that dies
mid-write must leave the previous results, never half a table.
"""

from __future__ import annotations

import json
from pathlib import Path

from digitlab.formats.files import write_text_atomic


def markdown_table(header: list[str], rows: list[list]) -> list[str]:
    """A GitHub-flavoured markdown table, one string per line."""
    lines = ["| " + " | ".join(str(cell) for cell in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def write_results(path: str | Path, text: str, show: bool = True) -> str:
    """Write a results file atomically (ending in one newline) and print it."""
    text = text.rstrip("\n") + "\n"
    write_text_atomic(path, text)
    if show:
        print(text, end="")
    return text


def write_results_json(path: str | Path, value) -> None:
    write_text_atomic(path, json.dumps(value, indent=1))
