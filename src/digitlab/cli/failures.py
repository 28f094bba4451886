"""The one sentence the CLI prints when a file cannot be written: a full disk, a quota, a read-only place.

Usage (in main()):

    except OSError as error:
        if is_write_failure(error):
            logger.error("%s", write_failure_message(args, error))
            return EXIT_CANNOT_WRITE

The sentence names the file (digitlab.formats.files puts the file the user
asked for in the error, not its hidden temporary name) and the option or
variable that chooses another place, when the file is in the place the command
writes to:

    No space left on device while writing runs/x-mlp/model.keras; free space or choose another --runs-dir.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from digitlab.errors import EXIT_CANNOT_WRITE, write_failure_sentence
from digitlab.formats import MODELS_DIR_ENVIRONMENT, models_dir

__all__ = ["EXIT_CANNOT_WRITE", "write_failure_message"]

_MODELS_INSTEAD = f"another models directory with {MODELS_DIR_ENVIRONMENT}"


def _place(args: argparse.Namespace) -> tuple[Path | None, str | None]:
    """Where the command writes (None: anywhere the command chose) and how the user chooses another place."""
    command = args.command
    if command == "train" and getattr(args, "resume", None):
        return Path(args.resume), None  # the run being resumed: free space there
    if command in ("run", "train"):
        return Path(args.runs_dir), "another --runs-dir"
    if command == "export":
        return (Path(args.out).parent if args.out else None), "another --out"
    if command in ("ship", "ensemble") or (command == "models" and getattr(args, "models_action", None)):
        return models_dir(), _MODELS_INSTEAD
    if command == "data":
        return None, "another cache directory with DIGITLAB_CACHE"
    if command == "predict" and getattr(args, "debug", None):
        return Path(args.debug), "another --debug folder"
    if command == "report":
        return Path(args.run_dir), None
    return None, None


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def write_failure_message(args: argparse.Namespace, error: OSError) -> str:
    """The sentence for an OSError that is_write_failure() accepts, with the command's way out."""
    place, instead = _place(args)
    named = isinstance(error.filename, (str, bytes, os.PathLike))  # (some calls name a file descriptor)
    path = Path(os.fsdecode(error.filename)) if named else None
    if path is not None and place is not None and not _inside(path, place):
        if _inside(path, Path(tempfile.gettempdir())):
            instead = "another temporary folder with TMPDIR"  # scratch files, wherever the output goes
        else:
            instead = None  # not where the command's option points: only "free space" helps
    return write_failure_sentence(error, path if path is not None else place, instead)
