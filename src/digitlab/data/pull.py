"""Fill the models directory (`digitlab models pull`): from the project's release downloads or a local folder.

Usage:

    from digitlab.data import pull_models

    pull_models(["cnn", "vgg"])                       # downloads <base URL>/<name>/<file> for each file
    pull_models(None, source_dir=Path("models"))      # every known model, copied from a clone's models/
    result = pull_models(["reader"])[0]
    result.name, result.status, result.files, result.bytes   # "reader", "pulled" or "up to date", 3, 5347015

What can be pulled, and each file's SHA-256 and size, is the manifest inside the
package (digitlab.formats.read_manifest). The base URL is the package
metadata's [project.urls] "Models" entry, or $DIGITLAB_MODELS_URL. Each model's
missing or changed files are fetched into a hidden staging folder inside the
models directory, every one checked against the manifest, and only then renamed
into place (formats.staged_files): a checksum mismatch, a cut download or a
full disk leaves the previous copy as it was and nothing half-written.
Downloads use digitlab.data's Downloader (timeout, retries with backoff, its
own progress bar per file); copies from a folder show one bar per model. Bars
follow digitlab.console's rules: on a terminal only, never under `digitlab -q`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from digitlab.console import progress as progress_bar
from digitlab.data.errors import DataError
from digitlab.data.sources import Downloader
from digitlab.errors import CannotWrite, UserError, error_reason, is_write_failure, write_failure_sentence
from digitlab.formats import (
    CARD,
    MODELS_DIR_ENVIRONMENT,
    check_writable,
    file_problem,
    read_manifest,
    staged_files,
    with_requirements,
)
from digitlab.formats import models_dir as default_models_dir

logger = logging.getLogger(__name__)

MODELS_URL_ENVIRONMENT = "DIGITLAB_MODELS_URL"
MODELS_URL_LABEL = "Models"  # the [project.urls] entry
PULLED, UP_TO_DATE = "pulled", "up to date"


@dataclass
class PullResult:
    name: str
    status: str  # PULLED or UP_TO_DATE
    files: int  # files fetched (0 when up to date)
    bytes: int  # bytes fetched
    folder: Path


def models_base_url() -> str | None:
    """Where released model files are: $DIGITLAB_MODELS_URL, else the package's [project.urls] "Models"."""
    configured = os.environ.get(MODELS_URL_ENVIRONMENT)
    if configured:
        return configured.rstrip("/")
    try:
        entries = importlib.metadata.metadata("digitlab").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == MODELS_URL_LABEL.lower() and url.strip():
            return url.strip().rstrip("/")
    return None


def pull_models(names: list[str] | None, *, source_dir: str | Path | None = None, base_url: str | None = None,
                models_dir: str | Path | None = None, downloader: Downloader | None = None,
                progress: bool = True, on_done: Callable[[PullResult], None] | None = None,
                manifest: dict | None = None) -> list[PullResult]:
    """Fetch the named models (None or []: every model in the manifest) into the models directory.

    A model built from other shipped models (an ensemble stored as its members'
    names: "requires" in the manifest) brings them along, pulled first.
    `on_done` is called with each model's result as soon as it is in place (the CLI prints it);
    a failure raises UserError, and the models pulled before it stay pulled.
    `manifest` defaults to the package's (read_manifest()).
    """
    known = (manifest or read_manifest())["models"]
    wanted = list(dict.fromkeys(names)) if names else list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise UserError(f"unknown model{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                        f"the models that can be pulled are {', '.join(known)}.")
    if source_dir is not None:
        source_dir = Path(source_dir)
        if not source_dir.is_dir():
            raise UserError(f"--from {source_dir}: no such folder; give a folder laid out like the repository's "
                            "models/ (<name>/model.onnx, card.json, ...).")
    else:
        base_url = (base_url or models_base_url() or "").rstrip("/")
        if not base_url:
            raise UserError(f"this digitlab has no download address for models ([project.urls] {MODELS_URL_LABEL}); "
                            f"set {MODELS_URL_ENVIRONMENT}, or copy them from a folder with --from DIR.")
    wanted = with_requirements(wanted, known)
    target = Path(models_dir) if models_dir is not None else default_models_dir()
    _check_writable(target)
    fetch = _Fetcher(source_dir, base_url, downloader or Downloader(), progress)
    results = []
    for name in wanted:
        results.append(_pull_one(name, known[name]["files"], target, fetch))
        if on_done is not None:
            on_done(results[-1])
    return results


def _check_writable(target: Path) -> None:
    try:
        check_writable(target)  # a read-only or foreign folder fails here, before any download
    except OSError as error:
        _raise_cannot_write(error, target)


def _raise_cannot_write(error: OSError, target: Path) -> None:
    instead = f"another models directory with {MODELS_DIR_ENVIRONMENT}"
    if is_write_failure(error):
        raise CannotWrite(write_failure_sentence(error, error.filename or target, instead)) from None
    raise UserError(f"cannot write into the models directory {target} ({_reason(error)}); choose {instead}.") from None


def _pull_one(name: str, files: dict[str, dict], target: Path, fetch: _Fetcher) -> PullResult:
    folder = target / name
    needed = {file_name: entry for file_name, entry in files.items()
              if not (folder / file_name).is_file() or file_problem(folder / file_name, entry) is not None}
    if not needed:
        logger.info("%s is up to date in %s.", name, folder)
        return PullResult(name, UP_TO_DATE, 0, 0, folder)
    total = sum(entry["bytes"] for entry in needed.values())
    try:
        # Every file is staged and checked before any is renamed in; the card goes last.
        with staged_files(folder, last=(CARD,)) as staging, fetch.bar(name, total) as bar:
            for file_name, entry in needed.items():
                partial = staging / file_name
                fetch(name, file_name, partial, bar)
                problem = file_problem(partial, entry)
                if problem is not None:
                    raise UserError(f"{name}: {problem}, so nothing was written to {folder}; "
                                    f"{fetch.retry_hint(name, file_name)}")
    except OSError as error:  # the previous copy is as it was: nothing was renamed in (formats.staged_files)
        _raise_cannot_write(error, target)
    logger.info("Pulled %s (%d files, %d bytes) into %s.", name, len(needed), total, folder)
    return PullResult(name, PULLED, len(needed), total, folder)


class _Fetcher:
    """Copies a model's file from the --from folder or downloads it, advancing a progress bar."""

    def __init__(self, source_dir: Path | None, base_url: str | None, downloader: Downloader, progress: bool):
        self.source_dir, self.base_url, self.downloader, self.progress = source_dir, base_url, downloader, progress

    def bar(self, name: str, total: int) -> tqdm:
        # Copies get one bar per model; a download shows the Downloader's own bar per file.
        return progress_bar(total=total, desc=name, unit="B", unit_scale=True, unit_divisor=1024,
                            enabled=self.progress and self.source_dir is not None)

    def retry_hint(self, name: str, file_name: str) -> str:
        if self.source_dir is not None:
            return f"is {self.source_dir / name / file_name} the released file?"
        return "try again; if it persists, the release is not the one this digitlab was built for."

    def __call__(self, name: str, file_name: str, destination: Path, bar: tqdm) -> None:
        if self.source_dir is not None:
            self._copy(self.source_dir / name / file_name, destination, bar)
            return
        url = f"{self.base_url}/{name}/{file_name}"
        try:
            self.downloader.download(url, destination)
        except DataError as error:
            raise UserError(f"{name}: could not download {file_name} ({error}), so nothing was written; try "
                            "again, or copy the models from a folder with --from DIR.") from None

    @staticmethod
    def _copy(source: Path, destination: Path, bar: tqdm) -> None:
        if not source.is_file():
            raise UserError(f"{source} does not exist; --from needs a folder laid out like the repository's "
                            "models/ (<name>/<file>).")
        try:
            reader = source.open("rb")
        except OSError as error:
            raise UserError(f"{source} cannot be read ({_reason(error)}).") from None
        with reader, destination.open("wb") as writer:
            while chunk := reader.read(1 << 20):
                writer.write(chunk)
                bar.update(len(chunk))


def _reason(error: OSError) -> str:
    return error.strerror or error_reason(error)
