"""Each figure function writes a valid PNG, including the edge cases a real run can hit."""

import numpy as np
import pytest
from PIL import Image

from digitlab.evaluate import most_confident_mistakes
from digitlab.report import confusion_heatmap, history_plot, misclassified_gallery, sample_grid

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(12, 28, 28), dtype=np.uint8)
LABELS = np.arange(12) % 10


def assert_png(path, returned):
    assert returned == path
    assert path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        image.verify()
    assert width > 100 and height > 100
    # Modest size, so an embedded report stays light (the gallery is the largest figure).
    assert path.stat().st_size < 600_000


@pytest.mark.parametrize(
    "images",
    [IMAGES, IMAGES.reshape(12, 784), IMAGES[..., None], IMAGES.astype(np.float32) / 255.0],
    ids=["uint8", "flat", "channel", "float"],
)
def test_sample_grid_accepts_common_image_layouts(tmp_path, images):
    path = tmp_path / "samples.png"
    assert_png(path, sample_grid(images, LABELS, path))


def test_sample_grid_with_fewer_images_than_cells_and_names(tmp_path):
    path = tmp_path / "nested" / "samples.png"  # The parent folder is created.
    names = [f"class {index}" for index in range(10)]
    assert_png(path, sample_grid(IMAGES[:4], np.eye(10)[LABELS[:4]], path, rows=2, cols=3, class_names=names))


def test_sample_grid_rejects_mismatched_labels(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        sample_grid(IMAGES, LABELS[:3], tmp_path / "samples.png")


HISTORY = {
    "accuracy": [0.86, 0.94, 0.96],
    "loss": [0.45, 0.2, 0.14],
    "val_accuracy": [0.95, 0.96, 0.97],
    "val_loss": [0.16, 0.12, 0.1],
}


@pytest.mark.parametrize(
    "history",
    [
        HISTORY,
        {"accuracy": HISTORY["accuracy"], "loss": HISTORY["loss"]},  # validation_split=0
        {"loss": [0.5]},  # one epoch, no accuracy metric
        {},  # nothing recorded: a picture that says so
    ],
    ids=["full", "no-validation", "loss-only", "empty"],
)
def test_history_plot(tmp_path, history):
    path = tmp_path / "history.png"
    assert_png(path, history_plot(history, path))


@pytest.mark.parametrize("epochs", [1, 3, 40])
def test_history_plot_marks_whole_epochs_only(tmp_path, monkeypatch, epochs):
    from digitlab.report import figures

    drawn = []
    original_save = figures._save
    monkeypatch.setattr(figures, "_save", lambda figure, path: (drawn.append(figure), original_save(figure, path))[1])
    history = {"accuracy": list(np.linspace(0.9, 0.99, epochs)), "loss": list(np.linspace(0.4, 0.05, epochs))}
    history_plot(history, tmp_path / "history.png")
    for ax in drawn[0].axes:
        low, high = ax.get_xlim()
        ticks = [tick for tick in ax.get_xticks() if low <= tick <= high]
        assert ticks and all(float(tick).is_integer() and 1 <= tick <= epochs for tick in ticks), ticks


def test_confusion_heatmap(tmp_path):
    matrix = np.diag(np.full(10, 90))
    matrix[4, 9], matrix[9, 4] = 7, 3
    path = tmp_path / "confusion.png"
    assert_png(path, confusion_heatmap(matrix, path))
    named = tmp_path / "named.png"
    assert_png(named, confusion_heatmap(matrix.tolist(), named, class_names=[f"c{i}" for i in range(10)]))


def test_confusion_heatmap_without_mistakes(tmp_path):
    path = tmp_path / "confusion.png"
    assert_png(path, confusion_heatmap(np.diag([5, 5, 5]), path))


def test_misclassified_gallery(tmp_path):
    y_pred = LABELS.copy()
    y_pred[[1, 5, 7]] = [7, 3, 1]
    probabilities = np.full((12, 10), 0.01)
    probabilities[np.arange(12), y_pred] = 0.91
    path = tmp_path / "misclassified.png"
    mistakes = most_confident_mistakes(LABELS, y_pred, probabilities)
    assert_png(path, misclassified_gallery(IMAGES, LABELS, y_pred, mistakes, path, probabilities, limit=2))
    # y_pred may be left out (argmax of probabilities), probabilities too.
    assert_png(path, misclassified_gallery(IMAGES, LABELS, None, mistakes, path, probabilities))
    assert_png(path, misclassified_gallery(IMAGES, LABELS, y_pred, mistakes, path))


def test_misclassified_gallery_with_no_mistakes(tmp_path):
    path = tmp_path / "misclassified.png"
    probabilities = np.eye(10)[LABELS]
    mistakes = most_confident_mistakes(LABELS, LABELS, probabilities)
    assert_png(path, misclassified_gallery(IMAGES, LABELS, LABELS, mistakes, path, probabilities))


def test_gallery_tiles_keep_each_image_in_place():
    """The gallery draws its images as one tiled picture: each tile is its image, scaled to 0..1, gaps white."""
    from digitlab.report.figures import _mosaic

    images = IMAGES[:5]
    mosaic = _mosaic(images, rows=2, cols=3, gap_x=4, gap_y=7)
    assert mosaic.shape == (2 * (28 + 7), 3 * (28 + 4) - 4)
    for position in range(5):
        row, col = divmod(position, 3)
        y, x = 7 + row * 35, col * 32
        np.testing.assert_allclose(mosaic[y : y + 28, x : x + 28], images[position] / 255.0)
    assert np.all(mosaic[:7] == 1.0) and np.all(mosaic[7:35, 28:32] == 1.0)
    assert np.all(mosaic[42:, 64:] == 1.0)  # the empty sixth place
    # Images already in 0..1 and colour images keep their values.
    np.testing.assert_allclose(_mosaic(images / 255.0, 1, 5, 2, 3)[3:, :28], images[0] / 255.0)
    colour = np.repeat(images[..., None], 3, axis=-1)
    assert _mosaic(colour, 2, 3, 4, 7).shape == (70, 92, 3)
