"""`digitlab predict`: how results are printed, read here or on worker processes.

Usage:

    inputs = collect_inputs(["photo.jpg", "scans/"])       # files and folders (recursive) → ImageInput list
    exit_status = predict_and_print(recognizer, inputs, as_json=True, debug_dir=None)
    exit_status = predict_and_print(recognizer, inputs, jobs=2, worker_options=options)   # on 2 processes

Which files are read is digitlab.recognize.inputs' (folders recursively,
image extensions only). Every unreadable input gives one error
(a JSON object {"path", "error"} or a table row); the others are still read and
the exit status is 2 at the end.

With `jobs` above 1 the images are read by that many worker processes
(digitlab.recognize.parallel), each with a Recognizer built from
`worker_options`; the output is the same, in the same order.

Over more than one image a progress bar runs on stderr where stderr is a terminal
(digitlab.console); JSON lines written meanwhile go above it, and stdout gets
exactly the same bytes as without a bar.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from digitlab.console import progress
from digitlab.errors import UserError
from digitlab.recognize.inputs import ImageInput, collect_inputs, result_record
from digitlab.recognize.parallel import ParallelReader
from digitlab.vision import ImageError

# Images read per model call when no debug images are written.
BATCH_SIZE = 32
# With --jobs N, batches are smaller when there are few images, so that each worker gets about this many.
BATCHES_PER_WORKER = 4
EXIT_UNREADABLE = 2


def format_table(records: list[tuple[str, dict]]) -> str:
    """Aligned text table: path, prediction, confidence, the digits with their confidences."""
    rows = [("path", "prediction", "confidence", "digits (confidence)")]
    for shown, record in records:
        if "error" in record:
            rows.append((shown, "error", "", record["error"]))
            continue
        digits = " ".join(f"{digit['digit']} ({digit['confidence']:.2f})" for digit in record["digits"])
        if record.get("note"):
            digits = f"{digits}  [{record['note']}]".strip()
        rows.append((shown, record["prediction"] or "—", f"{record['confidence']:.3f}", digits))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip() for row in rows
    )


def _debug_dir_for(root: Path, index: int, item: ImageInput) -> Path:
    return root / f"{index + 1:04d}-{item.path.stem or 'image'}"


def _results(recognizer, batches: list[list[ImageInput]], debug_dir: Path | None, jobs: int,
             worker_options: dict | None) -> Iterator[list]:
    """Each batch's results (ReadResult or ImageError per input), in order: here, or on `jobs` processes."""
    if jobs > 1 and len(batches) > 1:  # (one batch: no processes to start)
        with ParallelReader(jobs, worker_options or {}) as pool:
            yield from pool.read_batches([[item.path for item in batch] for batch in batches])
        return
    for index, batch in enumerate(batches):
        if debug_dir is not None:  # one image per batch
            item = batch[0]
            try:
                yield [recognizer.read(item.path, debug_dir=_debug_dir_for(Path(debug_dir), index, item))]
            except ImageError as error:
                yield [error]
        else:
            yield recognizer.read_many([item.path for item in batch])


def predict_and_print(recognizer, inputs: list[ImageInput], as_json: bool = False,
                      debug_dir: Path | None = None, out: TextIO | None = None, jobs: int = 1,
                      worker_options: dict | None = None) -> int:
    """Read every input and print JSON Lines (streamed) or a table; return 0, or 2 if any input failed."""
    out = out or sys.stdout
    if jobs > 1 and debug_dir is not None:
        raise UserError("--debug writes each image's stages one image at a time; leave out --jobs.")
    records: list[tuple[str, dict]] = []
    failed = False
    step = 1 if debug_dir is not None else BATCH_SIZE
    if jobs > 1:
        step = max(1, min(BATCH_SIZE, math.ceil(len(inputs) / (jobs * BATCHES_PER_WORKER))))
    batches = [inputs[start:start + step] for start in range(0, len(inputs), step)]
    bar = progress(total=len(inputs), desc="Reading", unit="image", enabled=len(inputs) > 1)
    # JSON lines share the terminal with the bar only when stdout is the terminal too.
    around_bar = not bar.disable and getattr(out, "isatty", lambda: False)()
    for index, results in enumerate(_results(recognizer, batches, debug_dir, jobs, worker_options)):
        batch = batches[index]
        for item, result in zip(batch, results):
            failed = failed or isinstance(result, ImageError)
            record = result_record(item.shown, result)
            if not isinstance(result, ImageError) and result.note and not as_json:
                record["note"] = result.note
            if as_json and around_bar:
                bar.write(json.dumps(record), file=out)  # above the bar, which is redrawn below it
                out.flush()
            elif as_json:
                print(json.dumps(record), file=out, flush=True)
            else:
                records.append((item.shown, record))
        bar.update(len(batch))
    bar.close()
    if not as_json:
        print(format_table(records), file=out)
    return EXIT_UNREADABLE if failed else 0
