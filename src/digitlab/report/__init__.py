"""Figures and the HTML report of a run.

Usage:

    from digitlab.report import confusion_heatmap, history_plot, write_report

    history_plot(history.history, run_dir / "history.png")
    confusion_heatmap(metrics["confusion_matrix"], run_dir / "confusion.png")
    write_report(run_dir)                       # -> run_dir / "report.html"

Nothing here imports Keras; the functions work on NumPy arrays and run-dir files.
"""

from digitlab.report.figures import (
    confusion_heatmap,
    history_plot,
    misclassified_gallery,
    reliability_diagram,
    sample_grid,
)
from digitlab.report.sweeps import sweep_plot
from digitlab.report.html import write_report

__all__ = [
    "confusion_heatmap",
    "history_plot",
    "misclassified_gallery",
    "reliability_diagram",
    "sample_grid",
    "sweep_plot",
    "write_report",
]
