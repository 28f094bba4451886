"""Small HTML building blocks and value formatters for the report sections.

Usage:

    from digitlab.report.markup import esc, percent, table

    table(["class", "F1"], [[esc(name), esc(fixed(f1, 3))]], numeric={1})

Cells are passed in as already-escaped HTML: esc() every value that comes from
a run dir. The formatters turn missing or malformed values into "—" (MISSING)
instead of failing, because a report should render whatever a run left behind.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from html import escape
from pathlib import Path

MISSING = "—"


# ---------------------------------------------------------------- formatting


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def to_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def percent(value: object, digits: int = 2) -> str:
    number = to_number(value)
    return MISSING if number is None else f"{number:.{digits}%}"


def fixed(value: object, digits: int = 4) -> str:
    number = to_number(value)
    return MISSING if number is None else f"{number:.{digits}f}"


def count(value: object) -> str:
    number = to_number(value)
    return MISSING if number is None else f"{number:,.0f}"


def seconds(value: object) -> str:
    number = to_number(value)
    if number is None:
        return MISSING
    if number < 120:
        return f"{number:.1f} s"
    minutes, remainder = divmod(round(number), 60)
    return f"{minutes} min {remainder:02d} s"


def plain(value: object) -> str:
    """A config or environment value as text; nested values as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def format_date(text: object) -> str:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text) if text else MISSING
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# ---------------------------------------------------------------- building blocks


def embed(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def table(
    headers: list[str],
    rows: list[list[str]],
    numeric: set[int] = frozenset(),
    row_classes: list[str] | None = None,
) -> str:
    """A table from already-escaped cell HTML; numeric columns are right-aligned."""

    def cls(index: int) -> str:
        return ' class="num"' if index in numeric else ""

    head = "".join(f"<th{cls(index)}>{header}</th>" for index, header in enumerate(headers))
    body = []
    for position, row in enumerate(rows):
        row_class = row_classes[position] if row_classes and row_classes[position] else ""
        cells = "".join(f"<td{cls(index)}>{cell}</td>" for index, cell in enumerate(row))
        body.append(f'<tr class="{row_class}">{cells}</tr>' if row_class else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(run_dir: Path, name: str, alt: str, caption: str = "") -> str:
    path = run_dir / name
    if not path.is_file():
        return f'<p class="missing">{esc(name)} is not in this run directory.</p>'
    caption_html = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{embed(path)}" alt="{esc(alt)}">{caption_html}</figure>'


def section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}"><h2>{esc(title)}</h2>{body}</section>'


def stat(label: str, value: str, note: str = "", hero: bool = False) -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="stat{" hero" if hero else ""}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{value}</div>{note_html}</div>'
    )
