"""The `digitlab` command line's arguments: one subcommand per job.

Usage:

    args = build_parser().parse_args(["train", "--model", "cnn"])
"""

from __future__ import annotations

import argparse
import json

from digitlab import __version__
from digitlab.formats import LR_SCHEDULES
from digitlab.recognize import LONE_DIGIT_IMAGE_SIDE, READERS, RUNTIMES

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
        help="random rotation, shift, zoom and stroke width while training (the line reader: each strip "
             "stretched or squeezed across the line, moved up or down and its ink weakened)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed; the same seed repeats a run")
    _add_data_options(parser)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a quick smoke run: 2,000 training and 500 test images, 2 epochs (unless given)",
    )
    parser.add_argument(
        "--engine", choices=("auto", "fast", "keras"),
        help="training loop: fast (whole epochs compiled with JAX), keras (plain model.fit), "
        "auto (fast where possible). Default: keras for run (the tutorial), auto for train",
    )


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    """Which images a run trains and tests on, and where its run directories go (train, run, tune)."""
    parser.add_argument("--dataset", choices=DATASET_CHOICES, default="mnist")
    parser.add_argument("--data-dir", help="directory of IDX files to use instead of the cache/download")
    parser.add_argument("--runs-dir", default="runs", help="where run directories are created (default: runs)")
    parser.add_argument("--limit-train", type=int, help="use only the first N training images")
    parser.add_argument("--limit-test", type=int, help="use only the first N test images")


def _add_runtime_option(parser: argparse.ArgumentParser, default: str | None = "auto") -> None:
    parser.add_argument(
        "--runtime", choices=RUNTIMES, default=default,
        help="inference runtime: auto (ONNX Runtime when the model has a model.onnx, else Keras), onnx, "
             "onnx-int8 (the model.int8.onnx beside the model, see `digitlab export --quantize int8`) or keras"
             + ("" if default else " (default: auto; DIGITLAB_RUNTIME)"),
    )


def _add_reader_option(parser: argparse.ArgumentParser, default: str | None = "auto") -> None:
    parser.add_argument(
        "--reader", choices=READERS, default=default,
        help="how photos and scans are read: line (the line reader: the whole number at once, recognition decides "
             "where the digits are), segments (cut into digits first, each classified by --model) or auto (the line "
             "reader; for a lone digit the segmentation finds, the classifier's reading when it is the more confident, "
             f"or when the line reader sees none in a drawing or a scan (at most {LONE_DIGIT_IMAGE_SIDE} pixels); "
             "segments when --model names a classifier or no line reader is installed)"
             + ("" if default else " (default: auto; DIGITLAB_READER)"),
    )


def add_global_options(options: argparse.ArgumentParser) -> None:
    """-v, -q and --log-file, accepted before or after the command (`digitlab -q train`, `digitlab train -q`)."""
    # SUPPRESS: a command's unset option must not overwrite one given before the command.
    options.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                         help="more detail on stderr: -v digitlab's debug lines, -vv other libraries' too")
    options.add_argument("-q", "--quiet", action="count", default=argparse.SUPPRESS,
                         help="only warnings and errors on stderr: no notes, progress bars or per-epoch lines")
    options.add_argument("--log-file", metavar="FILE", default=argparse.SUPPRESS,
                         help="also append every log record, with time and level, to FILE (whatever -q says)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digitlab", description="Handwritten digit recognition with Keras.")
    parser.add_argument("--version", action="version", version=f"digitlab {__version__}")
    add_global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="the Keras MNIST tutorial end to end (what `make run` does)")
    _add_training_options(run)

    train = commands.add_parser("train", help="train a registered model; writes a run directory")
    train.add_argument("--model", default="mlp",
                       help="registered architecture (see `digitlab models`), or line-reader: the number reader "
                            "(strips of synthetic photos, CTC; --epochs, --batch-size, --seed, --line-photos, "
                            "--learning-rate, --init-from, --option for its shape: widths, context, dropout_rate, "
                            "frame_width, dilation)")
    train.add_argument("--line-photos", type=int, metavar="N",
                       help="line-reader only: synthetic training photos to make (default: 60000)")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run from its last checkpoint")
    train.add_argument("--init-from", metavar="MODEL",
                       help="fine-tune: start from this trained model (shipped name, run directory or .keras file)")
    train.add_argument("--extra-data", type=_kinds, metavar="KIND[,KIND]",
                       help="extra training digits made by the vision pipeline: lowres (MNIST digits as "
                            "low-resolution scans), photos (digits cut from synthetic photos), small (the same, "
                            "small handwriting)")
    train.add_argument("--extra-photos", type=int,
                       help="synthetic photos to cut digits from, per kind (default: 8000)")
    train.add_argument("--ray-workers", type=_positive_int, metavar="N",
                       help="data-parallel training on N Ray Train workers (Keras on PyTorch in each; "
                            "pip install 'digitlab[ray-train]'); the result is the one-process recipe's")
    train.add_argument("--ray-address", metavar="HOST:PORT",
                       help="with --ray-workers: join this Ray cluster (default: a local Ray on this machine); "
                            "the runs folder must then be shared by every node")
    train.add_argument("--option", type=_model_option, action="append", metavar="NAME=VALUE", dest="model_options",
                       help="an option of the model's builder, VALUE in JSON (e.g. --option dropout_rate=0.4 "
                            "--option hidden_units=[256,128], or for the line reader --option widths=[48,96,144,192]); "
                            "`digitlab tune` prints the best ones this way")
    _add_training_options(train)

    evaluate = commands.add_parser("evaluate", help="test-set metrics of a trained model")
    evaluate.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    evaluate.add_argument("--dataset", choices=DATASET_CHOICES, default=None, help="default: the model's own")
    evaluate.add_argument("--data-dir", help="directory of IDX files to use instead of the cache/download")
    evaluate.add_argument("--runs-dir", default="runs")
    evaluate.add_argument("--limit-test", type=int, help="use only the first N test images")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    runs = commands.add_parser(
        "runs", help="the run directories and their status (running, finished, failed, interrupted)",
        description="List the runs under --runs-dir, oldest first: model, status, epochs done of those asked for, "
                    "and test accuracy. A run whose training process is gone before it finished is interrupted: "
                    "`digitlab train --resume RUN` continues it.")
    runs.add_argument("--runs-dir", default="runs")
    runs.add_argument("--json", action="store_true", help="print one JSON list")

    report = commands.add_parser("report", help="(re)write report.html of a run directory")
    report.add_argument("run_dir", metavar="RUN")

    models = commands.add_parser(
        "models", help="registered architectures and shipped models; `models pull` fetches more",
        description="Without an action: list registered architectures, shipped models (bundled in the package "
                    "or in the models directory) and the models not installed yet.")
    model_actions = models.add_subparsers(dest="models_action", metavar="ACTION")
    pull = model_actions.add_parser(
        "pull", help="fetch shipped models into the models directory, each file checked against its SHA-256",
        description="Fetch shipped models into the models directory ($DIGITLAB_MODELS_DIR, else the per-user data "
                    "directory). Every file is checked against the SHA-256 in the package's manifest before it "
                    "replaces anything.")
    pull.add_argument("names", nargs="*", metavar="NAME", help="models to fetch (`digitlab models` lists them)")
    pull.add_argument("--all", dest="all_models", action="store_true", help="every model in the manifest")
    pull.add_argument("--from", dest="source_dir", metavar="DIR",
                      help="copy from a local folder laid out like the repository's models/ instead of downloading")

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
    ensemble.add_argument("members", nargs="+", metavar="MODEL",
                          help="shipped model names (ship runs first with `digitlab ship`)")
    ensemble.add_argument("--name", required=True,
                          help="the ensemble's name: a folder under models/ that holds only its card")

    predict = commands.add_parser("predict", help="read digits from image files and folders (photos, scans, drawings)")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders (searched recursively)")
    predict.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    predict.add_argument("--runs-dir", default="runs")
    predict.add_argument("--json", action="store_true", help="print one JSON object per image (JSON Lines)")
    predict.add_argument("--debug", metavar="DIR", help="write every preprocessing stage of each image as PNG")
    predict.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                         help="read the images on N processes of this machine, each with one ONNX Runtime thread "
                              "(same output, same order; default 1)")
    _add_runtime_option(predict)
    _add_reader_option(predict)

    batch = commands.add_parser(
        "batch", help="read many images on Ray (this machine, or a cluster) into one Parquet or JSON Lines file")
    batch.add_argument("input", metavar="INPUT",
                       help="a folder (searched recursively), a Parquet file with a path column, or a text file of "
                            "paths (one per line)")
    batch.add_argument("--out", required=True, metavar="OUT", help="the output file (.parquet, or .jsonl)")
    batch.add_argument("--format", choices=("parquet", "jsonl"),
                       help="output format (default: jsonl when OUT ends in .jsonl, else parquet)")
    batch.add_argument("--ray-address", metavar="HOST:PORT",
                       help="join this Ray cluster (default: start a local Ray on this machine)")
    batch.add_argument("--workers", type=_positive_int, metavar="N",
                       help="reading actors, each with one model copy (default: one per CPU of the cluster)")
    batch.add_argument("--batch-size", type=_positive_int, default=32, metavar="N", help="images per model call")
    batch.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    batch.add_argument("--runs-dir", default="runs")
    _add_runtime_option(batch)
    _add_reader_option(batch)

    tune = commands.add_parser(
        "tune", help="a Ray Tune sweep over a model's knobs (ASHA stops weak trials); each trial is a run directory",
        description="Samples --trials settings of the model's knobs (learning rate, widths, dropout, augmentation), "
                    "trains each as a normal run, and stops the trailing ones early (ASHA). The best trial is "
                    "chosen on the validation split only. Writes a sweep folder with sweep.json, trials.csv, "
                    "trials.md and trials.png, and prints the command that trains the best settings.")
    tune.add_argument("--model", required=True, help="the architecture to sweep: mlp, cnn or vgg")
    tune.add_argument("--trials", type=_positive_int, default=8, metavar="N", help="settings to try (default: 8)")
    tune.add_argument("--epochs", type=_positive_int, metavar="E",
                      help="epochs of a trial that is never stopped (default: the model's recipe)")
    tune.add_argument("--ray-address", metavar="HOST:PORT",
                      help="join this Ray cluster (default: start a local Ray on this machine); the runs folder "
                           "must then be shared by every node")
    tune.add_argument("--cpus-per-trial", type=float, default=1.0, metavar="C",
                      help="CPUs Ray gives each trial (default: 1)")
    tune.add_argument("--seed", type=int, default=42, help="seeds the sampled settings and every trial")
    _add_data_options(tune)  # --runs-dir: the sweep folder and the trials' run directories

    serve = commands.add_parser(
        "serve", help="the web app and REST API (FastAPI + uvicorn)",
        description="The web app and REST API. Every option can also be set by an environment variable "
                    "(DIGITLAB_HOST, DIGITLAB_PORT, ...: DIGITLAB_ and the option's name); an option given here wins.",
    )
    serve.add_argument("--host", help="address to bind (default: 127.0.0.1, this machine only; DIGITLAB_HOST)")
    serve.add_argument("--port", type=int, help="TCP port (default: 8000; DIGITLAB_PORT)")
    serve.add_argument("--model", help="default model: shipped name, run directory or .keras file "
                                       "(default: best; DIGITLAB_MODEL)")
    serve.add_argument("--runs-dir", help="run directories offered in the model picker (default: runs; "
                                          "DIGITLAB_RUNS_DIR)")
    serve.add_argument("--max-upload-mb", type=float, help="request body limit in MB (default: 10; "
                                                           "DIGITLAB_MAX_UPLOAD_MB)")
    serve.add_argument("--body-timeout", type=float, metavar="SECONDS",
                       help="a request body must arrive within this, else 408 (default: 30; DIGITLAB_BODY_TIMEOUT)")
    serve.add_argument(
        "--cors-origin", action="append", dest="cors_origins", metavar="ORIGIN",
        help="allow API calls from pages on this origin (repeatable; default: CORS off; "
             "DIGITLAB_CORS_ORIGINS, comma-separated)",
    )
    serve.add_argument(
        "--workers", type=int,
        help="server processes sharing the port, each with its own copy of the model (default: 1; DIGITLAB_WORKERS)",
    )
    serve.add_argument(
        "--root-path", metavar="PATH",
        help="the path prefix a reverse proxy serves the app under, e.g. /digits (default: none; DIGITLAB_ROOT_PATH)",
    )
    _add_runtime_option(serve, default=None)
    _add_reader_option(serve, default=None)

    export = commands.add_parser("export", help="export a trained model to ONNX or TFLite, checked for parity")
    export.add_argument("--model", help="shipped model name, run directory or .keras file (default: best)")
    export.add_argument("--runs-dir", default="runs")
    export.add_argument("--format", choices=("onnx", "tflite"), default="onnx", help="default: onnx")
    export.add_argument("--out", metavar="FILE", help="default: model.onnx / model.tflite beside the .keras file; "
                        "for an ensemble, NAME.onnx / NAME.tflite in the current folder")
    export.add_argument(
        "--parity-images", type=int, metavar="N",
        help="compare on the first N MNIST test images (default: all 10,000); with --quantize, the first N "
             "validation images (default: all 6,000)",
    )
    export.add_argument(
        "--quantize", choices=("int8",),
        help="int8: ONNX Runtime static quantization calibrated on MNIST training images, kept only if it loses "
             "at most 0.1 percentage point of validation accuracy (default --out: model.int8.onnx)",
    )
    export.add_argument("--calibration-images", type=int, default=1000, metavar="N",
                        help="with --quantize: MNIST training images that fix the int8 ranges (default: 1000)")
    export.add_argument("--json", action="store_true", help="print one JSON object")

    data = commands.add_parser("data", help="the dataset cache: fetch, info, verify")
    data.add_argument("action", choices=("fetch", "info", "verify"))
    data.add_argument("--dataset", choices=DATASET_CHOICES, default="mnist")
    data.add_argument("--data-dir", help="directory of IDX files to import into the cache")
    data.add_argument("--force", action="store_true", help="fetch: rebuild the cache even if it is valid")
    data.add_argument("--json", action="store_true", help="info/verify: print JSON")
    _add_global_options_to_commands(parser)
    return parser


def _add_global_options_to_commands(parser: argparse.ArgumentParser) -> None:
    """Every command and sub-command (e.g. `models pull`) takes the global options too."""
    for action in parser._actions:  # argparse has no public way to list a parser's subparsers
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                add_global_options(command)
                _add_global_options_to_commands(command)


def _model_option(value: str) -> tuple[str, object]:
    """NAME=VALUE with VALUE read as JSON (a number, a list, true), else as the string it is."""
    name, equals, text = value.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    try:
        return name.strip(), json.loads(text)
    except json.JSONDecodeError:
        return name.strip(), text


def _kinds(value: str) -> list[str]:
    return [kind.strip() for kind in value.split(",") if kind.strip()]


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number
