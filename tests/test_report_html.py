"""write_report makes one self-contained, escaped page from whatever a run dir holds."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from digitlab.errors import UserError
from digitlab.report import write_report

FIGURE_NAMES = ["samples.png", "history.png", "confusion.png", "misclassified.png"]
MALICIOUS = "<script>alert('x')</script>"


def tiny_png(path):
    Image.fromarray(np.full((8, 8), 128, dtype=np.uint8)).save(path)


def make_run_dir(tmp_path, figures=FIGURE_NAMES):
    run_dir = tmp_path / "20250101T000000Z-mlp"
    run_dir.mkdir()
    config = {
        "model": "mlp",
        "dataset": "mnist",
        "epochs": 2,
        "batch_size": 128,
        "validation_split": 0.1,
        "seed": 42,
        "optimizer": "adam",
        "learning_rate": 0.001,
        "loss": "categorical_crossentropy",
        "limit_train": None,
        "limit_test": None,
        "command": f"digitlab run --note {MALICIOUS}",
        "created_utc": "2025-01-01T00:00:00+00:00",
    }
    per_class = {str(d): {"precision": 0.97, "recall": 0.98, "f1": 0.975, "support": 1000} for d in range(10)}
    per_class["9"]["f1"] = 0.95
    matrix = (np.diag(np.full(10, 977)) + 0).tolist()
    metrics = {
        "model": "mlp",
        "dataset": "mnist",
        "test_accuracy": 0.9772,
        "test_loss": 0.078,
        "error_count": 228,
        "n_test": 10000,
        "per_class": per_class,
        "macro_avg": {"precision": 0.977, "recall": 0.977, "f1": 0.977, "support": 10000},
        "weighted_avg": {"precision": 0.977, "recall": 0.977, "f1": 0.977, "support": 10000},
        "confusion_matrix": matrix,
        "confused_pairs": [{"pair": "4↔9", "a": 4, "b": 9, "total": 23, "a_as_b": 14, "b_as_a": 9}],
        "reload_identical": True,
        "reload_accuracy": 0.9772,
        "timings_seconds": {"load_data": 0.2, "train": 15.1, "evaluate": 0.5, "total": 20.0},
        "parameters": 109386,
        "epochs_run": 2,
        "versions": {
            "python": "3.11.7",
            "keras": "3.15.1",
            "numpy": '<img src="https://evil.example/x.png">',
        },
        "data": {"source": "cache", "sha256": {"x_train": "ab" * 32}},
    }
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run_dir / "history.csv").write_text(
        "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.91,0.30,0.96,0.14\n1,0.96,0.13,0.97,0.10\n",
        encoding="utf-8",
    )
    for name in figures:
        tiny_png(run_dir / name)
    return run_dir


def assert_self_contained(page):
    # No resource is fetched from anywhere: no remote src/href, no scripts, no stylesheets to load.
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    assert page.count("<section") == page.count("</section>")


def test_report_is_self_contained_and_complete(tmp_path):
    run_dir = make_run_dir(tmp_path)
    path = write_report(run_dir)

    assert path == run_dir / "report.html"
    page = path.read_text(encoding="utf-8")
    assert_self_contained(page)
    assert page.count('src="data:image/png;base64,') == 4
    for text in ("mlp on MNIST", "97.72%", "0.0780", "228", "10,000", "passed", "15.1 s", "4↔9", "ab" * 32):
        assert text in page, text
    assert "2025-01-01 00:00 UTC" in page
    assert "Precision" in page and "Recall" in page and "F1" in page
    # Keras' CSVLogger counts epochs from 0; the page counts from 1.
    assert '<td class="num">1</td>' in page and '<td class="num">2</td>' in page


def test_report_escapes_values_from_the_run_dir(tmp_path):
    page = write_report(make_run_dir(tmp_path)).read_text(encoding="utf-8")
    assert MALICIOUS not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "evil.example" in page and '<img src="https://evil' not in page


def test_report_with_missing_figures(tmp_path):
    run_dir = make_run_dir(tmp_path, figures=["history.png"])
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert_self_contained(page)
    assert page.count('src="data:image/png;base64,') == 1
    assert "samples.png is not in this run directory" in page


def test_report_includes_extra_figures(tmp_path):
    run_dir = make_run_dir(tmp_path)
    tiny_png(run_dir / "learning_rate.png")
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 5
    assert "learning_rate.png" in page


def test_report_shows_calibration_when_measured(tmp_path):
    run_dir = make_run_dir(tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["calibration"] = {"temperature": 1.234, "fitted_on": "fitted on 6,000 validation images",
                              "ece_uncalibrated": 0.0123, "ece_calibrated": 0.0045}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    tiny_png(run_dir / "calibration.png")
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert 'id="calibration"' in page and "1.234" in page and "0.45%" in page
    assert "Other figures" not in page


def test_report_with_only_partial_metrics(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.json").write_text(json.dumps({"test_accuracy": "oops", "timings_seconds": None}))
    page = write_report(run_dir).read_text(encoding="utf-8")
    assert_self_contained(page)
    assert "config.json was not found" in page
    assert "—" in page


def test_report_needs_a_directory(tmp_path):
    with pytest.raises(UserError, match="not a directory"):
        write_report(tmp_path / "missing")
