"""The models the app can serve, loaded lazily and kept: one Recognizer and one Batcher each.

Usage:

    pool = ModelPool(settings)
    pool.load_default()                 # at start-up: fails early with a UserError
    served = await pool.get("mlp")      # a shipped name, a run name or an architecture
    result = await served.batcher.submit(image_bytes)
    pool.catalog()                      # name → ModelEntry, rescanned on each call
    pool.close()                        # at shut-down: the model thread ends; open() starts a new one

Requests can only name models in the catalog (shipped models and finished runs
under runs_dir), never a file path: a URL must not make the server load an
arbitrary file. The operator's `--model PATH` is added to the catalog by name.
"""

from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from digitlab.errors import UserError
from digitlab.formats import is_line_reader, read_json, resolve_model_path, rundir, shipped_models
from digitlab.recognize import Recognizer
from digitlab.serve.batching import Batcher
from digitlab.serve.settings import ServeSettings


class ModelNotFound(UserError):
    """A request named a model that is neither shipped nor a finished run (HTTP 404)."""


class ModelLoadError(Exception):
    """A listed model file could not be loaded: the server's problem, not the client's (HTTP 500)."""


@dataclass
class ModelEntry:
    name: str
    path: Path
    source: str  # "shipped", "run" or "file"
    architecture: str | None = None
    test_accuracy: float | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "architecture": self.architecture,
            "test_accuracy": self.test_accuracy,
        }


@dataclass
class ServedModel:
    entry: ModelEntry
    recognizer: Recognizer
    batcher: Batcher

    @property
    def name(self) -> str:
        return self.entry.name


def _read_json(path: Path) -> dict:
    """A run's or card's JSON, or {} when it is missing or damaged (the model is still listed)."""
    try:
        return read_json(path)
    except UserError:
        return {}


def _accuracy(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _run_entry(run_dir: Path, name: str | None = None, source: str = "run") -> ModelEntry:
    metrics = _read_json(run_dir / rundir.METRICS)
    return ModelEntry(
        name=name or run_dir.name,
        path=run_dir / rundir.MODEL,
        source=source,
        architecture=rundir.run_model_name(run_dir),
        test_accuracy=_accuracy(metrics.get("test_accuracy")),
    )


def scan_models(runs_dir: str | Path) -> dict[str, ModelEntry]:
    """Shipped models (best first) then finished runs (newest first)."""
    found: dict[str, ModelEntry] = {}
    shipped = sorted(shipped_models().items(), key=lambda item: -(_accuracy(item[1].get("test_accuracy")) or 0.0))
    for name, card in shipped:
        if is_line_reader(card):  # not a model to choose: it reads every photo (Recognizer's reader="auto")
            continue
        found[name] = ModelEntry(
            name=name,
            path=Path(card["path"]),
            source="shipped",
            architecture=card.get("architecture") or card.get("model"),
            test_accuracy=_accuracy(card.get("test_accuracy")),
        )
    root = Path(runs_dir)
    if root.is_dir():
        runs = [path for path in root.iterdir() if (path / rundir.MODEL).is_file()]
        for run_dir in sorted(runs, key=lambda path: path.name, reverse=True):
            found.setdefault(run_dir.name, _run_entry(run_dir))
    return found


class ModelPool:
    def __init__(self, settings: ServeSettings):
        self.settings = settings
        # One thread for every model call: Keras models are not shared across
        # threads, and on a small CPU one busy thread is as fast as several.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digitlab-model")
        self._closed = False
        self._extra: dict[str, ModelEntry] = {}
        self._served: dict[str, ServedModel] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.default_name: str | None = None

    def catalog(self) -> dict[str, ModelEntry]:
        models = scan_models(self.settings.runs_dir)
        for name, entry in self._extra.items():
            models.setdefault(name, entry)
        return models

    def resolve(self, name: str | None) -> ModelEntry:
        """The catalog entry for a requested name (None: the default model)."""
        catalog = self.catalog()
        if name is None or name == "":
            name = self.default_name
            if name is None:
                raise ModelNotFound("no default model is loaded.")
        if name in catalog:
            return catalog[name]
        # An architecture name means its newest finished run, as on the command line.
        latest = rundir.latest_run_dir(self.settings.runs_dir, name)
        if latest is not None and latest.name in catalog:
            return catalog[latest.name]
        raise ModelNotFound(f"no model named {name!r}; GET /api/models lists the available ones.")

    def _entry_for_spec(self, spec: str | None) -> ModelEntry:
        """The operator's --model (anything the CLI accepts) as a catalog entry."""
        catalog = self.catalog()
        if spec in catalog:
            return catalog[spec]
        path = resolve_model_path(spec, self.settings.runs_dir, purpose="images").resolve()
        for entry in catalog.values():
            if entry.path.resolve() == path:
                return entry
        # A model outside the catalog (a run elsewhere or a bare .keras file).
        if (path.parent / rundir.METRICS).is_file():
            entry = _run_entry(path.parent, source="file")
        else:
            entry = ModelEntry(name=path.stem, path=path, source="file")
        self._extra[entry.name] = entry
        return entry

    def _load(self, entry: ModelEntry) -> ServedModel:
        try:
            recognizer = Recognizer(
                model=str(entry.path), runs_dir=self.settings.runs_dir, max_pixels=self.settings.max_pixels,
                runtime=self.settings.runtime, reader=self.settings.reader,
            )
        except UserError as error:
            raise ModelLoadError(f"model {entry.name} could not be loaded: {error}") from None
        # Keras and TensorFlow leave ~500,000 long-lived Python objects; a full garbage
        # collection walks them all (~200 ms, every thread stopped), which under load
        # stalls every request in flight. Frozen, they are skipped: only objects
        # created while serving are ever scanned.
        gc.freeze()
        if entry.test_accuracy is None:
            entry.test_accuracy = _accuracy((getattr(recognizer, "info", None) or {}).get("test_accuracy"))
        batcher = Batcher(recognizer.read_many, self.executor, self.settings.max_batch_size)
        return ServedModel(entry=entry, recognizer=recognizer, batcher=batcher)

    def load_default(self) -> ServedModel:
        """Load the default model now (at start-up); raises UserError if there is none."""
        if self.default_name in self._served:
            return self._served[self.default_name]
        entry = self._entry_for_spec(self.settings.model)
        try:
            served = self._load(entry)
        except ModelLoadError as error:
            raise UserError(str(error)) from None
        self._served[entry.name] = served
        self.default_name = entry.name
        return served

    async def get(self, name: str | None = None) -> ServedModel:
        # The common case, a loaded model asked for by name, skips the directory scan.
        served = self._served.get(name or self.default_name or "")
        if served is not None:
            return served
        entry = self.resolve(name)
        if entry.name in self._served:
            return self._served[entry.name]
        lock = self._locks.setdefault(entry.name, asyncio.Lock())
        async with lock:  # Two first requests for one model load it once.
            if entry.name not in self._served:
                self._served[entry.name] = await run_in_threadpool(self._load, entry)
        return self._served[entry.name]

    def loaded_names(self) -> list[str]:
        return list(self._served)

    def served(self) -> list[ServedModel]:
        return list(self._served.values())

    def open(self) -> None:
        """Start a new model thread if close() ended the last one: an app's lifespan may run more than
        once (each TestClient block, or Schemathesis' ASGI transport after each test), keeping its models."""
        if not self._closed:
            return
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digitlab-model")
        for served in self._served.values():
            served.batcher.executor = self.executor
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self.executor.shutdown(wait=True, cancel_futures=True)
