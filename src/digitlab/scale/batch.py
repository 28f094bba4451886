"""`digitlab batch`: read many images on Ray Data, locally or on a cluster; write Parquet or JSON Lines.

Usage:

    summary = run_batch("scans/", Path("readings.parquet"))                         # a local Ray on this machine
    summary = run_batch("paths.txt", Path("out.jsonl"), output_format="jsonl", address="10.0.0.5:6379")
    summary.images, summary.errors, summary.seconds, summary.stage_seconds

INPUT is a folder (searched recursively, as `predict` searches one), a Parquet
file with a `path` column, or a text file of paths (one per line; blank lines
and lines starting with # are skipped). Ray Data splits the paths into blocks;
a pool of actors (READER_CPUS each, so that a 2-CPU machine still has room for
Ray's own tasks) each holds one Recognizer with one ONNX Runtime thread, the
same one `digitlab predict` uses, and reads its batch: the file (every node
must see the paths: a shared disk, or the same files on each), the vision
pipeline, the models. Each row is exactly `predict --json`'s object for that
path (the actors send its JSON line; scale/output.py writes them), in the input's order, so `batch` and
`predict` agree line for line. A file that cannot be read is an error row;
the job goes on. The results stream back to this process, which writes the one
output file (atomically) and runs the progress bar; rows are small, so the
writer is not what limits a cluster. At the end: images per second and the
CPU time per image of each stage, measured in the actors.

The models come from each node's own install: the bundled readers, or what
`digitlab models pull` put in its models folder; DIGITLAB_* variables set here
are passed to the workers.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from digitlab.console import progress
from digitlab.errors import UserError
from digitlab.recognize.inputs import collect_inputs, result_record
from digitlab.recognize.recognizer import Recognizer
from digitlab.scale.cluster import connect
from digitlab.scale.output import OUTPUT_FORMATS, open_output
from digitlab.vision import ImageError

# CPUs each reading actor asks Ray for: below 1 so that Ray Data's own tasks are never starved of a CPU
# (a pool of 1-CPU actors on a 2-CPU machine waits forever for its input tasks).
READER_CPUS = 0.5
# Images per actor call (one batched model call each).
BATCH_SIZE = 32
# Timing columns the actors add to each row; summed here and left out of the output.
STAGE_COLUMNS = {"seconds_preprocess": "preprocessing (decode, vision pipeline)", "seconds_models": "models"}


@dataclass
class BatchSummary:
    images: int
    errors: int
    seconds: float
    workers: int
    stage_seconds: dict[str, float] = field(default_factory=dict)  # CPU-side seconds per stage, summed over images
    nodes: list[str] = field(default_factory=list)  # each Ray node's address

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


def list_paths(source: str | os.PathLike) -> list[str]:
    """The paths INPUT names: a folder's images, a Parquet file's `path` column, or a text file's lines."""
    source = Path(source)
    if source.is_dir():
        return [item.shown for item in collect_inputs([str(source)])]
    if not source.is_file():
        raise UserError(f"{source} does not exist; give a folder, a Parquet file with a path column, "
                        "or a text file of paths.")
    if source.suffix.lower() == ".parquet":
        import pyarrow.parquet as parquet  # heavy: pyarrow comes with digitlab[ray]

        try:
            schema = parquet.read_schema(source)
            if "path" not in schema.names:
                raise UserError(f"{source} has no column named path (its columns: {', '.join(schema.names)}).")
            return [str(path) for path in parquet.read_table(source, columns=["path"]).column("path").to_pylist()
                    if path is not None]
        except (OSError, ValueError) as error:  # pyarrow's errors for a damaged file subclass these
            raise UserError(f"{source} is not a readable Parquet file ({type(error).__name__}).") from None
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{source} is neither a folder, a Parquet file nor a UTF-8 text file of paths.") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def reader_class(options: dict):
    """The actor class Ray Data runs: built here so that Recognizer options travel inside the class."""

    class ReadImages:
        def __init__(self):
            self.recognizer = Recognizer(**options, threads=1)

        def __call__(self, batch: dict) -> dict:
            paths = [str(path) for path in batch["path"]]
            analyses, preprocess = [], []
            for path in batch["file"]:
                started = time.process_time()
                try:
                    analyses.append(self.recognizer.analyze(str(path)))
                except ImageError as error:
                    analyses.append(error)
                preprocess.append(time.process_time() - started)
            started = time.process_time()
            results = self.recognizer.read_analyses(analyses)
            models = (time.process_time() - started) / max(1, len(paths))
            # Each row as predict --json prints it: the same keys in the same order, whatever the row.
            return {"record": [json.dumps(result_record(path, result)) for path, result in zip(paths, results)],
                    "seconds_preprocess": preprocess, "seconds_models": [models] * len(paths)}

    return ReadImages


def run_batch(source: str | os.PathLike, out: Path, output_format: str | None = None, address: str | None = None,
              workers: int | None = None, batch_size: int = BATCH_SIZE, options: dict | None = None) -> BatchSummary:
    """Read every image INPUT names on Ray Data and write one row per image to `out`; see the module doc."""
    out = Path(out)
    output_format = output_format or ("jsonl" if out.suffix.lower() in (".jsonl", ".json") else "parquet")
    if output_format not in OUTPUT_FORMATS:
        raise UserError(f"--format must be one of {', '.join(OUTPUT_FORMATS)}, got {output_format!r}.")
    paths = list_paths(source)
    options = dict(options or {})
    Recognizer(**options)  # checked here first: a wrong model name is one clear error, not one per actor
    started = time.perf_counter()
    if not paths:  # nothing to read: an empty output, and no cluster to start
        with open_output(out, output_format):
            pass
        return BatchSummary(0, 0, time.perf_counter() - started, 0)
    ray = connect(address)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours counts images, not blocks
        context.execution_options.preserve_order = True  # rows in the input's order, as predict prints them
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        workers = workers or max(1, cluster_cpus)
        nodes = sorted(node["NodeManagerAddress"] for node in ray.nodes() if node.get("Alive"))
        # "path" as given (and printed, as predict prints it); "file" absolute, since actors run elsewhere.
        dataset = ray.data.from_items([{"path": path, "file": os.path.abspath(path)} for path in paths],
                                      override_num_blocks=max(1, min(len(paths), 4 * workers)))
        readings = dataset.map_batches(reader_class(options), batch_size=batch_size, batch_format="numpy",
                                       compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=READER_CPUS)
        stage_seconds = dict.fromkeys(STAGE_COLUMNS, 0.0)
        images = errors = 0
        bar = progress(total=len(paths), desc="Reading", unit="image", enabled=len(paths) > 1)
        with open_output(out, output_format) as output:
            for batch in readings.iter_batches(batch_format="numpy", batch_size=None):
                lines = [str(line) for line in batch["record"]]
                errors += output.write(lines)
                for column in STAGE_COLUMNS:
                    stage_seconds[column] += float(batch[column].sum())
                images += len(lines)
                bar.update(len(lines))
        bar.close()
    finally:
        ray.shutdown()
    return BatchSummary(images, errors, time.perf_counter() - started, workers,
                        {STAGE_COLUMNS[column]: value for column, value in stage_seconds.items()}, nodes)
