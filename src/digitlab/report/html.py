"""One self-contained HTML page that explains a training run to a learner.

Usage:

    from digitlab.report import write_report

    path = write_report(Path("runs/20250101T120000Z-mlp"))   # -> runs/.../report.html

The page is built only from files already in the run dir: config.json,
metrics.json, history.csv and the figures (samples.png, history.png,
confusion.png, misclassified.png, and any other PNG found there). Figures are
embedded as base64 data URIs and the CSS is inline, so report.html can be
mailed or opened offline; there are no scripts and no external links. Missing
files or keys are shown as "—" rather than failing, and every value from the
run dir is HTML-escaped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from digitlab.errors import UserError
from digitlab.formats import read_history_rows, read_json, rundir, write_text_atomic
from digitlab.report import sections
from digitlab.report.markup import MISSING, esc, format_date, to_number
from digitlab.report.style import CSS

DATASET_NAMES = {"mnist": "MNIST", "fashion": "Fashion-MNIST", "fashion_mnist": "Fashion-MNIST"}


# ---------------------------------------------------------------- reading


def _read_json(path: Path, notes: list[str]) -> dict:
    """A run file's JSON object, or {} with a note saying why (the page still renders)."""
    if not path.exists():
        notes.append(f"{path.name} was not found.")
        return {}
    try:
        value = read_json(path)
    except UserError as error:
        notes.append(f"{path.name} could not be read ({error}).")
        return {}
    return value if isinstance(value, dict) else {}


def _read_history(path: Path, notes: list[str]) -> list[dict]:
    if not path.exists():
        return []
    try:
        rows = read_history_rows(path)
    except (OSError, UserError) as error:
        notes.append(f"{path.name} could not be read ({error}).")
        return []
    # Keras' CSVLogger counts epochs from 0; the page counts from 1 like the plot.
    if rows and rows[0].get("epoch") == "0":
        for row in rows:
            number = to_number(row["epoch"])
            row["epoch"] = MISSING if number is None else str(int(number) + 1)
    return rows


# ---------------------------------------------------------------- page


def write_report(run_dir: Path) -> Path:
    """Write run_dir/report.html from the run's files and return its path."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir} is not a directory; pass a run directory such as runs/<time>-<model>.")
    notes: list[str] = []
    config = _read_json(run_dir / rundir.CONFIG, notes)
    metrics = _read_json(run_dir / rundir.METRICS, notes)
    history = _read_history(run_dir / rundir.HISTORY, notes)

    model = config.get("model") or metrics.get("model") or "model"
    dataset_key = str(config.get("dataset") or metrics.get("dataset") or "")
    dataset = DATASET_NAMES.get(dataset_key.lower(), dataset_key) or MISSING
    created = format_date(config.get("created_utc")) if config.get("created_utc") else MISSING
    title = f"{model} on {dataset}"
    notes_html = "".join(f'<p class="missing">{esc(note)}</p>' for note in notes)
    nav = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("summary", "Summary"),
            ("samples", "Data"),
            ("training", "Training"),
            ("confusion", "Confusion matrix"),
            ("per-class", "Per class"),
            ("pairs", "Confused pairs"),
            ("mistakes", "Mistakes"),
            ("calibration", "Calibration"),
            ("config", "Configuration"),
            ("environment", "Environment"),
            ("reproduce", "Reproduce"),
        )
    )

    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>digitlab report: {esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<p class="eyebrow">digitlab run report</p>
<h1>{esc(title)}</h1>
<p class="meta">Run started {esc(created)} · run directory <code>{esc(run_dir.name)}</code></p>
{notes_html}
<nav>{nav}</nav>
</header>
{sections.summary(config, metrics)}
{sections.samples(run_dir, dataset_key.lower())}
{sections.training(run_dir, history)}
{sections.confusion(run_dir)}
{sections.per_class(metrics)}
{sections.confused_pairs(metrics)}
{sections.mistakes(run_dir)}
{sections.calibration(run_dir, metrics)}
{sections.extra_figures(run_dir)}
{sections.configuration(config)}
{sections.environment(metrics)}
{sections.reproduce(config)}
<footer>Written by digitlab on {esc(datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))} from the files in this run directory.</footer>
</main>
</body>
</html>
"""
    path = run_dir / rundir.REPORT
    write_text_atomic(path, page)
    return path
