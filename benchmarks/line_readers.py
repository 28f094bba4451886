"""Which line reader to ship: candidate line-reader models side by side on the same validation strips.

Usage:

    .venv/bin/python benchmarks/line_readers.py models/line-reader/model.onnx runs/<time>-line-reader ...
    .venv/bin/python benchmarks/line_readers.py --no-write models/line-reader/model.onnx
    .venv/bin/python benchmarks/line_readers.py --row-shifts=0 --row-shifts=0,-1,1 models/line-reader/model.onnx
    .venv/bin/python benchmarks/line_readers.py --decoder best-path --decoder beam models/line-reader/model.onnx
    .venv/bin/python benchmarks/line_readers.py --strips today --strips ~/.cache/digitlab/strips/validation-4000-<hash>.npz ...
    .venv/bin/python benchmarks/line_readers.py --strips today --strips train --sample 3000 models/line-reader/model.onnx

Each candidate (a model.onnx or model.keras file, or a run dir's model.keras)
reads every validation strip of digitlab.synth.strip_data (MNIST training
digits 54,000–59,999, no font; the strips today's pipeline cuts) by each
decoder asked for (`--decoder`: `beam`, CTC prefix beam search after the
card's temperature, as `digitlab predict` reads; `best-path`, as training's own
validation reads), with the frame scores averaged over the
strip moved by each of the row shifts (`--row-shifts`, each set a row; default:
the reader's own, LineReader's ROW_SHIFTS; `0` alone is the strip as cut); the table gives the numbers read exactly and
the things to refuse read as nothing. `--strips FILE` reads validation strips an
earlier generator made (the data cache keeps them by generator hash), to see a
candidate trained on a new generator's photos on the old ones too; `today` is
today's generator's; `train` its training strips, to see how well a candidate
fits what it learned from (`--sample N` reads N strips of each set). Only
validation data chooses: the held-out
numbers and the test seeds never choose a line reader.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from common import ROOT, ensure_data, finish, machine_line

from digitlab.formats import read_json
from digitlab.recognize.ctc import best_path_text, decode_text
from digitlab.recognize.line_reader import ROW_SHIFTS, LineReader
from digitlab.synth.strip_data import StripSet, line_strips, read_strips
from digitlab.train.line_training import validation_figures

VALIDATION_PHOTOS = 4_000
TRAINING_PHOTOS = 60_000  # the shipped reader's --line-photos
# How a strip's frames become a number: as `digitlab predict` reads (frame probabilities after the card's
# temperature, prefix beam search), or by each frame's most likely class (training's validation).
DECODERS = {"beam": lambda reader, pixels: decode_text(reader.frames(pixels)),
            "best-path": lambda reader, pixels: best_path_text(reader.logits(pixels))}


def model_file(candidate: Path) -> Path:
    return candidate / "model.keras" if candidate.is_dir() else candidate


def describe(candidate: Path) -> str:
    """What the candidate is: its run's command and epochs, or the shipped card's note."""
    folder = candidate if candidate.is_dir() else candidate.parent
    if (folder / "training.json").is_file():
        training = read_json(folder / "training.json")
        return (f"{training.get('command', '')} (best epoch {training['best_epoch']} of "
                f"{len(training['history'])}, frames of {training.get('frame_width', 4)} columns)")
    if (folder / "card.json").is_file():
        return f"shipped ({read_json(folder / 'card.json').get('data', {}).get('generator', '?')} strips)"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidates", nargs="+", type=Path, help="model files or line-reader run dirs")
    parser.add_argument("--photos", type=int, default=VALIDATION_PHOTOS, help="validation photos (default 4000)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-line-readers.md")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    parser.add_argument("--row-shifts", type=_shifts, action="append", metavar="ROWS",
                        help="a set of row shifts to read each strip with, such as 0 or 0,-1,1; repeat it for "
                             f"more rows (default: {shifts_text(ROW_SHIFTS)})")
    parser.add_argument("--decoder", action="append", choices=list(DECODERS),
                        help="how frames become a number (default: beam, as predict reads); repeat it for more rows")
    parser.add_argument("--strips", action="append", metavar="FILE",
                        help="validation strips saved by an earlier generator, `today` (the default), or `train` "
                             "(today's training strips: how well a reader fits what it learned from); repeat it to "
                             "read several sets")
    parser.add_argument("--sample", type=int, metavar="N",
                        help="read N strips of each set, drawn at random (seed 0), not all of them")
    args = parser.parse_args()
    args.row_shifts = args.row_shifts or [ROW_SHIFTS]
    args.decoder = args.decoder or ["beam"]
    ensure_data()
    sets = []
    for name in args.strips or ["today"]:
        try:
            strips = (line_strips("validation", args.photos) if name == "today"
                      else line_strips("train", TRAINING_PHOTOS) if name == "train"
                      else read_strips(Path(name).expanduser()))
        except (OSError, ValueError) as error:
            parser.error(f"cannot read the strips {name}: {error}")
        sets.append((name, strips if args.sample is None else sample(strips, args.sample), len(strips)))
    rows = []
    for candidate in args.candidates:
        # One session per set of row shifts, read by every set of strips.
        readers = [(shifts, LineReader(model_file(candidate), row_shifts=shifts)) for shifts in args.row_shifts]
        for name, strips, _ in sets:
            for (shifts, reader), decoder in itertools.product(readers, args.decoder):
                readings = [DECODERS[decoder](reader, strips.pixels(index)) for index in range(len(strips))]
                figures = validation_figures(readings, strips.texts)
                rows.append(f"| `{candidate}` | {describe(candidate)} | {_set_name(name, strips)} | "
                            f"{shifts_text(shifts)} | "
                            f"{decoder} | {figures['exact']:.2%} | {figures['refused_non_numbers']:.2%} |")
                print(rows[-1], flush=True)
    options = ("" if args.row_shifts == [ROW_SHIFTS] else
               "".join(f" --row-shifts={shifts_text(shifts)}" for shifts in args.row_shifts))
    options += "".join(f" --decoder {name}" for name in args.decoder) if args.decoder != ["beam"] else ""
    options += "".join(f" --strips {name}" for name in args.strips or [])
    options += f" --sample {args.sample}" if args.sample is not None else ""
    data = "; ".join(
        f"{_set_name(name, strips)}: {len(strips):,} strips "
        f"({sum(bool(text) for text in strips.texts):,} numbers, {sum(not text for text in strips.texts):,} things "
        f"to refuse)" + (f" drawn at random from {population:,}" if len(strips) < population else "")
        + f"; the set was cut by that generator's pipeline from {population + strips.missed:,} photos, "
        f"{strips.missed:,} whose line it missed left out"
        for name, strips, population in sets)
    lines = [
        "# Line readers side by side on validation strips" + (" and training strips" if "train" in (args.strips or [])
                                                              else ""),
        "",
        f"- {machine_line()}",
        f"- Command: `python benchmarks/line_readers.py{options} "
        f"{' '.join(str(candidate) for candidate in args.candidates)}`",
        "- Data: validation photos (MNIST training digits 54,000-59,999, no font), and with `--strips train` the "
        f"training photos (digits 0-53,999 and the training fonts): {data}.",
        "- Each reads every strip with its frame scores averaged over the strip moved by each row shift "
        "(0 alone: the strip as cut), then decodes them: beam, prefix beam search after the card's temperature "
        "(as `digitlab predict` reads); best-path, each frame's likeliest class. Exact: numbers read exactly; "
        "refused: things to refuse read as nothing (no reject threshold).",
        "",
        "| model | what it is | strips | row shifts | decoder | exact numbers | refused |",
        "|---|---|---|---|---|---:|---:|",
        *rows,
    ]
    return finish(lines, args.out, args.no_write)


def sample(strips: StripSet, count: int) -> StripSet:
    """`count` of the strips drawn at random (seed 0), in their order (`missed`: the whole set's)."""
    chosen = np.sort(np.random.default_rng(0).choice(len(strips), size=min(count, len(strips)), replace=False))
    pieces = [strips.columns[:, strips.offsets[index]:strips.offsets[index + 1]] for index in chosen]
    offsets = np.concatenate([[0], np.cumsum([piece.shape[1] for piece in pieces])]).astype(np.int64)
    return StripSet(np.concatenate(pieces, axis=1), offsets, [strips.texts[index] for index in chosen],
                    missed=strips.missed, generator=strips.generator)


def _set_name(name: str, strips: StripSet) -> str:
    """A strips set as the table names it: its generator hash, "training" added for the training strips."""
    return f"{strips.generator} training" if name == "train" else strips.generator


def shifts_text(shifts: tuple[int, ...]) -> str:
    """Row shifts as --row-shifts takes them and the tables show them: "0,-1,1"."""
    return ",".join(map(str, shifts))


def _shifts(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected row shifts such as 0,-1,1; got {text!r}") from None


if __name__ == "__main__":
    raise SystemExit(main())
