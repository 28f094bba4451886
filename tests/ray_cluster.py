"""Checks on a two-node Ray cluster on loopback; tests/test_ray.py runs this file inside `unshare --net`.

The module starts the cluster once (`ray start --head`, then a second node with
`ray start --address`, one CPU each; token authentication off, as a local test
cluster needs) and stops it at the end. Outside a namespace made by test_ray.py
the module skips itself: it must never start Ray on a network others can reach.
The namespace has its own processes too, so `ray stop --force` at the end
stops this cluster only.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_vision_fixtures import mnist_sheet

from digitlab.data import load_mnist

if os.environ.get("DIGITLAB_IN_NETNS") != "1":
    pytest.skip("run by tests/test_ray.py inside a loopback-only network namespace", allow_module_level=True)

RAY = str(Path(sys.executable).with_name("ray"))
# RAY_worker_niceness: Ray starts its workers niced (15), so any other work on the machine, such as
# the rest of the suite on the other core, would starve them; here they run as the test does.
ENVIRONMENT = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}
NODE_OPTIONS = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=150000000"]
# Images of the big folder: small drawings (the fast canvas path) and some photos of numbers; with
# batch's 8 blocks of 32-image batches, every block and both nodes get work.
DRAWINGS, PHOTOS = 600, 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _digitlab(*arguments: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "digitlab", *arguments], capture_output=True, text=True,
                          env=ENVIRONMENT, timeout=600, cwd=cwd)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def cluster():
    """The address of a two-node Ray cluster on 127.0.0.1, stopped when the module ends."""
    port = _free_port()
    start = [RAY, "start", "--disable-usage-stats"]
    subprocess.run([*start, "--head", f"--port={port}", "--include-dashboard=false", *NODE_OPTIONS],
                   check=True, capture_output=True, env=ENVIRONMENT, timeout=120)
    try:
        subprocess.run([*start, f"--address=127.0.0.1:{port}", *NODE_OPTIONS],
                       check=True, capture_output=True, env=ENVIRONMENT, timeout=120)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, env=ENVIRONMENT, timeout=120)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """DRAWINGS small digit drawings and PHOTOS photos of numbers, in two subfolders, plus three bad files."""
    root = tmp_path_factory.mktemp("images")
    (root / "drawings").mkdir()
    (root / "photos").mkdir()
    _, (images, _) = load_mnist()
    images = images[:DRAWINGS]
    for index, image in enumerate(images):
        Image.fromarray(255 - image).resize((56, 56)).save(root / "drawings" / f"{index:05d}.png")
    for index in range(PHOTOS):
        start = (7 * index) % (DRAWINGS - 5)
        (root / "photos" / f"{index:03d}.jpg").write_bytes(mnist_sheet(images[start:start + 1 + index % 5]))
    (root / "photos" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a JPEG at all")
    (root / "photos" / "empty.png").write_bytes(b"")
    (root / "photos" / "truncated.png").write_bytes((root / "drawings" / "00000.png").read_bytes()[:60])
    return root


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_every_node_is_on_loopback(cluster):
    import ray

    ray.init(address=cluster, logging_level="ERROR")
    try:
        nodes = [node for node in ray.nodes() if node["Alive"]]
        assert len(nodes) == 2
        assert {node["NodeManagerAddress"] for node in nodes} == {"127.0.0.1"}
    finally:
        ray.shutdown()


def test_batch_on_the_cluster_equals_predict(cluster, folder, tmp_path):
    out = tmp_path / "readings.jsonl"
    done = _digitlab("batch", str(folder), "--out", str(out), "--ray-address", cluster)
    assert "2 Ray nodes (127.0.0.1, 127.0.0.1)" in done.stdout
    predicted = _digitlab("predict", "--json", str(folder), check=False)
    assert predicted.returncode == 2  # predict says some files were unreadable; batch wrote them as rows
    batch, reference = _lines(out.read_text()), _lines(predicted.stdout)
    assert len(batch) == DRAWINGS + PHOTOS + 3
    assert [row["path"] for row in batch] == [row["path"] for row in reference]
    for got, expected in zip(batch, reference):
        assert got.keys() == expected.keys()
        if "error" in expected:
            assert got["error"] == expected["error"]
            continue
        assert got["prediction"] == expected["prediction"]
        assert abs(got["confidence"] - expected["confidence"]) <= 1e-6
        assert [digit["box"] for digit in got["digits"]] == [digit["box"] for digit in expected["digits"]]
        for digit, reference_digit in zip(got["digits"], expected["digits"]):
            assert np.allclose(digit["probabilities"], reference_digit["probabilities"], atol=1e-6)
    assert out.read_text() == predicted.stdout  # in fact the very same bytes
    assert sum("error" in row for row in batch) == 3


def test_batch_reads_a_list_or_a_parquet_file_of_paths_into_parquet(cluster, folder, tmp_path):
    import pyarrow as arrow
    import pyarrow.parquet as parquet

    paths = sorted(str(path) for path in (folder / "photos").iterdir())
    relative = [str(Path(path).relative_to(folder)) for path in paths]
    listing = tmp_path / "paths.txt"  # paths relative to the folder batch runs in (the actors run elsewhere)
    listing.write_text("# photos to read\n" + "\n".join(relative) + "\n\nmissing.png\n")
    table_of_paths = tmp_path / "paths.parquet"
    parquet.write_table(arrow.table({"path": paths, "other": list(range(len(paths)))}), table_of_paths)
    jsonl = tmp_path / "from-list.jsonl"
    _digitlab("batch", str(listing), "--out", str(jsonl), "--ray-address", cluster, "--batch-size", "8", cwd=folder)
    rows = _lines(jsonl.read_text())
    assert [row["path"] for row in rows] == relative + ["missing.png"]
    assert "error" in rows[-1] and "missing.png" in rows[-1]["error"]
    assert sum(bool(row.get("prediction")) for row in rows) >= PHOTOS // 2
    out = tmp_path / "from-table.parquet"
    _digitlab("batch", str(table_of_paths), "--out", str(out), "--ray-address", cluster)
    table = parquet.read_table(out)
    assert table.column_names == ["path", "prediction", "confidence", "digits", "error"]
    as_json = [{key: value for key, value in row.items() if value is not None} for row in table.to_pylist()]
    assert [{**row, "path": str(folder / row["path"])} for row in rows[:-1]] == as_json


def test_bad_inputs_are_one_clear_sentence(cluster, tmp_path):
    missing = _digitlab("batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.jsonl"), check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    not_parquet = tmp_path / "broken.parquet"
    not_parquet.write_bytes(b"PAR1 but not really")
    broken = _digitlab("batch", str(not_parquet), "--out", str(tmp_path / "x.jsonl"), check=False)
    assert broken.returncode != 0 and "not a readable Parquet file" in broken.stderr
    assert "Traceback" not in broken.stderr
    (tmp_path / "one.png").write_bytes(b"")
    nobody = _digitlab("batch", str(tmp_path), "--out", str(tmp_path / "x.jsonl"), "--ray-address",
                       f"127.0.0.1:{_free_port()}", check=False)
    assert nobody.returncode != 0 and "could not join the Ray cluster" in nobody.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_a_four_trial_sweep_finishes_every_trial_and_chooses_on_validation(cluster, tmp_path):
    runs = tmp_path / "runs"
    done = _digitlab("tune", "--model", "mlp", "--trials", "4", "--epochs", "2", "--limit-train", "2000",
                     "--limit-test", "500", "--runs-dir", str(runs), "--ray-address", cluster)
    (sweep_dir,) = [path for path in runs.iterdir() if "-sweep-" in path.name]
    for name in ("sweep.json", "trials.csv", "trials.md", "trials.png"):
        assert (sweep_dir / name).stat().st_size > 0, name
    sweep = json.loads((sweep_dir / "sweep.json").read_text())
    rows = sweep["trials"]
    assert len(rows) == 4 and all(row["status"] == "finished" for row in rows), rows
    trials = sorted(path for path in runs.iterdir() if path != sweep_dir)
    assert sorted(Path(row["path"]) for row in rows) == [path.resolve() for path in trials]
    for row in rows:
        run_dir = Path(row["path"])
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert (run_dir / "report.html").is_file() and metrics["status"] == "finished"
        # A trial ASHA stopped ran 1 epoch of 2 and says so; the others ran both.
        assert metrics["epochs_run"] == (1 if row["stopped_early"] else 2)
        assert metrics.get("stopped_early_after_epoch") == (1 if row["stopped_early"] else None)
        assert row["validation_accuracy"] == metrics["validation_accuracy"]
    # Chosen on validation: best first; the test accuracy is in no row.
    accuracies = [row["validation_accuracy"] for row in rows]
    assert accuracies == sorted(accuracies, reverse=True) and sweep["best"]["run"] == rows[0]["run"]
    assert not any("test" in key for row in rows for key in row)
    assert sweep["best_command"].startswith("digitlab train --model mlp --epochs 2")
    assert f"Train these settings: {sweep['best_command']}" in done.stdout
    assert "Configuration for experiment" not in done.stdout  # Tune's own console output stays out
    # Four samples of the search space, four different settings.
    knobs = sorted(json.dumps([row[name] for name in sweep["search_space"]]) for row in rows)
    assert len(set(knobs)) == 4


def test_a_two_worker_training_run_on_the_cluster_finishes_and_resumes(cluster, tmp_path):
    runs = tmp_path / "runs"
    done = _digitlab("train", "--model", "mlp", "--tiny", "--epochs", "1", "--ray-workers", "2", "--ray-address",
                     cluster, "--runs-dir", str(runs))
    assert "Epoch 1/1 (Ray workers)" in done.stderr
    (run_dir,) = runs.iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    assert metrics["status"] == "finished" and metrics["epochs_run"] == 1 and config["ray_workers"] == 2
    assert metrics["reload_identical"] and (run_dir / "report.html").is_file()
    assert metrics["test_accuracy"] > 0.5  # 2,000 images, one epoch: a model that learned, not chance
    # --resume with more epochs continues on the workers from the run's checkpoint.
    _digitlab("train", "--resume", str(run_dir), "--epochs", "2", "--ray-address", cluster)
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,accuracy,loss,val_accuracy,val_loss" and [line.split(",")[0] for line in
                                                                           history[1:]] == ["0", "1"]
    resumed = json.loads((run_dir / "metrics.json").read_text())
    assert resumed["epochs_run"] == 2 and resumed["resumed"] is True
    assert resumed["validation_accuracy"] > metrics["validation_accuracy"]
    # More workers than the cluster has CPUs would wait forever: one sentence instead.
    too_many = _digitlab("train", "--model", "mlp", "--tiny", "--ray-workers", "3", "--ray-address", cluster,
                         "--runs-dir", str(tmp_path / "more"), check=False)
    assert too_many.returncode == 1 and "--ray-workers 3 needs 3 CPUs, one per worker; the Ray cluster has 2." \
        in too_many.stderr and "Traceback" not in too_many.stderr
    assert not (tmp_path / "more").exists() or not any((tmp_path / "more").iterdir())  # no failed run left behind
