"""The pipeline's small steps: timing, versions, the run's data, extra digits, the starting model.

Usage:

    timer = StepTimer()
    with timer("train"):
        ...
    timer.summary()                                   # {"train": 17.8, "total": 24.7}
    dataset, (x_train, y_train), (x_test, y_test) = load_run_data(config)
"""

from __future__ import annotations

import logging
import platform
import time
from contextlib import contextmanager
from importlib import metadata
from typing import Iterator

import numpy as np

from digitlab.data import load_dataset, split_validation
from digitlab.errors import UserError
from digitlab.formats import RunConfig, resolve_model_path
from digitlab.models import import_keras, load_keras_model
from digitlab.synth import extra_training_data

logger = logging.getLogger(__name__)


class StepTimer:
    """Wall time per pipeline step, so a run can say where its time went."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = time.perf_counter()

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - started

    def summary(self) -> dict[str, float]:
        timings = {step: round(value, 3) for step, value in self.seconds.items()}
        timings["total"] = round(time.perf_counter() - self._start, 3)
        return timings


def package_versions() -> dict[str, str]:
    """Versions that decide the numbers of a run, recorded in metrics.json."""
    keras = import_keras()
    versions = {"python": platform.python_version(), "backend": keras.backend.backend()}
    for package in ("digitlab", "keras", "tensorflow-cpu", "tensorflow", "jax", "numpy", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def load_run_data(config: RunConfig):
    """The configured dataset, cut to the configured subsets (for tiny runs)."""
    dataset = load_dataset(config.dataset, data_dir=config.data_dir)
    train = slice(None, config.limit_train)
    test = slice(None, config.limit_test)
    return dataset, (dataset.x_train[train], dataset.y_train[train]), (dataset.x_test[test], dataset.y_test[test])


def extra_digits(config: RunConfig, x_train: np.ndarray, y_train: np.ndarray):
    """The --extra-data digits (float32 model inputs, integer labels), never made from validation images."""
    (fit_images, fit_labels), _ = split_validation(x_train, y_train, config.validation_split)
    inputs, labels = [], []
    for kind in config.extra_data:
        logger.info("Extra training digits: %s (made once by the vision pipeline, then cached)", kind)
        x, y = extra_training_data(kind, images=fit_images, labels=fit_labels, seed=config.seed,
                                   count=config.extra_photos)
        logger.info("  %s digits", f"{len(x):,}")
        inputs.append(x)
        labels.append(y)
    return np.concatenate(inputs).astype(np.float32), np.concatenate(labels)


def starting_model(config: RunConfig):
    """(model, its .keras path) named by --init-from, checked to be the architecture being trained."""
    path = resolve_model_path(config.init_from, config.runs_dir)
    model = load_keras_model(path)
    if model.name != config.model:
        raise UserError(f"--init-from {config.init_from} holds a {model.name!r} model, but --model is "
                        f"{config.model!r}; pass --model {model.name}.")
    return model, path
