"""Extra training digits made by the vision pipeline (--extra-data), and fine-tuning (--init-from)."""

from __future__ import annotations

import csv
import subprocess
import sys
import json
from pathlib import Path

import numpy as np
import pytest

from digitlab.cli import main
from digitlab.data import load_dataset
from digitlab.vision import analyze
from digitlab.synth import training_data
from digitlab.synth import CALIBRATION_SEEDS, TEST_SEEDS, TRAINING_SEEDS
from digitlab.synth.training_data import extra_training_data, photo_digits, render_low_resolution


@pytest.fixture(scope="module")
def mnist_digits():
    dataset = load_dataset("mnist")
    return dataset.x_train[:40], dataset.y_train[:40]


def test_low_resolution_page_is_a_small_dark_on_light_scan(mnist_digits):
    images, _ = mnist_digits
    found = 0
    for index, digit in enumerate(images[:20]):
        page = render_low_resolution(digit, np.random.default_rng(index))
        assert page.dtype == np.uint8 and page.shape[0] == page.shape[1]
        assert training_data.LOWRES_PAGE_SIDES[0] <= page.shape[0] <= training_data.LOWRES_PAGE_SIDES[1]
        assert page.max() >= 250 and page.min() < 100  # white paper, dark ink
        found += len(analyze(page).digits) == 1
    # A digit that fills its page to the edge is sometimes lost by segmentation; most are read as one digit.
    assert found >= 16


def test_low_resolution_rendering_is_seeded(mnist_digits):
    digit = mnist_digits[0][0]
    first = render_low_resolution(digit, np.random.default_rng([7, 0]))
    again = render_low_resolution(digit, np.random.default_rng([7, 0]))
    other = render_low_resolution(digit, np.random.default_rng([8, 0]))
    assert np.array_equal(first, again)
    assert not (first.shape == other.shape and np.array_equal(first, other))


def test_a_blank_digit_is_refused():
    with pytest.raises(ValueError, match="no ink"):
        render_low_resolution(np.zeros((28, 28), np.uint8), np.random.default_rng(0))


def test_lowres_digits_are_model_inputs_with_their_labels(mnist_digits):
    images, labels = mnist_digits
    x, y = extra_training_data("lowres", images=images, labels=labels, seed=3)
    assert x.dtype == np.float32 and x.shape[1:] == (28, 28) and 0.0 <= x.min() and x.max() <= 1.0
    assert 0.8 * len(images) <= len(x) <= len(images)  # a few may be lost by segmentation, not most
    assert len(y) == len(x) and set(y) <= set(labels)
    # Each input is a centred MNIST-style digit: ink in the middle, border empty.
    assert np.all(x[:, :2, :].max(axis=(1, 2)) < 0.05) and np.all(x[:, 10:18, 10:18].max(axis=(1, 2)) > 0.2)


def test_extra_data_is_cached_and_keyed_by_seed(mnist_digits, monkeypatch):
    images, labels = mnist_digits
    first = extra_training_data("lowres", images=images[:12], labels=labels[:12], seed=5)

    def must_not_run(*args, **kwargs):
        raise AssertionError("made again although cached")

    monkeypatch.setattr(training_data, "lowres_digits", must_not_run)
    again = extra_training_data("lowres", images=images[:12], labels=labels[:12], seed=5)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    with pytest.raises(AssertionError, match="made again"):
        extra_training_data("lowres", images=images[:12], labels=labels[:12], seed=6)


def test_a_truncated_cache_file_is_made_again(mnist_digits, tmp_path):
    images, labels = mnist_digits
    first = extra_training_data("lowres", images=images[:8], labels=labels[:8], seed=1, cache_dir=tmp_path)
    (cached,) = (tmp_path / "extra").glob("*.npz")
    cached.write_bytes(cached.read_bytes()[:100])
    again = extra_training_data("lowres", images=images[:8], labels=labels[:8], seed=1, cache_dir=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_data_made_by_an_older_pipeline_is_removed(mnist_digits, tmp_path, monkeypatch):
    images, labels = mnist_digits
    monkeypatch.setattr(training_data, "vision_code_hash", lambda: "old000000000")
    extra_training_data("lowres", images=images[:6], labels=labels[:6], seed=1, cache_dir=tmp_path)
    extra_training_data("lowres", images=images[:6], labels=labels[:6], seed=2, cache_dir=tmp_path)
    monkeypatch.setattr(training_data, "vision_code_hash", lambda: "new000000000")
    extra_training_data("lowres", images=images[:6], labels=labels[:6], seed=1, cache_dir=tmp_path)
    names = sorted(path.name.split("-", 2)[2] for path in (tmp_path / "extra").glob("*.npz"))
    # seed 1 remade by the new pipeline replaces its old file; seed 2 (not remade) is kept.
    assert names == ["seed1-visionnew000000000.npz", "seed2-visionold000000000.npz"]


def test_photo_digits_come_from_training_seeds_only():
    assert max(TRAINING_SEEDS) < min(CALIBRATION_SEEDS) < min(TEST_SEEDS)
    x, y = photo_digits(6)
    assert len(x) == len(y) >= 3 and x.shape[1:] == (28, 28)
    assert set(int(label) for label in y) <= set(range(10))
    with pytest.raises(ValueError, match="at most"):
        photo_digits(len(TRAINING_SEEDS) // 2 + 1)


def test_small_handwriting_photos_are_other_photos_read_the_same_way():
    x, y = photo_digits(6, small=True)
    big_x, _ = photo_digits(6)
    assert len(x) == len(y) >= 3 and x.shape[1:] == (28, 28) and x.dtype == np.float32
    assert not any(np.array_equal(small, big) for small in x for big in big_x)


def test_fine_tuning_with_extra_data(tmp_path):
    """A tiny run, then a tiny fine-tune of it with both kinds of extra digits."""
    runs = tmp_path / "runs"
    base = ["--tiny", "--quiet", "--engine", "keras", "--runs-dir", str(runs)]
    assert main(["train", "--model", "mlp", *base]) == 0
    (first_run,) = runs.iterdir()
    # A learning rate too small to move the weights: the fine-tuned model must score what its start did.
    assert main(["train", "--model", "mlp", "--init-from", str(first_run), "--extra-data", "lowres,photos",
                 "--extra-photos", "5", "--learning-rate", "1e-9", *base]) == 0
    (tuned,) = set(runs.iterdir()) - {first_run}
    metrics = json.loads((tuned / "metrics.json").read_text())
    config = json.loads((tuned / "config.json").read_text())
    assert config["init_from"] == str(first_run) and config["extra_data"] == ["lowres", "photos"]
    assert metrics["init_from"]["sha256"] and metrics["extra_training_digits"] > 1000
    start_accuracy = json.loads((first_run / "metrics.json").read_text())["test_accuracy"]
    assert start_accuracy > 0.6 and abs(metrics["test_accuracy"] - start_accuracy) <= 0.01
    # Validation is still MNIST's held-out tenth (200 images), not the extra digits.
    assert metrics["n_train"] == 2000 and len(_history(tuned)) == 2
    assert float(_history(tuned)[-1]["val_accuracy"]) * 200 == pytest.approx(round(float(_history(tuned)[-1]["val_accuracy"]) * 200))


def _history(run_dir: Path) -> list[dict]:
    with (run_dir / "history.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_a_script_without_a_main_guard_gets_one_clear_error(tmp_path):
    """Spawned workers import the calling script again; without the guard the pool breaks."""
    script = tmp_path / "make_digits.py"
    script.write_text(
        "import numpy as np\n"
        "from digitlab.synth.training_data import lowres_digits\n"
        "lowres_digits(np.zeros((4, 28, 28), np.uint8), np.zeros(4, np.uint8), seed=0)\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode != 0
    assert "if __name__ == \"__main__\":" in result.stderr and "BrokenProcessPool" not in result.stderr
