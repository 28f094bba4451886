"""`digitlab predict`: files and folders, JSON Lines, the table, --debug, bad input and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys

import pytest
from PIL import Image

from test_vision_fixtures import mnist_digits, mnist_sheet, trained_model_path

from digitlab.cli import main


@pytest.fixture()
def folder(tmp_path):
    """Two readable photos (one in a subfolder), a text file, an empty file and a truncated image."""
    images, labels = mnist_digits(6)
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.jpg").write_bytes(mnist_sheet(images[:4]))
    (tmp_path / "sub" / "b.png").write_bytes(mnist_sheet(images[4:], dark_ink=False, jpeg=False))
    (tmp_path / "notes.txt").write_text("skipped: not an image extension")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "fake.jpg").write_text("not really a JPEG")
    (tmp_path / "truncated.png").write_bytes(mnist_sheet(images[:2], jpeg=False)[:400])
    expected = {"a.jpg": "".join(map(str, labels[:4])), "b.png": "".join(map(str, labels[4:]))}
    return tmp_path, expected


def run_json(capsys, *args) -> tuple[int, list[dict]]:
    status = main(["predict", "--model", str(trained_model_path()), "--json", *map(str, args)])
    lines = capsys.readouterr().out.strip().splitlines()
    return status, [json.loads(line) for line in lines]


def test_folder_as_json_lines(folder, capsys):
    root, expected = folder
    status, records = run_json(capsys, root, root / "missing.png")
    assert status == 2
    by_name = {os.path.basename(record["path"]): record for record in records}
    assert set(by_name) == {"a.jpg", "b.png", "empty.png", "fake.jpg", "truncated.png", "missing.png"}
    for name, text in expected.items():
        record = by_name[name]
        assert set(record) == {"path", "prediction", "confidence", "digits"}
        assert record["prediction"] == text
        assert [digit["digit"] for digit in record["digits"]] == [int(c) for c in text]
    for name in ("empty.png", "fake.jpg", "truncated.png", "missing.png"):
        assert set(by_name[name]) == {"path", "error"}
        assert by_name[name]["error"].endswith(".") and name in by_name[name]["error"]


def test_all_readable_exits_zero_and_table(folder, capsys):
    root, expected = folder
    status = main(["predict", "--model", str(trained_model_path()), str(root / "a.jpg"), str(root / "sub")])
    out = capsys.readouterr().out
    assert status == 0
    assert out.splitlines()[0].split()[:3] == ["path", "prediction", "confidence"]
    assert expected["a.jpg"] in out and expected["b.png"] in out


def test_debug_dir(folder, tmp_path_factory, capsys):
    root, _ = folder
    debug = tmp_path_factory.mktemp("debug")
    status, _ = run_json(capsys, "--debug", debug, root / "a.jpg")
    assert status == 0
    (image_dir,) = debug.iterdir()
    assert (image_dir / "3-ink.png").is_file() and len(list(image_dir.glob("6-digit-*.png"))) == 4


def test_blank_image_predicts_nothing(tmp_path, capsys):
    Image.new("RGB", (640, 480), (240, 238, 230)).save(tmp_path / "blank.jpg")
    status, (record,) = run_json(capsys, tmp_path / "blank.jpg")
    assert status == 0 and record["prediction"] == "" and record["digits"] == []


def test_subprocess_bad_input_never_prints_a_traceback(folder):
    root, _ = folder
    result = subprocess.run(
        [sys.executable, "-m", "digitlab", "predict", "--json", "--model", str(trained_model_path()),
         str(root / "fake.jpg"), str(root / "a.jpg"), str(root / "nope")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert ["error" in record for record in records] == [True, False, True]


def test_missing_model_is_one_line_error(tmp_path, capsys):
    status = main(["predict", "--model", str(tmp_path / "none.keras"), str(tmp_path)])
    assert status == 1 and "does not exist" in capsys.readouterr().err


def test_jobs_read_on_worker_processes_give_the_same_output_in_the_same_order(tmp_path, capsys):
    """--jobs 2 (two spawned workers, one ONNX thread each) prints exactly what --jobs 1 prints."""
    images, _ = mnist_digits(30)
    for index in range(12):
        count = 1 + index % 4
        start = (2 * index) % 26
        (tmp_path / f"photo-{index:02d}.jpg").write_bytes(mnist_sheet(images[start:start + count]))
    (tmp_path / "photo-05-corrupt.png").write_bytes(b"\x89PNG not really")
    for model in ([], ["--reader", "segments"]):  # the shipped readers: auto, and digit by digit
        outputs = []
        for jobs in ("1", "2"):
            status = main(["predict", "--json", "--jobs", jobs, *model, str(tmp_path), str(tmp_path / "gone.png")])
            outputs.append((status, capsys.readouterr().out))
        assert outputs[0] == outputs[1]
        assert outputs[0][0] == 2
        lines = [json.loads(line) for line in outputs[0][1].splitlines()]
        assert len(lines) == 14 and sum("error" in line for line in lines) == 2
        assert sum(bool(line.get("prediction")) for line in lines) >= 10


def test_jobs_must_be_positive_and_cannot_write_debug_images(folder, capsys):
    root, _ = folder
    with pytest.raises(SystemExit) as stopped:
        main(["predict", "--jobs", "0", str(root / "a.jpg")])
    assert stopped.value.code == 2 and "at least 1" in capsys.readouterr().err
    status = main(["predict", "--jobs", "2", "--debug", str(root / "debug"), str(root / "a.jpg")])
    assert status != 0 and "leave out --jobs" in capsys.readouterr().err


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]


def test_killing_predict_with_jobs_leaves_no_worker_behind(tmp_path):
    """SIGKILL to `predict --jobs 2` mid-run: its workers stop too (no orphans reading on)."""
    images, _ = mnist_digits(8)
    for index in range(150):
        (tmp_path / f"photo-{index:03d}.jpg").write_bytes(mnist_sheet(images[index % 5:index % 5 + 3]))
    process = subprocess.Popen([sys.executable, "-m", "digitlab", "predict", "--json", "--jobs", "2", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout.readline().startswith("{")  # the workers have read a batch: they exist
        workers = _children(process.pid)
        assert len(workers) >= 2
        handles = [os.pidfd_open(worker) for worker in workers]
    finally:
        process.kill()
        process.wait()
    try:
        for handle in handles:  # a pidfd becomes readable when its process has exited
            readable, _, _ = select.select([handle], [], [], 30)
            assert readable, "a --jobs worker outlived its killed parent by 30 s"
    finally:
        for worker, handle in zip(workers, handles):
            with contextlib.suppress(ProcessLookupError):  # when the test fails: no orphan left running
                os.kill(worker, signal.SIGKILL)
            os.close(handle)
