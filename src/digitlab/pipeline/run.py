"""The tutorial pipeline end to end: data → train → evaluate → figures → save/reload → report.

Usage:

    from digitlab.formats import RunConfig
    from digitlab.pipeline import run_pipeline

    result = run_pipeline(RunConfig(model="mlp", epochs=10, seed=42))
    result.metrics["test_accuracy"], result.run_dir, result.report_path

`digitlab run` and `digitlab train` are thin wrappers around `run_pipeline`.
Every artifact lands in one run directory (see digitlab.formats.rundir). This
package sits above train, evaluate and report and runs them in turn; they do
not know about each other.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable

import numpy as np

from digitlab.data import prepare_images, prepare_labels, split_validation
from digitlab.errors import UserError
from digitlab.evaluate import (
    calibration_metrics,
    most_confident_mistakes,
    predict_probabilities,
    score_model,
    validation_metrics,
)
from digitlab.formats import (
    RunConfig,
    atomic_path,
    completed_epochs,
    file_sha256,
    rundir,
    training_seconds,
    write_metrics,
)
from digitlab.models import (
    check_model_options,
    create_model,
    import_keras,
    keras_without_tensorflow,
    load_keras_model,
    require_model,
)
from digitlab.pipeline.steps import StepTimer, extra_digits, load_run_data, package_versions, starting_model

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    report_path: Path


def run_pipeline(
    config: RunConfig,
    resume_dir: Path | None = None,
    verbose: int | str = "auto",
    on_epoch_end: Callable[[Path, int, dict], None] | None = None,
    stopped_after: int | None = None,
    trainer: Callable | None = None,
) -> RunResult:
    """Train and evaluate one model as configured; write every artifact into its run dir.

    Notes on the way (the data, the run directory) are logged at INFO on the
    "digitlab.pipeline.run" logger; `verbose` is the training loop's: 0 silent,
    1 a progress bar, 2 one line per epoch ("auto": Keras' choice).
    `on_epoch_end(run_dir, epoch, logs)` is told of each epoch once its checkpoint
    is written (digitlab tune reports to its scheduler there). `stopped_after`
    finishes a run (in `resume_dir`) that a sweep's scheduler stopped after that
    many epochs: its checkpoint is evaluated and reported, and metrics.json says so.
    `trainer` stands in for digitlab.train.fit, with its arguments and result
    (digitlab.scale.train.fit_on_ray trains on Ray workers; this layer does not import it).
    """
    config.validate()
    require_model(config.model)  # before any run directory is made
    check_model_options(config.model, config.model_options)
    timer = StepTimer()
    with timer("import_keras"):
        keras = import_keras()
        # Heavy: training loads Keras' backend, the report matplotlib; timed as the run's first step.
        from digitlab import report  # noqa: F401 - loaded here so the import is timed with Keras'
        from digitlab.train import enable_compilation_cache, resolve_engine

        if keras.backend.backend() == "jax":
            # Before the model is built: Keras compiles one small XLA program per
            # weight initializer (~1 s in all for the MLP), and the cache keeps them too.
            enable_compilation_cache()

    with timer("load_data"):
        dataset, (x_train, y_train), (x_test, y_test) = load_run_data(config)

    # Checks that may refuse the run, before a run directory is made for it (and before
    # any note, so that a refusal is the only line on stderr).
    engine = resolve_engine(config)
    initial = starting_model(config) if config.init_from else None
    logger.info("Data: %s, %s training and %s test images (%s)", dataset.name, f"{len(x_train):,}",
                f"{len(x_test):,}", dataset.source)
    run_dir = Path(resume_dir) if resume_dir else rundir.new_run_dir(config.runs_dir, config.model)
    with rundir.run_lock(run_dir):  # one process per run: a second --resume of it is refused
        config.save(run_dir / rundir.CONFIG)
        rundir.mark_status(run_dir, rundir.RUNNING)
        logger.info("Run directory: %s", run_dir)
        try:
            hook = None if on_epoch_end is None else (lambda epoch, logs: on_epoch_end(run_dir, epoch, logs))
            return _train_evaluate_save(config, run_dir, resume_dir is not None, timer, engine, initial,
                                        dataset, (x_train, y_train), (x_test, y_test), verbose, hook, stopped_after,
                                        trainer)
        except BaseException as error:
            # Exceptions mark the run failed; Ctrl-C (KeyboardInterrupt) and SystemExit, interrupted.
            # A kill -9 writes nothing: `digitlab runs` then sees the lock free and says interrupted.
            failed = isinstance(error, Exception)
            reason = (str(error).splitlines() or [""])[0]
            described = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
            details = {"error": described[:300]} if failed else {}
            try:
                rundir.mark_status(run_dir, rundir.FAILED if failed else rundir.INTERRUPTED, **details)
            except OSError:
                pass  # e.g. the disk that failed the run is full: the run's own error is the one to show
            raise


def _train_evaluate_save(config: RunConfig, run_dir: Path, resumed: bool, timer: StepTimer, engine: str,
                         initial, dataset, train_data, test_data, verbose, on_epoch_end=None,
                         stopped_after: int | None = None, trainer=None) -> RunResult:
    """Everything after the run directory is made: train, evaluate, calibrate, draw, save, report."""
    from digitlab import report  # heavy (matplotlib), loaded by run_pipeline already
    from digitlab.train import compile_model, fit, seed_everything  # heavy (Keras), loaded already

    (x_train, y_train), (x_test, y_test) = train_data, test_data
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
            x_extra, y_extra = extra_digits(config, x_train, y_train)
        extra = (x_extra, prepare_labels(y_extra, num_classes))
    if initial is not None:
        model = initial[0]
        logger.info("Starting from the weights of %s", initial[1])
    else:
        model = create_model(config.model, input_shape=x_train.shape[1:], num_classes=num_classes,
                             **config.model_options)
    compile_model(model, config, n_images=len(x_train), n_extra=0 if extra is None else len(extra[0]))
    # A resumed run was partly trained by earlier processes; their time is in the run's logs.
    earlier_training = (training_seconds(run_dir) or 0.0) if resumed else 0.0
    with timer("train"):
        history = (trainer or fit)(model, prepare_images(x_train), prepare_labels(y_train, num_classes), config,
                                   run_dir, verbose, extra=extra, on_epoch_end=on_epoch_end,
                                   stopped_after=stopped_after)

    with timer("evaluate"):
        probabilities, metrics = score_model(model, x_test, y_test, dataset.class_names)
        y_pred = probabilities.argmax(axis=1)

    with timer("calibrate"):
        # Fit the temperature on the validation images (never the test set),
        # then measure calibration on the test set.
        _, (validation_images, validation_labels) = split_validation(x_train, y_train, config.validation_split)
        validation_probabilities = predict_probabilities(model, validation_images) if len(validation_images) else None
        calibration = calibration_metrics(validation_probabilities, validation_labels, probabilities, y_test)
        # The validation figures choose models and defaults (card.json); the test figures are reported.
        validation = ({} if validation_probabilities is None
                      else validation_metrics(validation_labels, validation_probabilities))

    with timer("figures"):
        report.reliability_diagram(calibration, run_dir / "calibration.png")
        report.history_plot(history, run_dir / "history.png")
        report.confusion_heatmap(np.asarray(metrics["confusion_matrix"]), run_dir / "confusion.png", dataset.class_names)
        report.misclassified_gallery(
            x_test, y_test, y_pred, most_confident_mistakes(y_test, y_pred, probabilities),
            run_dir / "misclassified.png", probabilities, class_names=dataset.class_names,
        )

    # The tutorial's last step: save, reload, and check the reloaded model is the same.
    with timer("save_reload"):
        model_path = run_dir / rundir.MODEL
        with atomic_path(model_path) as partial:  # a crash mid-save never leaves half a model.keras
            model.save(partial)
        reloaded_probabilities = predict_probabilities(load_keras_model(model_path), x_test)
        reload_identical = bool(np.array_equal(probabilities, reloaded_probabilities))
        reload_accuracy = float(np.mean(reloaded_probabilities.argmax(axis=1) == y_test))

    metrics = {
        "model": config.model,
        "dataset": config.dataset,
        **validation,
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
        "resumed": resumed,
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
    if stopped_after is not None:
        metrics["stopped_early_after_epoch"] = stopped_after
    metrics["status"] = rundir.RUNNING  # until the report is written too
    _write_metrics(run_dir, metrics, timer)
    with timer("report"):
        report_path = report.write_report(run_dir)
    metrics["status"] = rundir.FINISHED
    _write_metrics(run_dir, metrics, timer)
    return RunResult(run_dir=run_dir, metrics=metrics, report_path=report_path)


def _write_metrics(run_dir: Path, metrics: dict, timer: StepTimer) -> None:
    metrics["timings_seconds"] = timer.summary()
    write_metrics(run_dir, metrics)


def resume_config(run_dir: Path, epochs: int | None) -> RunConfig:
    """The saved config of an earlier run, optionally asking for more epochs."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"--resume {run_dir}: no such run directory.")
    config = RunConfig.load(run_dir / rundir.CONFIG)
    if epochs is not None:
        config.epochs = epochs
    rundir.refuse_if_training(run_dir)
    done = completed_epochs(run_dir)
    finished = rundir.run_status(run_dir) == rundir.FINISHED and (run_dir / rundir.MODEL).is_file()
    if finished and done >= config.epochs:
        # Nothing to train: going on would only evaluate and save the same model again
        # over a finished run's files. (A run killed after training but before it
        # finished does resume: from its checkpoint, straight to evaluation.)
        trained = f"{done} epoch" + ("" if done == 1 else "s")
        raise UserError(f"{run_dir} is finished ({trained} trained); to train it further, pass "
                        f"--epochs with more than {done}.")
    return config
