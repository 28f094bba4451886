"""The sections of report.html, each a function from run data to escaped HTML.

Usage: html.write_report calls these in page order; each returns one <section>.

    summary(config, metrics)  ->  '<section id="summary">...</section>'

Every value read from the run dir goes through esc (html.escape) before it is
placed in markup; numbers are formatted by the helpers in markup.py, which turn
missing or malformed values into "—" instead of failing.
"""

from __future__ import annotations

from pathlib import Path

from digitlab.formats import CONFIG_FIELD_MEANINGS
from digitlab.report.markup import (
    MISSING,
    count,
    esc,
    figure,
    fixed,
    percent,
    plain,
    seconds,
    section,
    stat,
    table,
    to_number,
)

FIGURES = {  # file name -> (section id, alt text)
    "samples.png": ("samples", "A grid of training images, each titled with its label"),
    "history.png": ("training", "Accuracy and loss per epoch for training and validation data"),
    "confusion.png": ("confusion", "Confusion matrix: true labels on rows, predicted labels on columns"),
    "misclassified.png": ("mistakes", "Test images the model got wrong, most confident mistakes first"),
    "calibration.png": ("calibration", "Accuracy against confidence, before and after temperature scaling"),
}
SUBJECTS = {"mnist": "one handwritten digit", "fashion": "one piece of clothing"}
TIMING_COLORS = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#64748b"]


# ---------------------------------------------------------------- sections


def summary(config: dict, metrics: dict) -> str:
    n_test, errors = metrics.get("n_test", metrics.get("n")), metrics.get("error_count")
    accuracy = metrics.get("test_accuracy", metrics.get("accuracy"))
    reload_identical = metrics.get("reload_identical")
    reload_accuracy = esc(percent(metrics.get("reload_accuracy")))
    if reload_identical is True:
        reload_html = '<span class="pill good">passed</span>'
        reload_note = f"model.keras reloads with identical predictions (accuracy {reload_accuracy})"
    elif reload_identical is False:
        reload_html = '<span class="pill bad">failed</span>'
        reload_note = f"the reloaded model predicts differently (accuracy {reload_accuracy})"
    else:
        reload_html, reload_note = '<span class="pill unknown">not run</span>', "no reload check recorded"
    timings = metrics.get("timings_seconds") if isinstance(metrics.get("timings_seconds"), dict) else {}
    epochs = metrics.get("epochs_run", config.get("epochs"))
    stats = [
        stat("Test accuracy", esc(percent(accuracy)), "share of test images classified correctly", hero=True),
        stat("Test loss", esc(fixed(metrics.get("test_loss"))), esc(config.get("loss") or "cross-entropy")),
        stat("Mistakes", esc(count(errors)), f"out of {esc(count(n_test))} test images"),
        stat("Reload check", reload_html, reload_note),
        stat(
            "Training time",
            esc(seconds(metrics.get("train_seconds", timings.get("train")))),
            (f"{esc(count(epochs))} epochs, over several processes (resumed); the last one trained "
             f"{esc(seconds(timings.get('train')))} of it and ran {esc(seconds(timings.get('total')))} in all"
             if metrics.get("resumed") else
             f"{esc(count(epochs))} epochs; whole run {esc(seconds(timings.get('total')))}"),
        ),
        stat("Parameters", esc(count(metrics.get("parameters"))), "trainable weights in the model"),
    ]
    lead = ""
    if to_number(n_test) is not None and to_number(errors) is not None:
        lead = (
            f"The model read <strong>{esc(count(to_number(n_test) - to_number(errors)))} of "
            f"{esc(count(n_test))}</strong> test images correctly."
        )
        pairs = metrics.get("confused_pairs") or []
        if pairs and isinstance(pairs[0], dict):
            lead += (
                f" Its most common confusion was <strong>{esc(pairs[0].get('pair', MISSING))}</strong> "
                f"({esc(count(pairs[0].get('total')))} times)."
            )
        lead = f'<p class="lead">{lead}</p>'
    return section(
        "summary", "Summary", lead + f'<div class="stats">{"".join(stats)}</div>' + _timings(timings)
    )


def _timings(timings: dict) -> str:
    stages = {name: to_number(value) for name, value in timings.items() if name != "total"}
    stages = {name: value for name, value in stages.items() if value is not None and value > 0}
    total = to_number(timings.get("total")) or sum(stages.values())
    if not stages or not total:
        return ""
    other = total - sum(stages.values())
    if other > 0.005 * total:
        stages["other"] = other
    bars, legend = [], []
    for position, (name, value) in enumerate(stages.items()):
        color = TIMING_COLORS[position % len(TIMING_COLORS)]
        share = 100 * value / max(total, sum(stages.values()))
        label = f"{name.replace('_', ' ')}: {seconds(value)} ({share:.0f}%)"
        bars.append(f'<span style="width:{share:.2f}%;background:{color}" title="{esc(label)}"></span>')
        legend.append(f'<li><i style="background:{color}"></i>{esc(label)}</li>')
    return (
        f"<h3>Where the time went ({esc(seconds(total))} in all)</h3>"
        f'<div class="timebar">{"".join(bars)}</div><ul class="legend">{"".join(legend)}</ul>'
    )


def samples(run_dir: Path, dataset: str = "mnist") -> str:
    return section(
        "samples",
        "The data",
        (
            f'<p class="explain">Each image is a 28 × 28 grayscale picture of {SUBJECTS.get(dataset, "one object")}, '
            "titled with the label a person gave it. The model never sees the title: it learns to "
            "predict it from the 784 pixel values alone.</p>"
        )
        + figure(run_dir, "samples.png", FIGURES["samples.png"][1]),
    )


def training(run_dir: Path, history: list[dict]) -> str:
    body = (
        '<p class="explain">After every epoch (one pass over the training images) Keras measures '
        "accuracy and loss on the <strong>training</strong> images and on the <strong>validation</strong> "
        "images, a slice held back from training. Both curves rising together means the model is learning "
        "patterns that carry over to new images. If training accuracy keeps climbing while validation "
        "accuracy stalls or falls, the model is memorising the training set (overfitting). Validation "
        "accuracy can sit <em>above</em> training accuracy early on: dropout switches off random units "
        "only while training, and the training numbers are averaged over an epoch in which the model "
        "was still improving.</p>"
    )
    body += figure(run_dir, "history.png", FIGURES["history.png"][1])
    if history:
        columns = list(history[0].keys())
        best = max(range(len(history)), key=lambda i: to_number(history[i].get("val_accuracy")) or -1.0)
        has_val = any(to_number(row.get("val_accuracy")) is not None for row in history)

        def cell(column: str, value: str) -> str:
            if column == "epoch":
                return esc(value)
            if "acc" in column:
                return esc(percent(value))
            return esc(fixed(value) if to_number(value) is not None else value or MISSING)

        rows = [[cell(column, row.get(column, "")) for column in columns] for row in history]
        classes = ["best" if has_val and index == best else "" for index in range(len(history))]
        epoch_table = table([esc(column) for column in columns], rows, set(range(len(columns))), classes)
        note = " The epoch with the best validation accuracy is in bold." if has_val else ""
        body += (
            f"<details><summary>Numbers per epoch (history.csv)</summary><p>{note}</p>{epoch_table}</details>"
        )
    return section("training", "Training curves", body)


def confusion(run_dir: Path) -> str:
    return section(
        "confusion",
        "Confusion matrix",
        (
            '<p class="explain">Each row is the <strong>true</strong> class and each column the class the model '
            "<strong>predicted</strong>; a cell counts the test images with that combination. The blue diagonal "
            "holds the correct answers. Every red cell off the diagonal is a kind of mistake: the number in row 4, "
            "column 9 is how many real 4s were read as 9s. Darker red means more frequent.</p>"
        )
        + figure(run_dir, "confusion.png", FIGURES["confusion.png"][1]),
    )


def _score_cells(name: str, scores: dict, misread: str) -> list[str]:
    cells = [esc(fixed(scores.get(key), 3)) for key in ("precision", "recall", "f1")]
    return [esc(name), *cells, esc(count(scores.get("support"))), esc(misread)]


def _misread(matrix: object, index: int) -> str:
    """Test images of class `index` given another label: its confusion-matrix row minus the diagonal."""
    try:
        row = [to_number(value) or 0 for value in matrix[index]]
        return count(sum(row) - row[index])
    except (TypeError, IndexError, KeyError):
        return MISSING


def per_class(metrics: dict) -> str:
    scores_by_class = metrics.get("per_class") if isinstance(metrics.get("per_class"), dict) else {}
    body = (
        '<ul class="explain">'
        "<li><strong>Precision</strong>: of the images the model put in this class, "
        "the share that really were it.</li>"
        "<li><strong>Recall</strong>: of the images that really belong to this class, the share the model found.</li>"
        "<li><strong>F1</strong>: one score that is high only when precision and recall are both high "
        "(their harmonic mean).</li>"
        "<li><strong>Support</strong>: how many test images have this label.</li></ul>"
    )
    if not scores_by_class:
        return section(
            "per-class", "Per-class metrics", body + '<p class="missing">No per-class metrics recorded.</p>'
        )
    f1 = {
        name: to_number(scores.get("f1")) if isinstance(scores, dict) else None
        for name, scores in scores_by_class.items()
    }
    known = [name for name, value in f1.items() if value is not None]
    weakest = min(known, key=f1.get) if known else None
    matrix = metrics.get("confusion_matrix")
    rows, row_classes = [], []
    for index, (name, scores) in enumerate(scores_by_class.items()):
        rows.append(_score_cells(name, scores if isinstance(scores, dict) else {}, _misread(matrix, index)))
        row_classes.append("weak" if name == weakest else "")
    for key, label in (("macro_avg", "macro average"), ("weighted_avg", "weighted average")):
        if isinstance(metrics.get(key), dict):
            rows.append(_score_cells(label, metrics[key], ""))
            row_classes.append("avg")
    headers = ["class", "precision", "recall", "F1", "support", "misread"]
    body += table(headers, rows, {1, 2, 3, 4, 5}, row_classes)
    if weakest is not None:
        body += (
            f'<p class="explain">The hardest class for this model is <strong>{esc(weakest)}</strong> '
            f"(lowest F1, {esc(fixed(f1[weakest], 3))}, shaded). <em>Misread</em> counts its test images "
            "given another label. The macro average weighs every class equally; the weighted average "
            "weighs classes by support.</p>"
        )
    return section("per-class", "Per-class metrics", body)


def confused_pairs(metrics: dict) -> str:
    pairs = [pair for pair in metrics.get("confused_pairs") or [] if isinstance(pair, dict)]
    body = (
        '<p class="explain">Pairs of classes the model mixes up, counting mistakes in both directions. '
        "Look for shapes that really can look alike (for handwritten digits: 4 and 9, 3 and 5, 7 and 2).</p>"
    )
    if not pairs:
        return section(
            "pairs", "Most-confused pairs", body + '<p class="missing">No confusions recorded.</p>'
        )
    rows = []
    for pair in pairs:
        a, _, b = str(pair.get("pair", "")).partition("↔")
        a, b = a or str(pair.get("a", "?")), b or str(pair.get("b", "?"))
        rows.append(
            [
                esc(pair.get("pair", MISSING)),
                esc(count(pair.get("total"))),
                f"{esc(a)} read as {esc(b)}: {esc(count(pair.get('a_as_b')))}",
                f"{esc(b)} read as {esc(a)}: {esc(count(pair.get('b_as_a')))}",
            ]
        )
    return section(
        "pairs", "Most-confused pairs", body + table(["pair", "total", "one way", "other way"], rows, {1})
    )


def mistakes(run_dir: Path) -> str:
    return section(
        "mistakes",
        "Misclassified test images",
        (
            '<p class="explain">The test images the model got wrong, most confident mistakes first. '
            "Each title gives the true label, the prediction and the probability the model gave to it. "
            "Some are genuinely ambiguous or mislabelled; others show what the model has not learned yet.</p>"
        )
        + figure(run_dir, "misclassified.png", FIGURES["misclassified.png"][1]),
    )


def calibration(run_dir: Path, metrics: dict) -> str:
    values = metrics.get("calibration")
    if not isinstance(values, dict):
        return ""
    stats = "".join([
        stat("ECE, model output", percent(values.get("ece_uncalibrated")), "expected calibration error, test set"),
        stat("ECE, calibrated", percent(values.get("ece_calibrated")), "after temperature scaling"),
        stat("Temperature", fixed(values.get("temperature"), 3), esc(str(values.get("fitted_on", MISSING)))),
    ])
    return section(
        "calibration",
        "Confidence calibration",
        (
            '<p class="explain">When the model says it is 90 % sure, is it right 90 % of the time? The diagram '
            "groups test answers by confidence and compares each group's accuracy with its mean confidence; bars "
            "below the diagonal mean over-confidence. The <strong>expected calibration error</strong> (ECE) is the "
            "average gap, weighted by how many answers fall in each group. Temperature scaling divides the "
            "model's logits by one number fitted on the validation images: confidences become honest, and the "
            "predicted digit never changes, so accuracy is untouched. digitlab reports calibrated confidences.</p>"
        )
        + f'<div class="stats">{stats}</div>'
        + figure(run_dir, "calibration.png", FIGURES["calibration.png"][1]),
    )


def extra_figures(run_dir: Path) -> str:
    extra = sorted(path.name for path in run_dir.glob("*.png") if path.name not in FIGURES)
    if not extra:
        return ""
    return section(
        "other-figures", "Other figures", "".join(figure(run_dir, name, name, name) for name in extra)
    )


def configuration(config: dict) -> str:
    if not config:
        return section("config", "Configuration", f'<p class="missing">{MISSING} config.json not found.</p>')
    rows = [
        [
            f"<code>{esc(key)}</code>",
            '<span class="none">none</span>' if value is None else esc(plain(value)),
            esc(CONFIG_FIELD_MEANINGS.get(key, "")),
        ]
        for key, value in config.items()
    ]
    return section(
        "config",
        "Configuration (hyperparameters)",
        '<p class="explain">Everything that decided this result, as saved in config.json before training.</p>'
        + table(["setting", "value", "meaning"], rows),
    )


def environment(metrics: dict) -> str:
    versions = metrics.get("versions") if isinstance(metrics.get("versions"), dict) else {}
    data = metrics.get("data") if isinstance(metrics.get("data"), dict) else {}
    checksums = data.get("sha256") if isinstance(data.get("sha256"), dict) else {}
    body = (
        '<p class="explain">The software versions and the exact data files (by SHA-256 checksum) used; '
        "with the same versions and data the same command should give the same numbers.</p>"
    )
    software = [[esc(name), f"<code>{esc(plain(version))}</code>"] for name, version in versions.items()]
    body += "<h3>Software</h3>" + (table(["package", "version"], software) if software else _none())
    details = [[esc(key), esc(plain(value))] for key, value in data.items() if key != "sha256"]
    details += [[esc(name), f"<code>{esc(plain(digest))}</code>"] for name, digest in checksums.items()]
    headers = ["file or field", "value (SHA-256 for files)"]
    body += "<h3>Data</h3>" + (table(headers, details) if details else _none())
    return section("environment", "Environment", body)


def _none() -> str:
    return f'<p class="missing">{MISSING} not recorded.</p>'


def reproduce(config: dict) -> str:
    note = "Run this from the project directory with digitlab installed."
    if config.get("seed") is not None:
        note += (
            f" The run fixes the random seed ({esc(config['seed'])}), so the numbers should match this "
            "page closely; multi-threaded CPU arithmetic can still move the last digits."
        )
    return section(
        "reproduce",
        "How to reproduce",
        f'<pre>{esc(config.get("command") or MISSING)}</pre><p class="explain">{note}</p>',
    )
