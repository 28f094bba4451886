"""The run's figures as PNG files: samples, training curves, confusion matrix, mistakes.

Usage:

    from digitlab.report import figures

    figures.sample_grid(x_train, y_train, run_dir / "samples.png")
    figures.history_plot(history.history, run_dir / "history.png")
    figures.confusion_heatmap(metrics["confusion_matrix"], run_dir / "confusion.png")
    figures.misclassified_gallery(x_test, y_test, y_pred, probabilities, run_dir / "misclassified.png")

Each function writes one PNG and returns its path. Inputs are plain NumPy arrays:
images as (n, 28, 28), (n, 28, 28, 1) or flat (n, 784) rows, in 0..1 or 0..255;
labels as integers or one-hot rows.

Figures are drawn on matplotlib.figure.Figure objects rather than through pyplot:
nothing global changes, no display is needed (the PNG is rendered by Agg), and
the functions are safe to call from a web server thread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from digitlab.formats import atomic_path

DPI = 110
TRAIN_COLOR = "#2563eb"
VALIDATION_COLOR = "#ea580c"
TEXT_COLOR = "#1f2937"


def _as_images(images: np.ndarray) -> np.ndarray:
    """Images as (n, height, width) grayscale or (n, height, width, 3) colour arrays."""
    array = np.asarray(images)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        if side * side != array.shape[1]:
            raise ValueError(f"Flat images must have a square number of pixels, got {array.shape[1]}.")
        array = array.reshape(-1, side, side)
    if array.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, height, width), got {array.shape}.")
    return array


def _as_labels(labels: np.ndarray) -> np.ndarray:
    array = np.asarray(labels)
    return array.argmax(axis=1) if array.ndim == 2 else array.astype(np.int64)


def _name(index: int, class_names: Sequence[str] | None) -> str:
    return str(class_names[index]) if class_names is not None else str(int(index))


def _white_level(images: np.ndarray) -> float:
    """The value of full intensity: 1.0 for float images already in 0..1, else 255.

    A fixed intensity range shows a faint digit as faint, instead of letting
    imshow stretch every image to full contrast.
    """
    return 1.0 if np.issubdtype(images.dtype, np.floating) and images.max(initial=0) <= 1.0 else 255.0


def _show(ax, image: np.ndarray) -> None:
    ax.imshow(image, cmap="gray", vmin=0, vmax=_white_level(image), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _mosaic(images: np.ndarray, rows: int, cols: int, gap_x: int, gap_y: int) -> np.ndarray:
    """The images tiled row by row in 0..1 (divided by _white_level) on a white background,
    with a gap_y band above each row."""
    top = _white_level(images)
    count, height, width = images.shape[:3]
    shape = (rows * (height + gap_y), cols * (width + gap_x) - gap_x, *images.shape[3:])
    mosaic = np.ones(shape, dtype=np.float32)
    for position in range(count):
        row, col = divmod(position, cols)
        y, x = gap_y + row * (height + gap_y), col * (width + gap_x)
        mosaic[y : y + height, x : x + width] = images[position] / top
    return mosaic


def _save(figure: Figure, path: Path | str) -> Path:
    path = Path(path)
    with atomic_path(path) as partial:
        figure.savefig(partial, format=path.suffix.lstrip(".") or "png", dpi=DPI, facecolor="white",
                       bbox_inches="tight", pad_inches=0.15)
    return path


def _message(path: Path | str, title: str, message: str) -> Path:
    """A small PNG that says in words why there is nothing to draw."""
    figure = Figure(figsize=(6, 2.2), layout="constrained")
    ax = figure.add_subplot()
    ax.set_axis_off()
    ax.set_title(title, fontsize=13, color=TEXT_COLOR, fontweight="bold")
    ax.text(0.5, 0.45, message, ha="center", va="center", fontsize=12, color="#4b5563", wrap=True)
    return _save(figure, path)


def sample_grid(
    images: np.ndarray,
    labels: np.ndarray,
    path: Path | str,
    rows: int = 3,
    cols: int = 3,
    class_names: Sequence[str] | None = None,
) -> Path:
    """The tutorial's grid of the first rows × cols images, each titled "Label: 5"."""
    images, labels = _as_images(images), _as_labels(labels)
    if rows < 1 or cols < 1:
        raise ValueError(f"rows and cols must be at least 1, got {rows} × {cols}.")
    if len(images) != len(labels):
        raise ValueError(f"There are {len(images)} images but {len(labels)} labels.")
    if len(images) == 0:
        return _message(path, "Sample images", "No images to show.")
    figure = Figure(figsize=(cols * 1.5, rows * 1.6 + 0.4), layout="constrained")
    figure.suptitle("Sample images and their labels", fontsize=12, color=TEXT_COLOR, fontweight="bold")
    for position, ax in enumerate(figure.subplots(rows, cols, squeeze=False).flat):
        if position < len(images):
            _show(ax, images[position])
            ax.set_title(f"Label: {_name(labels[position], class_names)}", fontsize=10, color=TEXT_COLOR)
        else:
            ax.set_axis_off()
    return _save(figure, path)


def _series(history: Mapping[str, Sequence[float]], *keys: str) -> np.ndarray | None:
    """The first of keys present in history, as floats (missing values become NaN)."""
    for key in keys:
        values = history.get(key)
        if values is not None and len(values) > 0:
            return np.array([np.nan if value in (None, "") else float(value) for value in values])
    return None


def _final(values: np.ndarray, percent: bool) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return ""
    return f" (last {finite[-1]:.2%})" if percent else f" (last {finite[-1]:.4f})"


def history_plot(history: Mapping[str, Sequence[float]], path: Path | str) -> Path:
    """Accuracy and loss per epoch, training vs validation, side by side.

    history is Keras' History.history (keys accuracy, val_accuracy, loss,
    val_loss); validation curves are drawn only when present.
    """
    panels = [
        ("Accuracy", _series(history, "accuracy", "acc"), _series(history, "val_accuracy", "val_acc"), True),
        ("Loss", _series(history, "loss"), _series(history, "val_loss"), False),
    ]
    panels = [panel for panel in panels if panel[1] is not None or panel[2] is not None]
    if not panels:
        return _message(path, "Training curves", "No training history was recorded.")
    figure = Figure(figsize=(5.2 * len(panels), 3.9), layout="constrained")
    figure.suptitle("Training curves", fontsize=12, color=TEXT_COLOR, fontweight="bold")
    axes = figure.subplots(1, len(panels), squeeze=False).flat
    epoch_count = max(len(series) for panel in panels for series in panel[1:3] if series is not None)
    for ax, (title, train, validation, percent) in zip(axes, panels, strict=True):
        for values, label, color in (
            (train, "training", TRAIN_COLOR),
            (validation, "validation", VALIDATION_COLOR),
        ):
            if values is None:
                continue
            epochs = np.arange(1, len(values) + 1)
            # Markers keep a one- or two-epoch run visible; they clutter long runs.
            marker = "o" if len(values) <= 30 else None
            ax.plot(
                epochs,
                values,
                color=color,
                marker=marker,
                markersize=4,
                linewidth=2,
                label=label + _final(values, percent),
            )
        ax.set_title(title, fontsize=11, color=TEXT_COLOR)
        ax.set_xlabel("epoch")
        ax.set_ylabel(title.lower())
        # Whole epochs only, also for a one-epoch run (`quick`), whose axis would otherwise show 0.95–1.05.
        ax.set_xlim(0.5, epoch_count + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
        ax.grid(True, color="#e5e7eb", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, loc="lower right" if percent else "upper right")
    return _save(figure, path)


def confusion_heatmap(
    confusion_matrix: np.ndarray,
    path: Path | str,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Counts per (true, predicted) class: correct on the diagonal in blue, mistakes in red."""
    matrix = np.asarray(confusion_matrix, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"confusion_matrix must be square, got shape {matrix.shape}.")
    size = matrix.shape[0]
    names = [_name(index, class_names) for index in range(size)]
    diagonal = np.eye(size, dtype=bool)
    mistakes = int(matrix[~diagonal].sum())

    side = max(4.5, 0.5 * size + 2.0)
    figure = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = figure.add_subplot()
    # Two colour scales: on one shared scale the diagonal (hundreds of correct
    # answers) would wash out the mistakes, which are what a reader looks for.
    # (Plain imshow: seaborn's heatmap drew the same picture but cost ~1 s to import.)
    mistakes_scale = max(1, matrix[~diagonal].max(initial=0))
    mistakes_image = ax.imshow(np.ma.masked_array(matrix, mask=diagonal), cmap="Reds", vmin=0, vmax=mistakes_scale)
    correct_scale = max(1, matrix.max()) * 1.3
    ax.imshow(np.ma.masked_array(matrix, mask=~diagonal), cmap="Blues", vmin=0, vmax=correct_scale)
    figure.colorbar(mistakes_image, ax=ax, shrink=0.8, label="mistakes (off-diagonal count)")
    # Thin light lines between cells, as a heatmap has.
    ax.set_xticks(np.arange(size + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(size + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="#f3f4f6", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks(range(size), names)
    ax.set_yticks(range(size), names)
    if size <= 20:
        fontsize = 9 if size <= 10 else 7
        for (row, column), count in np.ndenumerate(matrix):
            scale = correct_scale if row == column else mistakes_scale
            if count == 0:
                color = "#c0c4cc"
            else:
                color = "white" if count / scale > 0.55 else TEXT_COLOR
            ax.text(column, row, str(count), ha="center", va="center", fontsize=fontsize, color=color)
    ax.set_xlabel("predicted label", fontsize=11)
    ax.set_ylabel("true label", fontsize=11)
    ax.tick_params(axis="both", length=0)
    ax.tick_params(axis="y", labelrotation=0)
    ax.tick_params(axis="x", labelrotation=0 if max(map(len, names)) <= 3 else 45)
    ax.set_title(
        f"Confusion matrix: {int(matrix.sum()):,} test images, {mistakes:,} mistakes",
        fontsize=12,
        color=TEXT_COLOR,
        fontweight="bold",
    )
    return _save(figure, path)


def _mistake_title(true_name: str, pred_name: str, confidence: float | None) -> str:
    title = f"true {true_name} → pred {pred_name}"
    if confidence is not None:
        # "100%" would be a strange thing to say about a mistake: keep a decimal near the top.
        title += f" ({confidence:.0%})" if confidence < 0.995 else f" ({min(confidence, 0.999):.1%})"
    # Long class names (Fashion-MNIST's "Ankle boot") would overlap neighbours.
    return title.replace(" → ", "\n→ ") if len(title) > 24 else title


def misclassified_gallery(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    mistakes: np.ndarray,
    path: Path | str,
    probabilities: np.ndarray | None = None,
    limit: int = 36,
    class_names: Sequence[str] | None = None,
) -> Path:
    """The misclassified images at `mistakes`, in that order, titled "true 4 → pred 9 (87%)".

    `mistakes` comes from digitlab.evaluate.most_confident_mistakes (most confident
    first when it had the probabilities). y_pred may be None (then it is the argmax
    of probabilities); without probabilities the titles carry no confidence.
    """
    images, y_true = _as_images(images), _as_labels(y_true)
    if y_pred is None:
        if probabilities is None:
            raise ValueError("Pass y_pred or probabilities (or both).")
        y_pred = np.asarray(probabilities).argmax(axis=1)
    y_pred = _as_labels(y_pred)
    if not len(images) == len(y_true) == len(y_pred):
        raise ValueError(
            f"images, y_true and y_pred differ in length: {len(images)}, {len(y_true)}, {len(y_pred)}."
        )

    wrong = np.asarray(mistakes, dtype=np.int64)
    if wrong.size == 0:
        return _message(
            path, "Misclassified test images", "No mistakes: every test image was classified correctly."
        )
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}.")
    shown = wrong[:limit]
    order = "most confident first" if probabilities is not None else "in test-set order"

    titles = [
        _mistake_title(
            _name(y_true[index], class_names),
            _name(y_pred[index], class_names),
            None if probabilities is None else float(np.asarray(probabilities)[index, y_pred[index]]),
        )
        for index in shown
    ]
    # One image of all the tiles on one axes: 36 axes with an image each took
    # most of a training run's figure time, and the picture is the same.
    cols = min(6, len(shown))
    rows = math.ceil(len(shown) / cols)
    tile_height, tile_width = images.shape[1:3]
    title_lines = max(title.count("\n") + 1 for title in titles)
    gap_x, gap_y = round(tile_width * 0.22), round(tile_height * (0.1 + 0.16 * title_lines))
    mosaic = _mosaic(images[shown], rows, cols, gap_x, gap_y)
    width = cols * 1.75
    mosaic_height = 0.96 * width * mosaic.shape[0] / mosaic.shape[1]
    height = mosaic_height + 0.6
    figure = Figure(figsize=(width, height))
    figure.suptitle(
        f"Misclassified test images, {order} ({len(shown)} of {wrong.size})",
        fontsize=12,
        color=TEXT_COLOR,
        fontweight="bold",
    )
    ax = figure.add_axes((0.02, 0.1 / height, 0.96, mosaic_height / height))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    for position, title in enumerate(titles):
        row, col = divmod(position, cols)
        x = col * (tile_width + gap_x) + (tile_width - 1) / 2
        y = gap_y + row * (tile_height + gap_y) - 1.5  # just above the tile (image rows grow downwards)
        ax.text(x, y, title, ha="center", va="bottom", fontsize=8.5, color="#991b1b")
    return _save(figure, path)


def reliability_diagram(calibration: Mapping, path: Path | str) -> Path:
    """Accuracy against confidence per bin, before and after temperature scaling.

    `calibration` is metrics.json's "calibration" entry: bins_uncalibrated,
    bins_calibrated (see digitlab.evaluate.reliability_bins), ece_* and temperature.
    """
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    panels = (
        ("bins_uncalibrated", "ece_uncalibrated", "Model output"),
        ("bins_calibrated", "ece_calibrated", f"Temperature scaled (T = {calibration['temperature']:.2f})"),
    )
    for position, (bins_key, ece_key, title) in enumerate(panels, start=1):
        ax = figure.add_subplot(1, 2, position)
        rows = [row for row in calibration[bins_key] if row["count"]]
        centers = [(row["low"] + row["high"]) / 2 for row in rows]
        width = rows[0]["high"] - rows[0]["low"] if rows else 0.1
        ax.bar(centers, [row["accuracy"] for row in rows], width=width * 0.9, color="#2563eb", alpha=0.8,
               label="accuracy in bin")
        ax.plot([0, 1], [0, 1], linestyle="--", color="#6b7280", label="perfect calibration")
        ax.plot(centers, [row["confidence"] for row in rows], "o", color="#ea580c", markersize=4,
                label="mean confidence in bin")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{title}\nECE {calibration[ece_key]:.2%}", fontsize=11, color=TEXT_COLOR)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    figure.suptitle("Reliability diagram (test set)", fontsize=13, color=TEXT_COLOR, fontweight="bold")
    return _save(figure, path)
