"""Whole-file writes that no reader can see half done, and the checksums of files.

Usage:

    write_text_atomic(path, text)             # temp file in the same folder → fsync → rename
    write_json_atomic(path, {"a": 1})         # 2-space JSON with a trailing newline
    with atomic_path(path) as partial:        # for writers that want a file name (Keras, ONNX)
        model.save_weights(partial)
    with staged_files(folder, last=("card.json",)) as staging:   # several files, moved in together
        (staging / "model.onnx").write_bytes(data)
    remove_partials(run_dir)                  # what a killed writer left behind (only under the folder's lock)
    data = read_json(path)                    # a dict, or UserError with one sentence (missing, damaged, no object)
    data = read_json_or_none(path)            # a dict or None, for side files that may be absent
    file_sha256(path)
    check_writable(folder)                    # before long work: raises the OSError a write there would

Why: a process killed mid-write, or a full disk, must leave the previous file
intact rather than half a new one. The new content goes to a hidden temporary
file in the same folder (so the rename never crosses file systems), is flushed
and fsynced, then renamed over the target in one step (POSIX rename is atomic),
and the folder is fsynced so the rename itself survives a power cut.
`staged_files` does the same for a set of files (a model's folder): all are
written and checked in a hidden staging folder first, and only then renamed
into place, so a failure part way leaves the previous copies as they were.

When a write fails because the disk is full or the place is read-only, the
OSError raised names the file the caller asked for, not the hidden temporary
one (the CLI quotes that name in its one sentence), and the temporary file or
staging folder is removed before the error leaves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from digitlab.errors import UserError, is_write_failure


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems do not allow opening a folder; the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _name_the_target(error: OSError, temporary: Path | None, target: Path) -> None:
    """Point a write failure at the file the user asked for, not at the hidden temporary one.

    `temporary` None: the temporary file could not even be made (its random name means nothing to the user).
    """
    if not is_write_failure(error):
        return
    if temporary is None or error.filename is None:
        error.filename = str(target)
        return
    with contextlib.suppress(ValueError):
        error.filename = str(target / Path(error.filename).relative_to(temporary))


def check_writable(folder: str | Path) -> None:
    """Create `folder` if needed and raise the OSError a new file there would (read-only, no permission).

    For a check before long work, so that an export or a download into a read-only
    place fails at once rather than at its end. (A full disk shows only when writing.)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        _name_the_target(error, None, folder)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed over `path` only if the block succeeds.

    `suffix` defaults to the target's suffixes (".weights.h5", ".keras"), for writers that
    pick a format by the file name's ending.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.",
                                            suffix=f".partial{suffix or ''.join(path.suffixes)}", dir=folder)
    except OSError as error:
        _name_the_target(error, None, path)
        raise
    os.close(descriptor)
    partial = Path(name)
    try:
        yield partial
        with partial.open("rb+") as handle:
            os.fsync(handle.fileno())
        # mkstemp makes the file readable by its owner only; give it the mode a plain
        # open() would (the replaced file's, else 0o666 less the umask).
        os.chmod(partial, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        os.replace(partial, path)
        _fsync_folder(folder)
    except OSError as error:
        _name_the_target(error, partial, path)
        raise
    finally:
        if partial.exists():  # the block failed: give its space back now, not when the last handle closes
            # A writer that failed may still hold the file open (h5py does, until its object is
            # freed, and then flushes once more: with the space back, that flush succeeds quietly).
            with contextlib.suppress(OSError):
                os.truncate(partial, 0)
            partial.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_files(folder: str | Path, last: Sequence[str] = ()) -> Iterator[Path]:
    """A hidden staging folder beside `folder`; its files are renamed into `folder` only if the block succeeds.

    Files already in `folder` are replaced one by one, the names in `last` after
    the others (a card.json last, so a reader never sees a new card beside an old
    model). If the block raises, `folder` is untouched and the staging folder removed.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    except OSError as error:
        _name_the_target(error, None, folder)
        raise
    try:
        yield staging
        staged = sorted((path for path in staging.iterdir() if path.is_file()),
                        key=lambda path: (path.name in last, path.name))
        for path in staged:
            with path.open("rb+") as handle:
                os.fsync(handle.fileno())
        folder.mkdir(exist_ok=True)
        for path in staged:
            os.replace(path, folder / path.name)
        _fsync_folder(folder)
    except OSError as error:
        _name_the_target(error, staging, folder)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_partials(folder: str | Path) -> list[Path]:
    """Delete the temporary files and folders that killed writers left in `folder`; return them.

    Only for a folder that no other process is writing to (a run directory under
    its lock): a live writer's temporary file looks the same.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = [path for path in folder.iterdir() if path.name.startswith(".") and ".partial" in path.name]
    for path in removed:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as partial:
        partial.write_bytes(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | Path, value) -> None:
    write_text_atomic(path, json.dumps(value, indent=2) + "\n")


def read_json(path: str | Path, missing_hint: str = "is this a digitlab run directory?") -> dict:
    """A JSON file's object; a missing, unreadable or damaged file, or one that holds no object, is a UserError.

    Whatever the bytes (cut short, binary, nested a million deep, a 10,000-digit
    number, a list where an object belongs), the caller gets a dict or one
    sentence naming the file; never another exception.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist; {missing_hint}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not valid JSON (not UTF-8 text); was it edited by hand or cut short?") from None
    except OSError as error:
        raise UserError(f"{path} cannot be read ({error.strerror or error}); check that it is a file "
                        "you may read.") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is not valid JSON ({error.msg}); was it edited by hand or cut short?") from None
    except (ValueError, RecursionError) as error:  # a number too long to convert, arrays nested too deep
        reason = "nested too deeply" if isinstance(error, RecursionError) else "a number with too many digits"
        raise UserError(f"{path} is not valid JSON ({reason}); was it edited by hand or cut short?") from None
    if not isinstance(value, dict):
        raise UserError(f"{path} holds {_JSON_KINDS.get(type(value), 'a JSON value')} where a JSON object belongs; "
                        "it is damaged or not the file digitlab wrote.")
    return value


# How read_json names what a file holds instead of an object.
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}


def read_json_or_none(path: str | Path) -> dict | None:
    """read_json for best-effort lookups (a side file that may be absent or damaged): None instead of an error."""
    try:
        return read_json(path)
    except UserError:
        return None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
