"""The `digitlab` command (also `python -m digitlab`). Thin: parse, call the library, print.

Usage:

    digitlab run                       # the Keras MNIST tutorial, end to end
    digitlab train --model mlp --epochs 10 --seed 42
    digitlab evaluate --model runs/<run> --json
    digitlab report runs/<run>
    digitlab models
    digitlab serve --port 8000 --model mlp  # the web app and REST API
    digitlab predict [--json] [--debug DIR] photo.jpg scans/   # read digits from images
    digitlab data fetch|info|verify [--dataset mnist|fashion]
    digitlab bench [--only training inference]   # the speed benchmarks (benchmarks/run.py)

User mistakes (a missing file, a bad value) print one line on stderr and exit 1;
they never print a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import warnings
from pathlib import Path

from digitlab import __version__
from digitlab.backend import choose_backend
from digitlab.config import LR_SCHEDULES, TINY_LIMITS, RunConfig
from digitlab.errors import UserError
from digitlab.runtimes import RUNTIMES

DATASET_CHOICES = ("mnist", "fashion")
# The sections of benchmarks/run.py (a test keeps the two lists the same).
BENCH_SECTIONS = ("training", "throughput", "convolutions", "mlp-epoch", "time-to-accuracy", "scaling", "inference")


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    # Unset options take the model's registered recipe (the tutorial's for mlp).
    parser.add_argument("--epochs", type=int, help="training epochs (tutorial: 10)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (tutorial: 128)")
    parser.add_argument("--learning-rate", type=float, help="Adam learning rate (tutorial: 0.001, Keras' default)")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, help="learning-rate schedule")
    parser.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=None,
        help="random rotation, shift, zoom and stroke width while training",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed; the same seed repeats a run")
    parser.add_argument("--dataset", choices=DATASET_CHOICES, default="mnist")
    parser.add_argument("--data-dir", help="directory of IDX files to use instead of the cache/download")
    parser.add_argument("--runs-dir", default="runs", help="where run directories are created (default: runs)")
    parser.add_argument("--limit-train", type=int, help="use only the first N training images")
    parser.add_argument("--limit-test", type=int, help="use only the first N test images")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a quick smoke run: 2,000 training and 500 test images, 2 epochs (unless given)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress output")
    parser.add_argument(
        "--engine", choices=("auto", "fast", "keras"),
        help="training loop: fast (whole epochs compiled with JAX), keras (plain model.fit), "
        "auto (fast where possible). Default: keras for run (the tutorial), auto for train",
    )


def _add_runtime_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime", choices=RUNTIMES, default="auto",
        help="inference runtime: auto (ONNX Runtime when the model has a model.onnx, else Keras), onnx or keras",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digitlab", description="Handwritten digit recognition with Keras.")
    parser.add_argument("--version", action="version", version=f"digitlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="the Keras MNIST tutorial end to end (what `make run` does)")
    _add_training_options(run)

    train = commands.add_parser("train", help="train a registered model; writes a run directory")
    train.add_argument("--model", default="mlp", help="registered architecture (see `digitlab models`)")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run from its last checkpoint")
    train.add_argument("--init-from", metavar="MODEL",
                       help="fine-tune: start from this trained model (shipped name, run directory or .keras file)")
    train.add_argument("--extra-data", type=_kinds, metavar="KIND[,KIND]",
                       help="extra training digits made by the vision pipeline: lowres (MNIST digits as "
                            "low-resolution scans), photos (digits cut from synthetic photos), small (the same, "
                            "small handwriting)")
    train.add_argument("--extra-photos", type=int,
                       help="synthetic photos to cut digits from, per kind (default: 8000)")
    _add_training_options(train)

    evaluate = commands.add_parser("evaluate", help="test-set metrics of a trained model")
    evaluate.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    evaluate.add_argument("--dataset", choices=DATASET_CHOICES, default=None, help="default: the model's own")
    evaluate.add_argument("--data-dir", help="directory of IDX files to use instead of the cache/download")
    evaluate.add_argument("--runs-dir", default="runs")
    evaluate.add_argument("--limit-test", type=int, help="use only the first N test images")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    report = commands.add_parser("report", help="(re)write report.html of a run directory")
    report.add_argument("run_dir", metavar="RUN")

    commands.add_parser("models", help="registered architectures and shipped models")

    bench = commands.add_parser(
        "bench", help="every speed benchmark side by side into benchmarks/RESULTS.md (a clone of the repository)"
    )
    bench.add_argument("--only", nargs="+", choices=BENCH_SECTIONS, metavar="SECTION",
                       help=f"run only these sections: {', '.join(BENCH_SECTIONS)} (the others' last results "
                            "stay in RESULTS.md)")

    ship = commands.add_parser("ship", help="copy a finished run to models/<name>/ with a model card")
    ship.add_argument("run_dir", metavar="RUN")
    ship.add_argument("--name", required=True, help="the shipped model's name (a folder under models/)")

    ensemble = commands.add_parser(
        "ensemble", help="ship several trained models as one that averages their probabilities"
    )
    ensemble.add_argument("members", nargs="+", metavar="MODEL", help="shipped model names, run directories or .keras files")
    ensemble.add_argument("--name", required=True, help="the shipped ensemble's name (a folder under models/)")
    ensemble.add_argument("--runs-dir", default="runs")

    predict = commands.add_parser("predict", help="read digits from image files and folders (photos, scans, drawings)")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders (searched recursively)")
    predict.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    predict.add_argument("--runs-dir", default="runs")
    predict.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    predict.add_argument("--debug", metavar="DIR", help="write every preprocessing stage of each image as PNG")
    _add_runtime_option(predict)

    serve = commands.add_parser("serve", help="the web app and REST API (FastAPI + uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    serve.add_argument("--model", help="default model: shipped name, run directory or .keras file (default: best)")
    serve.add_argument("--runs-dir", default="runs", help="run directories offered in the model picker")
    serve.add_argument("--max-upload-mb", type=float, default=10.0, help="request body limit in MB (default: 10)")
    serve.add_argument(
        "--cors-origin", action="append", default=[], metavar="ORIGIN",
        help="allow API calls from pages on this origin (repeatable; default: CORS off)",
    )
    serve.add_argument(
        "--workers", type=int, default=1,
        help="server processes sharing the port, each with its own copy of the model (default: 1)",
    )
    _add_runtime_option(serve)

    export = commands.add_parser("export", help="export a trained model to ONNX or TFLite, checked for parity")
    export.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    export.add_argument("--runs-dir", default="runs")
    export.add_argument("--format", choices=("onnx", "tflite"), default="onnx", help="default: onnx")
    export.add_argument("--out", metavar="FILE", help="default: model.onnx / model.tflite beside the .keras file")
    export.add_argument(
        "--parity-images", type=int, metavar="N", help="compare on the first N MNIST test images (default: all 10,000)"
    )
    export.add_argument("--json", action="store_true", help="print one JSON object")

    data = commands.add_parser("data", help="the dataset cache: fetch, info, verify")
    data.add_argument("action", choices=("fetch", "info", "verify"))
    data.add_argument("--dataset", choices=DATASET_CHOICES, default="mnist")
    data.add_argument("--data-dir", help="directory of IDX files to import into the cache")
    data.add_argument("--force", action="store_true", help="fetch: rebuild the cache even if it is valid")
    data.add_argument("--json", action="store_true", help="info/verify: print JSON")
    return parser


def _kinds(value: str) -> list[str]:
    return [kind.strip() for kind in value.split(",") if kind.strip()]


def _config_from_args(args: argparse.Namespace, model: str, default_engine: str) -> RunConfig:
    from digitlab.models import model_recipe

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
    }
    for field, value in given.items():
        if value is not None:
            setattr(config, field, value)
    return config.stamp(args.argv)


def _run_training(config: RunConfig, args: argparse.Namespace, resume_dir: Path | None = None) -> int:
    from digitlab.pipeline import run_pipeline
    from digitlab.summary import print_run_summary

    # A live progress bar on a terminal; one line per epoch in a log file or CI.
    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)
    result = run_pipeline(config, resume_dir=resume_dir, verbose=verbose)
    print_run_summary(result)
    return 0


def command_run(args: argparse.Namespace) -> int:
    # The tutorial's stack: Keras on TensorFlow with model.fit, unless asked otherwise.
    config = _config_from_args(args, model="mlp", default_engine="keras")
    choose_backend(config)
    return _run_training(config, args)


def command_train(args: argparse.Namespace) -> int:
    if args.resume:
        from digitlab.pipeline import resume_config

        config = resume_config(Path(args.resume), args.epochs)
        choose_backend(config)
        return _run_training(config, args, resume_dir=Path(args.resume))
    config = _config_from_args(args, model=args.model, default_engine="auto")
    choose_backend(config)
    return _run_training(config, args)


def command_evaluate(args: argparse.Namespace) -> int:
    from digitlab.scoring import evaluate_saved_model
    from digitlab.summary import format_evaluation

    result = evaluate_saved_model(
        args.model, dataset=args.dataset, data_dir=args.data_dir, runs_dir=args.runs_dir, limit_test=args.limit_test
    )
    print(json.dumps(result) if args.json else format_evaluation(result))
    return 0


def command_report(args: argparse.Namespace) -> int:
    from digitlab.report import write_report
    from digitlab import rundir

    run_dir = Path(args.run_dir)
    if not (run_dir / rundir.METRICS).is_file():
        raise UserError(f"{run_dir} has no {rundir.METRICS}; is it a finished digitlab run directory?")
    print(write_report(run_dir))
    return 0


def command_models(args: argparse.Namespace) -> int:
    from digitlab.summary import format_models

    print(format_models())
    return 0


def command_ship(args: argparse.Namespace) -> int:
    from digitlab.shipping import ship_run

    print(f"Shipped {args.run_dir} as {ship_run(Path(args.run_dir), args.name)}")
    return 0


def command_ensemble(args: argparse.Namespace) -> int:
    from digitlab.export import use_tensorflow_backend
    from digitlab.models.ensemble import ship_ensemble
    from digitlab.summary import format_shipped_ensemble

    use_tensorflow_backend()  # the ensemble is exported to ONNX too
    print(format_shipped_ensemble(ship_ensemble(args.members, args.name, runs_dir=args.runs_dir)))
    return 0


def command_bench(args: argparse.Namespace) -> int:
    import subprocess

    # The benchmarks are scripts in the repository, not part of the installed package.
    runner = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
    if not runner.is_file():
        raise UserError("digitlab bench runs benchmarks/run.py from a clone of the digitlab repository, and this "
                        "installation has none; clone it and `pip install -e .` there.")
    command = [sys.executable, str(runner)] + (["--only", *args.only] if args.only else [])
    return subprocess.run(command, cwd=runner.parents[1]).returncode


def command_serve(args: argparse.Namespace) -> int:
    from digitlab.serve import ServeSettings, run_server

    try:
        settings = ServeSettings(
            model=args.model, runs_dir=args.runs_dir, max_upload_mb=args.max_upload_mb,
            cors_origins=args.cors_origin, runtime=args.runtime,
        )
    except ValueError as error:
        raise UserError(str(error)) from None
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}.")
    run_server(settings, host=args.host, port=args.port, workers=args.workers)
    return 0


def command_data(args: argparse.Namespace) -> int:
    from digitlab import data
    from digitlab.summary import format_data_info, format_data_verify

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
    from digitlab.recognizer import Recognizer
    from digitlab.vision.output import collect_inputs, predict_and_print

    inputs = collect_inputs(args.paths)
    recognizer = Recognizer(args.model, runs_dir=args.runs_dir, runtime=args.runtime)
    return predict_and_print(recognizer, inputs, as_json=args.json,
                             debug_dir=Path(args.debug) if args.debug else None)


def command_export(args: argparse.Namespace) -> int:
    from digitlab.export import export_model
    from digitlab.modelfiles import resolve_model_path

    model_path = resolve_model_path(args.model, args.runs_dir)
    out = Path(args.out) if args.out else model_path.with_name(f"model.{args.format}")
    result = export_model(model_path, args.format, out, parity_images=args.parity_images)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(f"Exported {result.source} → {result.path} ({result.format}, {result.file_bytes / 1e6:.2f} MB) "
              f"in {result.seconds:.1f} s")
        print(f"Parity on {result.parity_images:,} MNIST test images: same top class on "
              f"{result.parity_top1_agreement:.2%}, probabilities within {result.parity_max_abs_diff:.1e}")
    return 0


COMMANDS = {
    "run": command_run,
    "train": command_train,
    "evaluate": command_evaluate,
    "report": command_report,
    "models": command_models,
    "bench": command_bench,
    "ship": command_ship,
    "ensemble": command_ensemble,
    "predict": command_predict,
    "serve": command_serve,
    "data": command_data,
    "export": command_export,
}


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"digitlab: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in config.json so a run says how to reproduce it
    # Warnings (e.g. a damaged cache being rebuilt) read as one line, like errors.
    warnings.formatwarning = _one_line_warning
    from digitlab.data import DataError

    try:
        return COMMANDS[args.command](args)
    except (UserError, DataError) as error:
        print(f"digitlab: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("digitlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        sys.stdout = open(os.devnull, "w")
        return 0


def console_main() -> None:
    """The `digitlab` command and `python -m digitlab`: main(), then a quick exit."""
    code = main()
    # At exit Python runs one last garbage collection over every object of the
    # ~2,800 modules Keras and JAX load: 0.6 s here, for memory the OS frees
    # anyway. Frozen objects are left out of it; atexit handlers, open files and
    # finalizers are handled as usual. (Not in main(): tests call it in-process.)
    gc.freeze()
    raise SystemExit(code)


if __name__ == "__main__":
    console_main()
