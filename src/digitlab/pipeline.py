"""The tutorial pipeline end to end: data → train → evaluate → figures → save/reload → report.

Usage:

    from digitlab.config import RunConfig
    from digitlab.pipeline import run_pipeline

    result = run_pipeline(RunConfig(model="mlp", epochs=10, seed=42))
    result.metrics["test_accuracy"], result.run_dir, result.report_path

`digitlab run` and `digitlab train` are thin wrappers around `run_pipeline`.
Every artifact lands in one run directory (see digitlab.rundir).
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from digitlab import rundir
from digitlab.config import RunConfig, validation_size
from digitlab.errors import UserError


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    report_path: Path


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
    import keras

    versions = {"python": platform.python_version(), "backend": keras.backend.backend()}
    for package in ("digitlab", "keras", "tensorflow-cpu", "tensorflow", "jax", "numpy", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def seed_everything(seed: int) -> None:
    """Same seed, same backend, same machine → the same run (weights, shuffling, dropout)."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # Without this, a few TensorFlow CPU kernels may sum in a varying order.
        tf.config.experimental.enable_op_determinism()


def load_run_data(config: RunConfig):
    """The configured dataset, cut to the configured subsets (for tiny runs)."""
    from digitlab.data import load_dataset

    dataset = load_dataset(config.dataset, data_dir=config.data_dir)
    train = slice(None, config.limit_train)
    test = slice(None, config.limit_test)
    return dataset, (dataset.x_train[train], dataset.y_train[train]), (dataset.x_test[test], dataset.y_test[test])


def extra_digits(config: RunConfig, x_train: np.ndarray, y_train: np.ndarray, log: Callable[[str], None]):
    """The --extra-data digits (float32 model inputs, integer labels), never made from validation images."""
    from digitlab.vision.training_data import extra_training_data

    n_train = len(x_train) - validation_size(len(x_train), config)
    inputs, labels = [], []
    for kind in config.extra_data:
        log(f"Extra training digits: {kind} (made once by the vision pipeline, then cached)")
        x, y = extra_training_data(kind, images=x_train[:n_train], labels=y_train[:n_train], seed=config.seed,
                                   count=config.extra_photos)
        log(f"  {len(x):,} digits")
        inputs.append(x)
        labels.append(y)
    return np.concatenate(inputs).astype(np.float32), np.concatenate(labels)


def starting_model(config: RunConfig):
    """(model, its .keras path) named by --init-from, checked to be the architecture being trained."""
    from digitlab.modelfiles import load_keras_model, resolve_model_path

    path = resolve_model_path(config.init_from, config.runs_dir)
    model = load_keras_model(path)
    if model.name != config.model:
        raise UserError(f"--init-from {config.init_from} holds a {model.name!r} model, but --model is "
                        f"{config.model!r}; pass --model {model.name}.")
    return model, path


def run_pipeline(
    config: RunConfig,
    resume_dir: Path | None = None,
    log: Callable[[str], None] = print,
    verbose: int | str = "auto",
) -> RunResult:
    """Train and evaluate one model as configured; write every artifact into its run dir."""
    config.validate()
    from digitlab.models import require_model

    require_model(config.model)  # before any run directory is made
    timer = StepTimer()
    with timer("import_keras"):
        from digitlab.backend import import_keras, keras_without_tensorflow

        keras = import_keras()
        if keras.backend.backend() == "jax":
            from digitlab.fast.engine import enable_compilation_cache

            # Before the model is built: Keras compiles one small XLA program per
            # weight initializer (~1 s in all for the MLP), and the cache keeps them too.
            enable_compilation_cache()
        from digitlab import report
        from digitlab.models import create_model
        from digitlab.modelfiles import file_sha256, load_keras_model
        from digitlab.scoring import predict_probabilities, score_model
        from digitlab.train import compile_model, fit, prepare_images, prepare_labels, resolve_engine
        from digitlab.training_time import training_seconds

    with timer("load_data"):
        dataset, (x_train, y_train), (x_test, y_test) = load_run_data(config)
    log(f"Data: {dataset.name}, {len(x_train):,} training and {len(x_test):,} test images ({dataset.source})")

    # Checks that may refuse the run, before a run directory is made for it.
    engine = resolve_engine(config)
    initial = starting_model(config) if config.init_from else None
    run_dir = Path(resume_dir) if resume_dir else rundir.new_run_dir(config.runs_dir, config.model)
    config.save(run_dir / rundir.CONFIG)
    log(f"Run directory: {run_dir}")

    with timer("figures"):
        report.sample_grid(x_train[:9], y_train[:9], run_dir / "samples.png", class_names=dataset.class_names)

    if engine == "fast":
        # Nothing on the fast path needs TensorFlow; without this, Keras would
        # import it (~5 s) merely to check for TensorFlow types when seeding and saving.
        keras_without_tensorflow()
    seed_everything(config.seed)
    num_classes = len(dataset.class_names)
    extra = None
    if config.extra_data:
        with timer("extra_data"):
            x_extra, y_extra = extra_digits(config, x_train, y_train, log)
        extra = (x_extra, prepare_labels(y_extra, num_classes))
    if initial is not None:
        model = initial[0]
        log(f"Starting from the weights of {initial[1]}")
    else:
        model = create_model(config.model, input_shape=x_train.shape[1:], num_classes=num_classes)
    compile_model(model, config, n_images=len(x_train), n_extra=0 if extra is None else len(extra[0]))
    # A resumed run was partly trained by earlier processes; their time is in the run's logs.
    earlier_training = (training_seconds(run_dir) or 0.0) if resume_dir else 0.0
    with timer("train"):
        history = fit(model, prepare_images(x_train), prepare_labels(y_train, num_classes), config, run_dir, verbose,
                      extra=extra)

    with timer("evaluate"):
        probabilities, metrics = score_model(model, x_test, y_test, dataset.class_names)
        y_pred = probabilities.argmax(axis=1)

    with timer("calibrate"):
        # Fit the temperature on the validation images (never the test set),
        # then measure calibration on the test set.
        validation_start = len(x_train) - validation_size(len(x_train), config)
        validation_images = x_train[validation_start:]
        calibration = calibration_metrics(
            predict_probabilities(model, validation_images) if len(validation_images) else None,
            y_train[validation_start:],
            probabilities,
            y_test,
        )

    with timer("figures"):
        report.reliability_diagram(calibration, run_dir / "calibration.png")
        report.history_plot(history, run_dir / "history.png")
        report.confusion_heatmap(np.asarray(metrics["confusion_matrix"]), run_dir / "confusion.png", dataset.class_names)
        report.misclassified_gallery(
            x_test, y_test, y_pred, probabilities, run_dir / "misclassified.png", class_names=dataset.class_names
        )

    # The tutorial's last step: save, reload, and check the reloaded model is the same.
    with timer("save_reload"):
        model_path = run_dir / rundir.MODEL
        model.save(model_path)
        reloaded_probabilities = predict_probabilities(load_keras_model(model_path), x_test)
        reload_identical = bool(np.array_equal(probabilities, reloaded_probabilities))
        reload_accuracy = float(np.mean(reloaded_probabilities.argmax(axis=1) == y_test))

    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        "test_accuracy": metrics["accuracy"],
        "test_loss": metrics["loss"],
        "error_count": metrics["error_count"],
        "n_test": int(len(y_test)),
        "n_train": int(len(x_train)),
        **{key: value for key, value in metrics.items() if key not in ("accuracy", "loss", "error_count", "n")},
        "calibration": calibration,
        "reload_identical": reload_identical,
        "reload_accuracy": reload_accuracy,
        # All of the run's training, across --resume (timings_seconds.train is this process's part).
        "train_seconds": round(earlier_training + timer.seconds["train"], 3),
        "resumed": resume_dir is not None,
        "parameters": int(model.count_params()),
        "epochs_run": len(next(iter(history.values()), [])),
        "final_history": {name: values[-1] for name, values in history.items()},
        "versions": package_versions(),
        "data": {"source": dataset.source, "sha256": dataset.sha256},
    }
    if initial is not None:
        metrics["init_from"] = {"model": config.init_from, "sha256": file_sha256(initial[1])}
    if extra is not None:
        metrics["extra_training_digits"] = int(len(extra[0]))
    _write_metrics(run_dir, metrics, timer)
    with timer("report"):
        report_path = report.write_report(run_dir)
    _write_metrics(run_dir, metrics, timer)
    return RunResult(run_dir=run_dir, metrics=metrics, report_path=report_path)


def calibration_metrics(
    validation_probabilities: np.ndarray | None,
    validation_labels: np.ndarray,
    test_probabilities: np.ndarray,
    test_labels: np.ndarray,
) -> dict:
    """Temperature fitted on validation data; ECE and reliability bins on the test set."""
    from digitlab.calibration import apply_temperature, expected_calibration_error, fit_temperature, reliability_bins

    if validation_probabilities is None:
        temperature, fitted_on = 1.0, "no validation split: not fitted"
    else:
        temperature = fit_temperature(validation_probabilities, validation_labels)
        fitted_on = f"fitted on {len(validation_labels):,} validation images"
    calibrated = apply_temperature(test_probabilities, temperature)
    return {
        "temperature": temperature,
        "fitted_on": fitted_on,
        "ece_uncalibrated": expected_calibration_error(test_probabilities, test_labels),
        "ece_calibrated": expected_calibration_error(calibrated, test_labels),
        "bins_uncalibrated": reliability_bins(test_probabilities, test_labels),
        "bins_calibrated": reliability_bins(calibrated, test_labels),
    }


def _write_metrics(run_dir: Path, metrics: dict, timer: StepTimer) -> None:
    metrics["timings_seconds"] = timer.summary()
    path = run_dir / rundir.METRICS
    path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")


def resume_config(run_dir: Path, epochs: int | None) -> RunConfig:
    """The saved config of an earlier run, optionally asking for more epochs."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"--resume {run_dir}: no such run directory.")
    config = RunConfig.load(run_dir / rundir.CONFIG)
    if epochs is not None:
        config.epochs = epochs
    return config
