"""Models that travel: the bundled reader, the models directory, `digitlab models pull` and its manifest.

Every pull test fills a fresh models directory (DIGITLAB_MODELS_DIR in a tmp dir) from
the repo's models/ (--from) or from a local HTTP server on 127.0.0.1 standing in for
the release downloads (DIGITLAB_MODELS_URL). A failed pull must leave nothing
half-written and the previous copy as it was.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import tomllib
from email.message import Message
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitlab import cli
from digitlab.formats import (
    BUNDLED,
    MODELS_DIR,
    build_manifest,
    bundled_models_dir,
    file_sha256,
    looks_like_onnx,
    models_dir,
    read_manifest,
    shipped_models,
    staged_files,
)

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
SMALL = "cnn"  # the smallest shipped model (0.6 MB): quick to copy and to serve


@pytest.fixture
def target(tmp_path, monkeypatch) -> Path:
    """An empty models directory for this test (not created yet: pull creates it)."""
    folder = tmp_path / "models-dir"
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(folder))
    return folder


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_error_line(status: int, err: str, *words: str, expected: int = 1) -> None:
    """One `digitlab: error:` line, the last on stderr (notes such as a download's retries may come first).

    `expected`: the exit status, 1 for a user error, 4 for a place that cannot be written (docs/cli.md).
    """
    assert status == expected
    lines = err.splitlines()
    assert lines and lines[-1].startswith("digitlab: error:"), err
    assert sum(line.startswith("digitlab:") for line in lines) == 1, err
    for word in words:
        assert word in lines[-1], err


def assert_nothing_half_written(folder: Path) -> None:
    """No staging folder or partial file anywhere under the models directory."""
    leftovers = [path for path in folder.rglob("*") if path.name.startswith(".") or "partial" in path.name]
    assert not leftovers, leftovers


def copy_of_models(tmp_path: Path, *names: str) -> Path:
    source = tmp_path / "source"
    for name in names:
        shutil.copytree(MODELS / name, source / name)
    return source


# ---------- the manifest ----------


def test_the_manifest_lists_every_file_of_models_and_the_bundled_reader_is_the_shipped_one():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "models_manifest.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr  # the message names the one command that fixes it
    manifest = read_manifest()
    assert manifest == build_manifest(MODELS)
    assert set(manifest["models"]) == {path.name for path in MODELS.iterdir() if (path / "card.json").is_file()}
    bundled = bundled_models_dir() / "reader"
    for file_name in ("model.onnx", "card.json"):
        assert file_sha256(bundled / file_name) == manifest["models"]["reader"]["files"][file_name]["sha256"]


def test_the_download_address_is_the_projects_models_url(monkeypatch):
    from digitlab.data import pull

    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert urls["Models"].startswith("https://")
    metadata = Message()
    metadata["Project-URL"] = f"Models, {urls['Models']}/"
    monkeypatch.delenv("DIGITLAB_MODELS_URL", raising=False)
    monkeypatch.setattr(pull.importlib.metadata, "metadata", lambda name: metadata)
    assert pull.models_base_url() == urls["Models"]
    monkeypatch.setenv("DIGITLAB_MODELS_URL", "http://127.0.0.1:9/models/")
    assert pull.models_base_url() == "http://127.0.0.1:9/models"


def test_onnx_files_are_told_from_other_files(tmp_path):
    assert all(looks_like_onnx(path) for path in MODELS.glob("*/model.onnx"))
    for name, content in {"text": b"not an onnx model\n", "keras": (MODELS / SMALL / "model.keras").read_bytes(),
                          "empty": b"", "json": b'{"a": 1}'}.items():
        (tmp_path / name).write_bytes(content)
        assert not looks_like_onnx(tmp_path / name), name


# ---------- where models are found ----------


def test_the_default_models_dir_is_the_per_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("DIGITLAB_MODELS_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    if sys.platform.startswith("linux"):
        assert models_dir() == tmp_path / "data-home" / "digitlab" / "models"
    assert models_dir().name == "models" and ROOT not in models_dir().parents


def test_the_bundled_reader_is_found_with_no_models_dir(target):
    shipped = shipped_models()
    assert sorted(shipped) == ["line-reader", "reader"] and not target.exists()
    for name in shipped:  # the classifier and the line reader, both as ONNX inside the package
        assert shipped[name]["location"] == BUNDLED
        assert Path(shipped[name]["path"]).name == "model.onnx"


def test_a_model_in_the_models_dir_wins_over_the_bundled_one(target):
    shutil.copytree(MODELS / "reader", target / "reader")
    assert shipped_models()["reader"]["location"] == MODELS_DIR
    assert Path(shipped_models()["reader"]["path"]) == target / "reader" / "model.keras"


def test_predict_works_with_only_the_bundled_reader(target, tmp_path):
    from digitlab.data import load_mnist

    (x_test, y_test) = load_mnist()[1]
    page = Image.new("L", (3 * 84 + 60, 120), 255)
    for position, digit in enumerate((3, 0, 5)):
        index = int(np.flatnonzero(y_test == digit)[1])
        page.paste(Image.fromarray(255 - x_test[index]).resize((84, 84)), (18 + position * 96, 18))
    page.save(tmp_path / "305.png")
    done = subprocess.run([sys.executable, "-m", "digitlab", "predict", "--json", str(tmp_path / "305.png")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["prediction"] == "305"
    assert not target.exists(), "predict must not create the models directory"


def test_the_web_app_serves_the_bundled_reader(target, tmp_path):
    pytest.importorskip("fastapi", reason="the web app needs the serve extra: pip install 'digitlab[serve]'")
    from fastapi.testclient import TestClient

    from digitlab.serve import ServeSettings, create_app

    with TestClient(create_app(ServeSettings(runs_dir=str(tmp_path / "runs")))) as client:
        health = client.get("/api/health").json()
        assert health["model"] == "reader" and health["runtime"] == "onnx"
        pixels = np.zeros((28, 28))
        pixels[4:24, 13:16] = 1.0  # a "1"
        answer = client.post("/api/predict/pixels", json={"pixels": pixels.tolist()})
        assert answer.status_code == 200 and answer.json()["prediction"] == "1", answer.text


def test_a_keras_command_on_the_bundled_reader_says_to_pull_it(target):
    """evaluate, export and --init-from load model.keras: the bundled reader has only model.onnx."""
    from digitlab.errors import UserError
    from digitlab.formats import resolve_model_path
    from digitlab.models import load_keras_model

    with pytest.raises(UserError, match="is an ONNX model.*`digitlab models pull reader`"):
        load_keras_model(resolve_model_path("reader"))


def test_a_known_model_not_installed_says_to_pull_it(target, capsys, tmp_path):
    status, _, err = run_cli(capsys, "predict", "--model", SMALL, str(tmp_path))
    assert_one_error_line(status, err, f"digitlab models pull {SMALL}")


# ---------- pull --from DIR ----------


def test_pull_from_a_folder_checks_every_file_and_models_lists_it(target, capsys):
    status, out, _ = run_cli(capsys, "models", "pull", SMALL, "reader", "--from", str(MODELS))
    assert status == 0, out
    assert out.count("pulled 3 files") == 2
    for name in (SMALL, "reader"):
        for path in (MODELS / name).iterdir():
            assert file_sha256(target / name / path.name) == file_sha256(path)
    assert_nothing_half_written(target)

    status, out, _ = run_cli(capsys, "models")
    assert status == 0
    assert f"\n  {SMALL:<12} {MODELS_DIR}" in out and f"\n  {'reader':<12} {MODELS_DIR}" in out
    not_installed = out.split("Not installed yet: ")[1].split(" (")[0].split(", ")
    assert set(not_installed) == set(read_manifest()["models"]) - {SMALL, "reader", "line-reader"}  # bundled: installed

    status, out, _ = run_cli(capsys, "models", "pull", SMALL, "--from", str(MODELS))
    assert status == 0 and f"{SMALL}: up to date" in out

    (target / SMALL / "card.json").write_text("{cut sho")  # damaged: listed as such, not as missing
    status, out, _ = run_cli(capsys, "models")
    assert status == 0 and f"Damaged (their card.json cannot be read): {SMALL} (" in out
    assert SMALL not in out.split("Not installed yet: ")[1].split(" (")[0].split(", ")


def test_pull_with_a_bad_checksum_writes_nothing_and_keeps_the_previous_copy(target, tmp_path, capsys):
    source = copy_of_models(tmp_path, SMALL)
    keras = bytearray((source / SMALL / "model.keras").read_bytes())
    keras[len(keras) // 2] ^= 0xFF  # same size, another file
    (source / SMALL / "model.keras").write_bytes(bytes(keras))

    status, _, err = run_cli(capsys, "models", "pull", SMALL, "--from", str(source))
    assert_one_error_line(status, err, "SHA-256", "nothing was written")
    assert not (target / SMALL).exists()
    assert_nothing_half_written(target)

    # A previous copy (an older card and model.keras) stays exactly as it was: the good new
    # card.json is staged but not moved in, because model.keras failed its check.
    shutil.copytree(MODELS / SMALL, target / SMALL)
    (target / SMALL / "card.json").write_text('{"name": "old"}\n')
    (target / SMALL / "model.keras").write_bytes(b"PK an older model")
    before = {path.name: path.read_bytes() for path in (target / SMALL).iterdir()}
    status, _, err = run_cli(capsys, "models", "pull", SMALL, "--from", str(source))
    assert_one_error_line(status, err, "SHA-256")
    assert {path.name: path.read_bytes() for path in (target / SMALL).iterdir()} == before
    assert_nothing_half_written(target)


def test_pull_refuses_a_file_that_is_not_onnx(target, tmp_path, capsys):
    source = copy_of_models(tmp_path, SMALL)
    (source / SMALL / "model.onnx").write_text("<html>Not Found</html>\n")
    status, _, err = run_cli(capsys, "models", "pull", SMALL, "--from", str(source))
    assert_one_error_line(status, err, "model.onnx is not an ONNX model")
    assert not (target / SMALL).exists()


@pytest.mark.parametrize("argv, words", [
    (["models", "pull", "no-such-model", "--from", str(MODELS)], ["unknown model 'no-such-model'", SMALL]),
    (["models", "pull", SMALL, "--from", "/no/such/folder"], ["--from /no/such/folder: no such folder"]),
    (["models", "pull", "--from", str(MODELS)], ["name the models to pull", "--all"]),
], ids=["unknown-name", "missing-from-dir", "no-names"])
def test_pull_bad_input_is_one_sentence_and_writes_nothing(target, capsys, argv, words):
    status, _, err = run_cli(capsys, *argv)
    assert_one_error_line(status, err, *words)
    assert not target.exists()


def test_pull_into_a_read_only_models_dir_is_one_sentence(tmp_path, capsys, monkeypatch):
    if os.geteuid() != 0:
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        read_only.chmod(0o555)
    else:
        # Permission bits do not stop root; sysfs refuses new files even to root.
        read_only = Path("/sys")
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(read_only))
    status, _, err = run_cli(capsys, "models", "pull", SMALL, "--from", str(MODELS))
    assert_one_error_line(status, err, str(read_only), "DIGITLAB_MODELS_DIR", expected=4)
    assert not (read_only / SMALL).exists()


# ---------- pull from the release downloads (a local HTTP server) ----------


class _ReleaseHandler(http.server.BaseHTTPRequestHandler):
    """Serves models/ as <base>/<name>/<file>; paths in server.cut send half the file and hang up."""

    def do_GET(self):
        path = MODELS / self.path.lstrip("/")
        if not path.is_file() or ".." in self.path:
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if self.path in self.server.cut else body)

    def log_message(self, *args):  # quiet test output
        pass


@pytest.fixture
def release_server(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ReleaseHandler)
    server.cut = set()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("DIGITLAB_MODELS_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield server
    server.shutdown()
    server.server_close()


def test_pull_downloads_from_the_release_url_and_checks_each_file(target, release_server, capsys):
    status, out, err = run_cli(capsys, "models", "pull", SMALL)
    assert status == 0, err
    assert f"{SMALL}: pulled 3 files" in out
    assert all(file_sha256(target / SMALL / path.name) == file_sha256(path) for path in (MODELS / SMALL).iterdir())
    assert_nothing_half_written(target)


def test_a_cut_download_leaves_nothing_half_written(target, release_server, capsys):
    shutil.copytree(MODELS / SMALL, target / SMALL)
    (target / SMALL / "model.onnx").write_bytes(b"\x08\x07an older export")  # replaced only by a verified file
    before = {path.name: path.read_bytes() for path in (target / SMALL).iterdir()}
    release_server.cut.add(f"/{SMALL}/model.onnx")
    status, _, err = run_cli(capsys, "models", "pull", SMALL)
    assert_one_error_line(status, err, "could not download model.onnx", "closed before the whole file arrived")
    assert {path.name: path.read_bytes() for path in (target / SMALL).iterdir()} == before
    assert_nothing_half_written(target)


def test_a_model_built_from_other_shipped_models_brings_them_along(tmp_path):
    """An ensemble stored as its members' names (a card only) needs them: pull fetches them first."""
    from digitlab.data import pull_models

    source = copy_of_models(tmp_path, SMALL, "mlp")
    (source / "duo").mkdir()
    (source / "duo" / "card.json").write_text(json.dumps(
        {"name": "duo", "architecture": "ensemble", "members": [{"model": SMALL}, {"model": "mlp"}]}))
    manifest = build_manifest(source)
    assert manifest["models"]["duo"]["requires"] == [SMALL, "mlp"] and "requires" not in manifest["models"][SMALL]
    pulled = pull_models(["duo"], source_dir=source, models_dir=tmp_path / "target", manifest=manifest)
    assert [result.name for result in pulled] == [SMALL, "mlp", "duo"]
    assert sorted(path.name for path in (tmp_path / "target").iterdir()) == sorted([SMALL, "mlp", "duo"])


# ---------- staged files (formats) ----------


def test_staged_files_move_in_together_or_not_at_all(tmp_path):
    folder = tmp_path / "model"
    with staged_files(folder, last=("card.json",)) as staging:
        (staging / "card.json").write_text("new card")
        (staging / "model.onnx").write_text("new model")
    assert sorted(path.name for path in folder.iterdir()) == ["card.json", "model.onnx"]
    with pytest.raises(RuntimeError):
        with staged_files(folder) as staging:
            (staging / "model.onnx").write_text("half")
            raise RuntimeError("cut")
    assert (folder / "model.onnx").read_text() == "new model"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]
