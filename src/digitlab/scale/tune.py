"""`digitlab tune`: a Ray Tune sweep over a model's knobs, ASHA stopping the weak trials early.

Usage:

    sweep = run_sweep(SweepSettings(model="cnn", trials=8, epochs=6))     # a local Ray; or address="HOST:PORT"
    sweep.sweep_dir, sweep.best["run"], sweep.best["validation_accuracy"], sweep.best_command

Each trial is an ordinary `digitlab train` run (run_pipeline), with its run
directory under runs_dir, its checkpoints and its report. The trial reports
its validation accuracy to Tune after every epoch; ASHA (asynchronous
successive halving) stops the trials that trail at 1, 2, 4... epochs. Tune
ends a stopped trial's process, so once the sweep is over each stopped trial
is finished as a Ray task: its last checkpoint is evaluated and reported
(run_pipeline with `stopped_after`), and its metrics.json says where it stopped.

The best trial is chosen on the validation split alone (validation accuracy,
then validation loss); the test accuracy in each run's metrics.json plays no
part and is not in the table. The sweep folder (formats/sweeps.py) holds
sweep.json, trials.csv, trials.md and trials.png.

On a cluster, every node writes its trials' run directories under runs_dir:
it must be one shared folder (NFS or the like) for the sweep to see them all.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import time
from pathlib import Path

from digitlab.console import progress
from digitlab.errors import UserError
from digitlab.formats import RunConfig, new_sweep_dir, read_history, read_metrics, rundir, write_sweep
from digitlab.formats.sweeps import TRIALS_PLOT
from digitlab.models import choose_backend, model_recipe
from digitlab.scale.cluster import connect

logger = logging.getLogger(__name__)

# What each model's sweep varies: RunConfig fields (learning_rate, augment) and
# options of its builder (widths, dropout). Ranges around each recipe's values.
SEARCH_SPACES = {
    "mlp": {
        "learning_rate": ("loguniform", 3e-4, 3e-3),
        "dropout_rate": ("uniform", 0.1, 0.5),
        "hidden_units": ("choice", [[64, 32], [128, 64], [256, 128], [512, 256]]),
        "augment": ("choice", [False, True]),
    },
    "cnn": {
        "learning_rate": ("loguniform", 3e-4, 3e-3),
        "dropout_rate": ("uniform", 0.2, 0.6),
        "widths": ("choice", [[16, 32], [32, 64], [64, 128]]),
        "augment": ("choice", [False, True]),
    },
    "vgg": {
        "learning_rate": ("loguniform", 1e-3, 1e-2),
        "dropout_rate": ("uniform", 0.2, 0.5),
        "widths": ("choice", [[16, 32, 64], [32, 64, 128], [48, 96, 192]]),
        "augment": ("choice", [False, True]),
    },
}
CONFIG_KNOBS = {field.name for field in dataclasses.fields(RunConfig)}
METRIC = "val_accuracy"
# ASHA: trials are compared after GRACE_EPOCHS, then at each REDUCTION_FACTOR times as many epochs;
# at each of those rungs a trial goes on only if it is in the best 1/REDUCTION_FACTOR so far.
GRACE_EPOCHS = 1
REDUCTION_FACTOR = 2
# How long a stopped trial's process may keep its run directory's lock before finishing it gives up.
LOCK_WAIT_SECONDS = 120


@dataclasses.dataclass
class SweepSettings:
    model: str
    trials: int
    epochs: int | None = None  # None: the model's recipe
    address: str | None = None
    cpus_per_trial: float = 1.0
    seed: int = 42
    runs_dir: str = "runs"
    dataset: str = "mnist"
    data_dir: str | None = None
    limit_train: int | None = None
    limit_test: int | None = None


@dataclasses.dataclass
class SweepResult:
    sweep_dir: Path
    rows: list[dict]
    best: dict | None
    best_command: str | None
    seconds: float


def search_space(model: str) -> dict:
    if model not in SEARCH_SPACES:
        raise UserError(f"digitlab tune has no search space for {model!r}; it sweeps "
                        f"{', '.join(sorted(SEARCH_SPACES))}.")
    return SEARCH_SPACES[model]


def base_config(settings: SweepSettings) -> RunConfig:
    """The RunConfig every trial starts from: the model's recipe, as `digitlab train` would build it."""
    config = RunConfig(model=settings.model, dataset=settings.dataset, seed=settings.seed,
                       runs_dir=settings.runs_dir, data_dir=settings.data_dir, limit_train=settings.limit_train,
                       limit_test=settings.limit_test, **{"engine": "auto", **model_recipe(settings.model)})
    if settings.epochs is not None:
        config.epochs = settings.epochs
    config.validate()
    return config


def trial_config(base: dict, knobs: dict) -> RunConfig:
    """The base config with one trial's knobs set, and the `digitlab train` command that repeats the trial."""
    config = RunConfig(**base)
    options = dict(config.model_options)
    for name, value in knobs.items():
        if name in CONFIG_KNOBS:
            setattr(config, name, value)
        else:
            options[name] = value
    config.model_options = options
    config.command = train_command(config)
    return config


def train_command(config: RunConfig) -> str:
    """`digitlab train ...` with every setting a sweep varies or limits, to repeat (or lengthen) a trial."""
    words = ["digitlab", "train", "--model", config.model, "--epochs", str(config.epochs),
             "--learning-rate", repr(config.learning_rate), "--augment" if config.augment else "--no-augment",
             "--seed", str(config.seed)]
    for name, value in config.model_options.items():
        words += ["--option", f"{name}={_json(value)}"]
    for flag, value in (("--dataset", config.dataset if config.dataset != "mnist" else None),
                        ("--limit-train", config.limit_train), ("--limit-test", config.limit_test),
                        ("--data-dir", config.data_dir)):
        if value is not None:
            words += [flag, str(value)]
    return shlex.join(words)


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _trial(knobs: dict, base: dict) -> None:
    """One trial, run by Tune in a worker process: a normal training run that reports each epoch."""
    from ray import tune  # heavy: Ray, in the worker

    config = trial_config(base, knobs)
    choose_backend(config)
    from digitlab.pipeline import run_pipeline  # heavy: Keras, in the worker only

    def report(run_dir: Path, epoch: int, logs: dict) -> None:
        # The last epoch is reported below, once the run is evaluated and saved: a report
        # at the scheduler's last rung ends the process, and the run must finish first.
        if epoch + 1 < config.epochs:
            tune.report({METRIC: float(logs[METRIC]), "epoch": epoch + 1, "run_dir": str(run_dir)})

    result = run_pipeline(config, verbose=0, on_epoch_end=report)
    tune.report({METRIC: float(result.metrics["validation_accuracy"]), "epoch": config.epochs,
                 "run_dir": str(result.run_dir)})


def _finish_stopped(run_dir: str, epochs_done: int) -> None:
    """Evaluate and report a trial that ASHA stopped after `epochs_done` epochs (its process is gone)."""
    config = RunConfig.load(Path(run_dir) / rundir.CONFIG)
    choose_backend(config)
    from digitlab.pipeline import run_pipeline  # heavy: Keras, in the worker only

    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while rundir.training_pid(run_dir) is not None:  # Tune ends the trial's process as the sweep ends
        if time.monotonic() > deadline:
            raise UserError(f"{run_dir} is still locked by its trial's process after {LOCK_WAIT_SECONDS} s.")
        time.sleep(0.2)
    run_pipeline(config, resume_dir=Path(run_dir), verbose=0, stopped_after=epochs_done)


def _distributions(space: dict) -> dict:
    from ray import tune  # heavy: Ray, imported when a sweep runs

    kinds = {"loguniform": tune.loguniform, "uniform": tune.uniform, "choice": tune.choice}
    return {name: kinds[kind](*arguments) for name, (kind, *arguments) in space.items()}


def run_sweep(settings: SweepSettings) -> SweepResult:
    """Run the sweep (see the module doc); return its rows, best first, and the best trial."""
    if settings.trials < 1:
        raise UserError(f"--trials must be at least 1, got {settings.trials}.")
    space = search_space(settings.model)
    base = base_config(settings)
    started = time.perf_counter()
    ray = connect(settings.address)
    try:
        sweep_dir = new_sweep_dir(settings.runs_dir, settings.model).resolve()
        # Trials run in other processes (other nodes): they get the runs folder as an absolute path.
        base.runs_dir = str(Path(settings.runs_dir).resolve())
        results = _tune(ray, settings, space, base, sweep_dir)
        _finish_trials(ray, results, settings.cpus_per_trial)
    finally:
        ray.shutdown()
    rows = _rows(results, space)
    best = next((row for row in rows if row["status"] == rundir.FINISHED), None)
    best_command = None
    if best is not None:
        best_config = RunConfig.load(Path(best["path"]) / rundir.CONFIG)
        best_command = best_config.command
    _write(sweep_dir, settings, space, base, rows, best, best_command)
    return SweepResult(sweep_dir, rows, best, best_command, time.perf_counter() - started)


def _tune(ray, settings: SweepSettings, space: dict, base: RunConfig, sweep_dir: Path) -> list[dict]:
    """Tune's part: the trials, ASHA, a progress bar over trials; each trial's last report and error."""
    # Heavy: Ray Tune, imported when a sweep runs.
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search import BasicVariantGenerator

    # Tune's newer console output prints its settings table and paths on stdout even when asked to be
    # silent, in the middle of what `digitlab tune` prints; the older one is silent at verbose=0.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    bar = progress(total=settings.trials, desc="Trials", unit="trial", enabled=settings.trials > 1)

    class CountTrials(tune.Callback):
        def on_trial_complete(self, iteration, trials, trial, **info):
            bar.update()

        def on_trial_error(self, iteration, trials, trial, **info):
            bar.update()

    trainable = tune.with_resources(tune.with_parameters(_trial, base=base.to_dict()),
                                    {"cpu": settings.cpus_per_trial})
    tuner = tune.Tuner(
        trainable,
        param_space=_distributions(space),
        tune_config=tune.TuneConfig(
            metric=METRIC, mode="max", num_samples=settings.trials,
            scheduler=ASHAScheduler(time_attr="training_iteration", max_t=base.epochs, grace_period=GRACE_EPOCHS,
                                    reduction_factor=REDUCTION_FACTOR),
            # Seeded: the same --seed samples the same knobs.
            search_alg=BasicVariantGenerator(random_state=settings.seed),
            reuse_actors=False,  # a fresh process per trial: Keras' backend is chosen per trial at import
        ),
        run_config=tune.RunConfig(name="tune", storage_path=str(sweep_dir / "ray"), verbose=0,
                                  callbacks=[CountTrials()]),
    )
    try:
        grid = tuner.fit()
    finally:
        bar.close()
    results = []
    for result in grid:
        metrics = result.metrics or {}
        knobs = {name: (result.config or {}).get(name) for name in space}
        error = None if result.error is None else (str(result.error).strip().splitlines() or ["failed"])[-1]
        results.append({"knobs": knobs, "run_dir": metrics.get("run_dir"), "epochs_done": metrics.get("epoch"),
                        "error": error})
    return results


def _finish_trials(ray, results: list[dict], cpus: float) -> None:
    """Finish the trials ASHA stopped, as Ray tasks (in parallel, where their run directories are)."""
    finish = ray.remote(num_cpus=cpus)(_finish_stopped)
    pending = {}
    for result in results:
        run_dir = result["run_dir"]
        if run_dir and rundir.run_status(run_dir) != rundir.FINISHED and result["epochs_done"]:
            pending[finish.remote(run_dir, int(result["epochs_done"]))] = result
    for reference, result in pending.items():
        try:
            ray.get(reference)
        except Exception as error:  # noqa: BLE001 - the trial's row says what went wrong; the others go on
            result["error"] = f"finishing it failed: {str(error).strip().splitlines()[-1]}"


def _rows(results: list[dict], space: dict) -> list[dict]:
    """One row per trial: knobs, epochs, stopped early, validation figures, run; best first, failures last."""
    rows = []
    for result in results:
        run_dir = result["run_dir"]
        metrics = {}
        if run_dir and (Path(run_dir) / rundir.METRICS).is_file():
            metrics = read_metrics(run_dir)
        status = rundir.run_status(run_dir) if run_dir else rundir.FAILED
        row = {name: _plain(result["knobs"][name]) for name in space}
        row.update({
            "epochs": metrics.get("epochs_run", result["epochs_done"]),
            "stopped_early": "stopped_early_after_epoch" in metrics,
            "validation_accuracy": metrics.get("validation_accuracy"),
            "validation_loss": metrics.get("validation_loss"),
            "train_seconds": metrics.get("train_seconds"),
            "status": status if not result["error"] else rundir.FAILED,
            "run": Path(run_dir).name if run_dir else "",
            "path": run_dir or "",
            "error": result["error"] or metrics.get("error") or "",
        })
        rows.append(row)
    finished = [row for row in rows if row["status"] == rundir.FINISHED and row["validation_accuracy"] is not None]
    others = [row for row in rows if row not in finished]
    finished.sort(key=lambda row: (-row["validation_accuracy"], row["validation_loss"] or 0.0))
    for rank, row in enumerate(finished, start=1):
        row["rank"] = rank
    return finished + others


def _plain(value):
    """Tune hands lists back as lists or tuples; the table and sweep.json want lists."""
    return list(value) if isinstance(value, tuple) else value


def _write(sweep_dir: Path, settings: SweepSettings, space: dict, base: RunConfig, rows: list[dict],
           best: dict | None, best_command: str | None) -> None:
    from digitlab.report import sweep_plot  # heavy: matplotlib

    columns = ["rank", *space, "epochs", "stopped_early", "validation_accuracy", "validation_loss", "run"]
    summary = {
        "model": settings.model, "trials": settings.trials, "epochs": base.epochs, "seed": settings.seed,
        "chosen_by": "validation accuracy (then validation loss) of each trial's final model",
        "scheduler": {"name": "ASHA", "grace_epochs": GRACE_EPOCHS, "reduction_factor": REDUCTION_FACTOR},
        "search_space": {name: list(definition) for name, definition in space.items()},
        "best": best and {key: best[key] for key in (*space, "validation_accuracy", "run", "path")},
        "best_command": best_command,
    }
    write_sweep(sweep_dir, summary, rows, columns)
    curves = {}
    for row in rows:
        if row["path"] and (Path(row["path"]) / rundir.HISTORY).is_file():
            curves[row["run"]] = read_history(Path(row["path"]) / rundir.HISTORY).get(METRIC, [])
    sweep_plot(curves, best and best["run"], sweep_dir / TRIALS_PLOT)

