"""A full disk or a read-only place: one sentence, exit status 4, nothing half-written, earlier files unchanged.

Every command that writes (train's run directory, export, ship, models pull, data
fetch) is run against a small tmpfs mounted over a folder of tmp_path: either
pre-filled so that the command starts and runs out of space part way, or mounted
read-only after the earlier files were copied in. Each case checks the same four
things: exit status 4 with one `digitlab: error:` line on stderr naming the path
(and no traceback), no temporary (.partial) file or staging folder left
behind, and every earlier file byte-identical.

Mounting needs root (CI runs as root). Elsewhere the tests skip, saying so; under
CI=true a skip fails (tests/conftest.py). Each mount is undone in the fixture's
teardown, whatever the test did. Commands run in their own process, as a user runs them.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digitlab.formats import RunConfig

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
SMALL = "cnn"  # the smallest shipped model: 0.17 MB model.keras, 0.14 MB model.onnx
ROOM = 60 * 1024  # what a "full" disk has left: less than any model file, more than a config.json
NEEDS_ROOT = "needs root to mount a small tmpfs (mount -t tmpfs); run the tests as root, as CI does"


class Mounts:
    """tmpfs mounts for one test; the fixture unmounts them all at the end."""

    def __init__(self, base: Path):
        self.base, self.mounted = base, []

    def _mount(self, name: str, size_mb: int, earlier: dict[str, Path | bytes]) -> Path:
        folder = self.base / name
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"mount -t tmpfs failed ({done.stderr.strip()}); {NEEDS_ROOT}, allowed to mount")
        self.mounted.append(folder)
        for relative, content in earlier.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                shutil.copyfile(content, path)
        return folder

    def full(self, name: str, size_mb: int, earlier: dict[str, Path | bytes], room: int = ROOM) -> Path:
        """A tmpfs holding `earlier`, filled up by a ballast file until only about `room` bytes are free."""
        folder = self._mount(name, size_mb, earlier)
        stats = os.statvfs(folder)
        ballast = stats.f_bavail * stats.f_frsize - room
        assert ballast > 0, f"a {size_mb} MB tmpfs is too small for the earlier files"
        with (folder / "ballast").open("wb") as handle:
            handle.truncate(0)
            for start in range(0, ballast, 1 << 20):
                handle.write(bytes(min(1 << 20, ballast - start)))
        return folder

    def read_only(self, name: str, size_mb: int, earlier: dict[str, Path | bytes]) -> Path:
        """A tmpfs holding `earlier`, then remounted read-only (EROFS, which stops root too)."""
        folder = self._mount(name, size_mb, earlier)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with pytest.raises(OSError) as refused:
            (folder / "probe").write_bytes(b"")
        assert refused.value.errno == errno.EROFS
        return folder

    def unmount_all(self) -> None:
        for folder in reversed(self.mounted):
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(folder)], capture_output=True)  # busy: detach it now


@pytest.fixture
def mounts(tmp_path):
    if os.geteuid() != 0:
        pytest.skip(NEEDS_ROOT)
    mounts = Mounts(tmp_path)
    try:
        yield mounts
    finally:
        mounts.unmount_all()


def digitlab(*args: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **environment})


def fingerprints(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` but the ballast, by relative path."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "ballast"}


def assert_cannot_write(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status 4, one `digitlab: error:` line naming what is given in `words`, no traceback."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 4 and len(lines) == 1, (done.returncode, done.stderr)
    assert lines[0].startswith("digitlab: error: "), done.stderr
    for word in words:
        assert word in lines[0], done.stderr
    return lines[0]


def assert_unchanged_and_nothing_left(folder: Path, before: dict[str, str], *, new_ok: tuple[str, ...] = ()) -> None:
    """Every earlier file byte-identical; no hidden temporary file or staging folder anywhere."""
    after = fingerprints(folder)
    assert {name: after.get(name) for name in before} == before
    leftovers = [path for path in folder.rglob("*") if path.name.startswith(".") or "partial" in path.name]
    assert not leftovers, leftovers
    unexpected = [name for name in after if name not in before and not name.startswith(new_ok)]
    assert not unexpected, unexpected


def earlier_run() -> dict[str, Path | bytes]:
    """A finished run from before, as the runs directory holds it (its model: a shipped one's file)."""
    return {"20260101T000000Z-cnn/model.keras": MODELS / SMALL / "model.keras",
            "20260101T000000Z-cnn/metrics.json": json.dumps({"test_accuracy": 0.99}).encode(),
            "20260101T000000Z-cnn/config.json": json.dumps(RunConfig(model=SMALL).to_dict()).encode()}


def shipped(name: str, folder_name: str | None = None) -> dict[str, Path]:
    return {f"{folder_name or name}/{path.name}": path for path in sorted((MODELS / name).iterdir())}


# ---------- digitlab train: the run directory ----------

TRAIN = ("train", "--model", "mlp", "--engine", "fast", "--epochs", "1", "--limit-train", "1000",
         "--limit-test", "200", "--quiet")


def test_training_into_a_full_runs_dir_stops_with_one_sentence(mounts):
    runs = mounts.full("runs", 2, earlier_run(), room=150 * 1024)  # room for the start, not the weights
    before = fingerprints(runs)
    done = digitlab(*TRAIN, "--runs-dir", str(runs))
    line = assert_cannot_write(done, "No space left on device", str(runs), "--runs-dir")
    # It started (a run directory with its config) and ran out part way.
    (new_run,) = [path for path in runs.iterdir() if path.is_dir() and not path.name.startswith("20260101")]
    assert (new_run / "config.json").is_file() and str(new_run) in line
    assert_unchanged_and_nothing_left(runs, before, new_ok=(new_run.name,))


def test_training_into_a_read_only_runs_dir_stops_with_one_sentence(mounts):
    runs = mounts.read_only("runs", 1, earlier_run())
    before = fingerprints(runs)
    done = digitlab(*TRAIN, "--runs-dir", str(runs))
    assert_cannot_write(done, "Read-only file system", str(runs), "--runs-dir")
    assert_unchanged_and_nothing_left(runs, before)


# ---------- digitlab export ----------

@pytest.fixture
def source_model(tmp_path) -> Path:
    folder = tmp_path / "source"
    folder.mkdir()
    return Path(shutil.copyfile(MODELS / SMALL / "model.keras", folder / "model.keras"))


def test_export_into_a_full_folder_keeps_the_earlier_export(mounts, source_model):
    out = mounts.full("exports", 1, {"model.onnx": MODELS / SMALL / "model.onnx"})
    before = fingerprints(out)
    done = digitlab("export", "--model", str(source_model), "--out", str(out / "model.onnx"), "--parity-images", "50")
    assert_cannot_write(done, "No space left on device", str(out / "model.onnx"), "--out")
    assert_unchanged_and_nothing_left(out, before)


@pytest.mark.parametrize("quantize", [False, True], ids=["onnx", "int8"])
def test_export_into_a_read_only_folder_fails_before_converting(mounts, source_model, quantize):
    out = mounts.read_only("exports", 1, {"model.onnx": MODELS / SMALL / "model.onnx"})
    before = fingerprints(out)
    target = out / ("model.int8.onnx" if quantize else "model.onnx")
    done = digitlab("export", "--model", str(source_model), "--out", str(target),
                    *(["--quantize", "int8"] if quantize else []))
    assert_cannot_write(done, "Read-only file system", str(out), "--out")
    assert_unchanged_and_nothing_left(out, before)


# ---------- digitlab ship ----------

@pytest.fixture
def finished_run(tmp_path) -> Path:
    """A full-size finished run as far as ship checks it before writing (its model: a shipped one's file)."""
    run = tmp_path / "run"
    for relative, content in earlier_run().items():
        path = run / Path(relative).name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content) if isinstance(content, bytes) else shutil.copyfile(content, path)
    return run


@pytest.mark.parametrize("place", ["full", "read-only"])
def test_ship_over_an_earlier_model_keeps_it_when_it_cannot_write(mounts, finished_run, place):
    earlier = shipped(SMALL, "demo")
    models = mounts.full("models", 2, earlier) if place == "full" else mounts.read_only("models", 1, earlier)
    before = fingerprints(models)
    done = digitlab("ship", str(finished_run), "--name", "demo", DIGITLAB_MODELS_DIR=str(models))
    reason = "No space left on device" if place == "full" else "Read-only file system"
    assert_cannot_write(done, reason, str(models), "DIGITLAB_MODELS_DIR")
    assert_unchanged_and_nothing_left(models, before)


# ---------- digitlab models pull ----------

def stale_copy(name: str) -> dict[str, Path | bytes]:
    """An earlier release of a shipped model: the same weights, but its model.onnx differs from the manifest's."""
    onnx = pytest.importorskip("onnx", reason="the export extra: pip install 'digitlab[export]'")
    proto = onnx.load(str(MODELS / name / "model.onnx"))
    proto.doc_string = "an earlier release"
    return {**shipped(name), f"{name}/model.onnx": proto.SerializeToString()}


def assert_reads_digits(model_folder: Path) -> None:
    from digitlab.data import load_mnist
    from digitlab.recognize import Recognizer

    _, (images, labels) = load_mnist()
    recognizer = Recognizer(model_folder, runtime="onnx")
    read = [recognizer.predict_pixels(image)["prediction"] for image in images[:20]]
    assert sum(text == str(label) for text, label in zip(read, labels[:20])) >= 18


@pytest.mark.parametrize("place", ["full", "read-only"])
def test_pull_into_a_full_or_read_only_models_dir_keeps_the_earlier_copies(mounts, place):
    earlier = {**stale_copy(SMALL), **shipped("mlp")}
    models = mounts.full("models", 2, earlier) if place == "full" else mounts.read_only("models", 2, earlier)
    before = fingerprints(models)
    # The stale cnn needs its model.onnx again (0.14 MB, more than the full disk's room): it runs out mid-copy.
    done = digitlab("models", "pull", SMALL, "--from", str(MODELS), DIGITLAB_MODELS_DIR=str(models))
    reason = "No space left on device" if place == "full" else "Read-only file system"
    assert_cannot_write(done, reason, str(models), "DIGITLAB_MODELS_DIR")
    assert_unchanged_and_nothing_left(models, before)
    assert_reads_digits(models / SMALL)  # the earlier copy is still whole and in use


# ---------- digitlab data fetch: the dataset cache ----------

@pytest.mark.parametrize("place", ["full", "read-only"])
def test_fetch_into_a_full_or_read_only_cache_keeps_the_cached_dataset(mounts, place):
    from digitlab.data import load_mnist
    from digitlab.data.cache import cache_path  # not in the front door: the tests of the data layer use it too

    load_mnist()  # the session's cache file exists from here on
    earlier = {"mnist.npz": cache_path("mnist")}
    # 55 MB of MNIST: a 64 MB tmpfs, left with 2 MB, runs out part way through the new file.
    cache = (mounts.full("cache", 64, earlier, room=2 << 20) if place == "full"
             else mounts.read_only("cache", 64, earlier))
    before = fingerprints(cache)
    done = digitlab("data", "fetch", "--force", DIGITLAB_CACHE=str(cache))
    reason = "No space left on device" if place == "full" else "Read-only file system"
    assert_cannot_write(done, reason, str(cache / "mnist.npz"), "DIGITLAB_CACHE")
    assert_unchanged_and_nothing_left(cache, before)
    # A reader still finds the whole earlier file: it loads and passes its checksums.
    verified = digitlab("data", "verify", DIGITLAB_CACHE=str(cache))
    assert verified.returncode == 0, verified.stderr


# ---------- the sentence itself ----------

@pytest.mark.parametrize("number, words", [
    (errno.ENOSPC, "No space left on device while writing runs/x; free space or choose another --runs-dir."),
    (errno.EDQUOT, "Disk quota exceeded while writing runs/x; free space or choose another --runs-dir."),
    (errno.EROFS, "Read-only file system while writing runs/x; choose another --runs-dir."),
    (errno.EACCES, "Permission denied for runs/x; choose another --runs-dir, or change its permissions."),
])
def test_each_write_failure_has_its_sentence(number, words):
    from digitlab.errors import is_write_failure, write_failure_sentence

    error = OSError(number, os.strerror(number), "runs/x")
    assert is_write_failure(error) and not is_write_failure(OSError(errno.ENOENT, "gone"))
    assert write_failure_sentence(error, instead="another --runs-dir") == words


def test_the_cli_turns_an_unnamed_write_failure_into_a_sentence_naming_the_place(monkeypatch, capsys, tmp_path):
    """A streamed write (no file name in the OSError) still gives the sentence, naming the command's folder."""
    from digitlab import cli
    from digitlab.cli import commands

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setitem(commands.COMMANDS, "report", full)
    assert cli.main(["report", str(tmp_path)]) == 4
    err = capsys.readouterr().err
    assert err == f"digitlab: error: No space left on device while writing {tmp_path}; free space and try again.\n"


def test_atomic_writes_name_the_target_and_leave_nothing(tmp_path):
    """A failing writer inside atomic_path: the error names the target, not the hidden temporary file."""
    from digitlab.formats import atomic_path, write_text_atomic

    target = tmp_path / "model.keras"
    write_text_atomic(target, "earlier")
    with pytest.raises(OSError) as failed, atomic_path(target) as partial:
        partial.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert failed.value.filename == str(target)
    assert target.read_text() == "earlier" and os.listdir(tmp_path) == ["model.keras"]


def test_a_reader_during_a_cache_write_sees_the_whole_earlier_file(tmp_path, monkeypatch):
    """The cache's final name holds the earlier file until the new one is complete; a failed write removes its own."""
    from digitlab.data import cache

    arrays = {key: np.full((2, 2), index, dtype=np.uint8) for index, key in enumerate(cache.ARRAY_KEYS)}
    path = cache.write_cache(tmp_path / "tiny.npz", arrays, origin="earlier")
    real_savez, seen = np.savez, []

    def savez_then_read_then_fail(file, **contents):
        real_savez(file, **contents)
        seen.append(cache.read_cache(path)[1])  # another process opening the cache mid-write
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.np, "savez", savez_then_read_then_fail)
    with pytest.raises(OSError) as failed:
        cache.write_cache(path, arrays, origin="new")
    assert seen == ["earlier"] and failed.value.filename == str(path)
    assert os.listdir(tmp_path) == ["tiny.npz"] and cache.read_cache(path)[1] == "earlier"
