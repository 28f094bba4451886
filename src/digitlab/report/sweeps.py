"""The figure of a `digitlab tune` sweep: every trial's validation accuracy by epoch.

Usage:

    from digitlab.report import sweep_plot
    sweep_plot({"20261207T0731Z-mlp": [0.81, 0.86, 0.89], ...}, best="20261207T0731Z-mlp", path=sweep_dir / "trials.png")

Drawn as the run figures are (figures.py): a matplotlib Figure, no pyplot, rendered by Agg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from digitlab.report.figures import TEXT_COLOR, VALIDATION_COLOR, _message, _save


def sweep_plot(curves: Mapping[str, Sequence[float]], best: str | None, path: Path | str) -> Path:
    """Validation accuracy per epoch of each trial of a sweep, the best one drawn bold.

    curves: trial label → its validation accuracies, epoch by epoch (a trial the
    scheduler stopped early has a shorter curve).
    """
    curves = {label: np.asarray(values, dtype=float) for label, values in curves.items() if len(values)}
    if not curves:
        return _message(path, "Sweep", "No trial finished an epoch.")
    figure = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = figure.subplots()
    ax.set_title("Trials: validation accuracy by epoch (stopped early where a line ends)", fontsize=11,
                 color=TEXT_COLOR)
    for label, values in curves.items():
        epochs = np.arange(1, len(values) + 1)
        is_best = label == best
        ax.plot(epochs, values, marker="o", markersize=3 if not is_best else 5, linewidth=2.6 if is_best else 1.2,
                color=VALIDATION_COLOR if is_best else "#94a3b8", zorder=3 if is_best else 2,
                label=f"{label} (best)" if is_best else None)
    epoch_count = max(len(values) for values in curves.values())
    ax.set_xlim(0.5, epoch_count + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.grid(True, color="#e5e7eb", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    if best in curves:
        ax.legend(frameon=False, loc="lower right")
    return _save(figure, path)
