"""What each `digitlab` subcommand does: build its inputs, call the library, print.

Usage:

    COMMANDS["predict"](build_parser().parse_args(["predict", "photo.jpg"]))   # → exit status

Each command imports the stage it needs when it runs (the issue's one allowed
exception to imports at the top), so `digitlab predict` never loads Keras, and
starts without the training stack, the web app or the dataset sources.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

from digitlab.cli.extras import require_extras
from digitlab.cli.predict_output import predict_and_print
from digitlab.cli.text import (
    format_data_info,
    format_data_verify,
    format_evaluation,
    format_models,
    format_pulled,
    format_runs,
    format_shipped_ensemble,
    format_sweep,
    print_run_summary,
)
from digitlab.errors import UserError
from digitlab.formats import TINY_LIMITS, RunConfig, list_runs, models_dir, resolve_model_path, rundir
from digitlab.models import choose_backend, model_recipe
from digitlab.recognize import Recognizer
from digitlab.recognize.inputs import collect_inputs


def _config_from_args(args: argparse.Namespace, model: str, default_engine: str) -> RunConfig:
    recipe = {"engine": default_engine, **model_recipe(model)}
    config = RunConfig(
        model=model,
        dataset=args.dataset,
        seed=args.seed,
        data_dir=args.data_dir,
        runs_dir=args.runs_dir,
        limit_train=args.limit_train,
        limit_test=args.limit_test,
        **recipe,
    )
    if args.tiny:
        config.limit_train = args.limit_train or TINY_LIMITS["limit_train"]
        config.limit_test = args.limit_test or TINY_LIMITS["limit_test"]
        config.epochs = TINY_LIMITS["epochs"]
    given = {
        "engine": args.engine,  # else the recipe's, else the command's default
        "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "lr_schedule": args.lr_schedule, "augment": args.augment,
        # Only `train` has these.
        "init_from": getattr(args, "init_from", None), "extra_data": getattr(args, "extra_data", None),
        "extra_photos": getattr(args, "extra_photos", None),
        "model_options": dict(args.model_options) if getattr(args, "model_options", None) else None,
        "ray_workers": getattr(args, "ray_workers", None),
    }
    for field, value in given.items():
        if value is not None:
            setattr(config, field, value)
    return config.stamp(args.argv)


def _run_training(config: RunConfig, args: argparse.Namespace, resume_dir: Path | None = None) -> int:
    from digitlab.pipeline import run_pipeline  # lazy: training loads Keras, and only this command needs it

    # A live progress bar on a terminal; one line per epoch in a log file or CI.
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    trainer = None
    if config.ray_workers:
        require_extras("train --ray-workers")
        from digitlab.scale.train import check_workers_fit, fit_on_ray  # lazy: Ray, and PyTorch in the workers

        address = getattr(args, "ray_address", None)
        check_workers_fit(config.ray_workers, address)  # before the run directory is made
        trainer = partial(fit_on_ray, workers=config.ray_workers, address=address)
    result = run_pipeline(config, resume_dir=resume_dir, verbose=verbose, trainer=trainer)
    print_run_summary(result)
    return 0


def command_run(args: argparse.Namespace) -> int:
    # The tutorial's stack: Keras on TensorFlow with model.fit, unless asked otherwise.
    config = _config_from_args(args, model="mlp", default_engine="keras")
    choose_backend(config)
    return _run_training(config, args)


def _backend_for_ray_workers(config: RunConfig) -> None:
    """The driver of a Ray Train run only evaluates: TensorFlow, since JAX warns (rightly) when Ray forks."""
    if config.ray_workers:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def command_train(args: argparse.Namespace) -> int:
    if args.model == rundir.LINE_READER_MODEL or (args.resume and rundir.run_model_name(Path(args.resume))
                                                   == rundir.LINE_READER_MODEL):
        return _train_line_reader(args)
    if args.resume:
        from digitlab.pipeline import resume_config  # lazy: the pipeline's stages are heavy

        config = resume_config(Path(args.resume), args.epochs)
        _backend_for_ray_workers(config)
        choose_backend(config)
        return _run_training(config, args, resume_dir=Path(args.resume))
    config = _config_from_args(args, model=args.model, default_engine="auto")
    _backend_for_ray_workers(config)
    choose_backend(config)
    return _run_training(config, args)


def _train_line_reader(args: argparse.Namespace) -> int:
    os.environ.setdefault("KERAS_BACKEND", "jax")  # the line reader trains through Keras' stateless API on JAX
    from digitlab.train.line_training import train_line_reader_run  # lazy: loads Keras and JAX

    command = "digitlab train --model line-reader" + "".join(
        f" --{flag} {value}" for flag, value in (("epochs", args.epochs), ("batch-size", args.batch_size),
                                                 ("seed", args.seed), ("line-photos", args.line_photos),
                                                 ("learning-rate", args.learning_rate),
                                                 ("init-from", args.init_from)) if value)
    architecture = dict(args.model_options or [])
    command += " --augment" if args.augment else ""
    command += "".join(f" --option {name}={json.dumps(value, separators=(',', ':'))}"
                       for name, value in architecture.items())
    init_from = Path(resolve_model_path(args.init_from, args.runs_dir)) if args.init_from else None
    run_dir = train_line_reader_run(Path(args.runs_dir), args.epochs, args.line_photos or 60_000,
                                    batch_size=args.batch_size or 32, seed=args.seed,
                                    resume_dir=Path(args.resume) if args.resume else None, command=command,
                                    learning_rate=args.learning_rate, init_from=init_from,
                                    architecture=architecture, augment=bool(args.augment))
    print(f"Line reader trained: {run_dir} (ship it with `digitlab ship {run_dir} --name line-reader`)")
    return 0


def command_evaluate(args: argparse.Namespace) -> int:
    from digitlab.evaluate import evaluate_saved_model  # lazy: loads scikit-learn, and Keras to score

    result = evaluate_saved_model(
        args.model, dataset=args.dataset, data_dir=args.data_dir, runs_dir=args.runs_dir, limit_test=args.limit_test
    )
    print(json.dumps(result) if args.json else format_evaluation(result))
    return 0


def command_report(args: argparse.Namespace) -> int:
    from digitlab.report import write_report  # lazy: the report loads matplotlib

    run_dir = Path(args.run_dir)
    rundir.require_finished(run_dir, "write a report")
    print(write_report(run_dir))
    return 0


def command_runs(args: argparse.Namespace) -> int:
    runs = list_runs(args.runs_dir)
    print(json.dumps(runs) if args.json else format_runs(runs, args.runs_dir))
    return 0


def command_models(args: argparse.Namespace) -> int:
    if getattr(args, "models_action", None) == "pull":
        if bool(args.names) == bool(args.all_models):
            raise UserError("name the models to pull (`digitlab models` lists them), or pass --all, not both.")
        from digitlab import data  # lazy: the download sources (urllib, http.client) slow every other command

        # One line per model as soon as it is in place (a long --all download shows its progress).
        data.pull_models(args.names or None, source_dir=args.source_dir,
                         on_done=lambda result: print(format_pulled([result]), flush=True))
        return 0
    print(format_models())
    return 0


def command_ship(args: argparse.Namespace) -> int:
    if rundir.run_model_name(Path(args.run_dir)) == rundir.LINE_READER_MODEL:
        from digitlab.export.line_shipping import ship_line_reader  # lazy: loads Keras, TensorFlow and tf2onnx

        rundir.require_finished(Path(args.run_dir), "ship a model")
        print(f"Shipped {args.run_dir} as {ship_line_reader(Path(args.run_dir), args.name, models_dir())}")
        return 0
    from digitlab.export import ship_run  # lazy: exporting loads Keras, TensorFlow and tf2onnx

    print(f"Shipped {args.run_dir} as {ship_run(Path(args.run_dir), args.name)}")
    return 0


def command_ensemble(args: argparse.Namespace) -> int:
    from digitlab.export import ship_ensemble  # lazy: building the ensemble to measure it loads Keras

    print(format_shipped_ensemble(ship_ensemble(args.members, args.name)))
    return 0


def command_bench(args: argparse.Namespace) -> int:
    # The benchmarks are scripts in the repository, not part of the installed package:
    # they run from the root of a clone (the current directory).
    clone = Path.cwd()
    runner = clone / "benchmarks" / "run.py"
    if not runner.is_file():
        raise UserError("digitlab bench runs benchmarks/run.py from the root of a clone of the digitlab "
                        "repository, and the current directory has none; cd to your clone.")
    command = [sys.executable, str(runner)] + (["--only", *args.only] if args.only else [])
    return subprocess.run(command, cwd=clone).returncode


def command_serve(args: argparse.Namespace) -> int:
    from digitlab.serve import SETTINGS_FIELDS, run_server, settings_from_flags  # lazy: FastAPI, uvicorn

    # Options given win over DIGITLAB_* environment variables, which win over the defaults.
    settings = settings_from_flags({field: getattr(args, field) for field in SETTINGS_FIELDS if hasattr(args, field)})
    run_server(settings, verbose=args.verbose, quiet=args.quiet, log_file=args.log_file)
    return 0


def command_data(args: argparse.Namespace) -> int:
    from digitlab import data  # lazy: the dataset sources (urllib, http.client, IDX) slow every other command

    if args.action == "fetch":
        dataset = data.fetch(args.dataset, data_dir=args.data_dir, force=args.force)
        print(f"{dataset.name}: {len(dataset.y_train):,} training + {len(dataset.y_test):,} test images, "
              f"verified (from {dataset.source}).")
    elif args.action == "info":
        info = data.info(args.dataset, data_dir=args.data_dir)
        print(json.dumps(info, indent=2) if args.json else format_data_info(info))
    else:
        result = data.verify(args.dataset)
        print(json.dumps(result, indent=2) if args.json else format_data_verify(result))
    return 0


def command_predict(args: argparse.Namespace) -> int:
    inputs = collect_inputs(args.paths)
    options = {"model": args.model, "runs_dir": args.runs_dir, "runtime": args.runtime, "reader": args.reader}
    recognizer = Recognizer(**options)  # here too with --jobs: a bad option is one clear error before any worker
    return predict_and_print(recognizer, inputs, as_json=args.json, debug_dir=Path(args.debug) if args.debug else None,
                             jobs=args.jobs, worker_options=options)


def command_batch(args: argparse.Namespace) -> int:
    from digitlab.scale import run_batch  # lazy: Ray, pyarrow

    options = {"model": args.model, "runs_dir": args.runs_dir, "runtime": args.runtime, "reader": args.reader}
    summary = run_batch(args.input, Path(args.out), output_format=args.format, address=args.ray_address,
                        workers=args.workers, batch_size=args.batch_size, options=options)
    per_image = ", ".join(f"{stage} {seconds / max(1, summary.images) * 1000:.1f} ms"
                          for stage, seconds in summary.stage_seconds.items())
    print(f"Read {summary.images:,} images ({summary.errors:,} unreadable, as error rows) into {args.out} in "
          f"{summary.seconds:.1f} s: {summary.images_per_second:.1f} images/s on {summary.workers} reading "
          f"actors, {len(summary.nodes)} Ray node{'s' if len(summary.nodes) != 1 else ''} "
          f"({', '.join(summary.nodes)}).")
    print(f"CPU time per image in the actors: {per_image}.")
    return 0


def command_tune(args: argparse.Namespace) -> int:
    from digitlab.scale.tune import SweepSettings, run_sweep  # lazy: Ray, and Keras in the trials

    if args.cpus_per_trial <= 0:
        raise UserError(f"--cpus-per-trial must be positive, got {args.cpus_per_trial}.")
    sweep = run_sweep(SweepSettings(
        model=args.model, trials=args.trials, epochs=args.epochs, address=args.ray_address,
        cpus_per_trial=args.cpus_per_trial, seed=args.seed, runs_dir=args.runs_dir, dataset=args.dataset,
        data_dir=args.data_dir, limit_train=args.limit_train, limit_test=args.limit_test))
    print(format_sweep(sweep))
    return 0 if sweep.best is not None else 1


def command_export(args: argparse.Namespace) -> int:
    if args.quantize:
        return _export_int8(args)
    from digitlab.export import default_export_path, export_model  # lazy: exporting loads Keras, TensorFlow, tf2onnx

    model_path = resolve_model_path(args.model, args.runs_dir)
    out = Path(args.out) if args.out else default_export_path(model_path, args.format)
    result = export_model(model_path, args.format, out, parity_images=args.parity_images)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"Exported {result.source} → {result.path} ({result.format}, {result.file_bytes / 1e6:.2f} MB) "
              f"in {result.seconds:.1f} s")
        print(f"Parity on {result.parity_images:,} MNIST test images: same top class on "
              f"{result.parity_top1_agreement:.2%}, probabilities within {result.parity_max_abs_diff:.1e}")
    return 0


def _export_int8(args: argparse.Namespace) -> int:
    if args.format != "onnx":
        raise UserError(f"--quantize {args.quantize} quantizes ONNX models, not {args.format}; use --format onnx.")
    from digitlab.export import default_int8_path, quantize_model  # lazy: onnx, and Keras if it must export first

    model_path = resolve_model_path(args.model, args.runs_dir)
    out = Path(args.out) if args.out else default_int8_path(model_path)
    result = quantize_model(model_path, out, calibration_count=args.calibration_images,
                            check_count=args.parity_images)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"Quantized {result.source} → {result.path} (int8, {result.quant_format}, "
              f"{'per-channel' if result.per_channel else 'per-tensor'}; {result.file_bytes / 1e6:.2f} MB, "
              f"float {result.float_onnx_bytes / 1e6:.2f} MB) in {result.seconds:.1f} s")
        print(f"Validation ({result.check_images:,} images): float {result.float_accuracy:.2%}, "
              f"int8 {result.int8_accuracy:.2%}, same top class on {result.top1_agreement:.2%}")
    return 0


COMMANDS = {
    "run": command_run,
    "train": command_train,
    "evaluate": command_evaluate,
    "report": command_report,
    "runs": command_runs,
    "models": command_models,
    "bench": command_bench,
    "ship": command_ship,
    "ensemble": command_ensemble,
    "predict": command_predict,
    "serve": command_serve,
    "data": command_data,
    "export": command_export,
    "batch": command_batch,
    "tune": command_tune,
}
