"""Choose how `auto` reads: the segments reader, the line reader and ways to combine them, on validation data only.

Usage:

    .venv/bin/python benchmarks/readers_validation.py              # writes benchmarks/RESULTS-readers-validation.md
    .venv/bin/python benchmarks/readers_validation.py --photos 300 --scans 200 --no-write

Validation data, never the held-out numbers or a test seed: photos made by the
line reader's training generator (digitlab.synth.strips) with MNIST's
validation digits (training images 54,000–59,999) and no font, every sixth one
a scribble to refuse, and more photos of one digit; MNIST validation digits
as low-resolution scans (digitlab.synth.render_low_resolution), the kind of
image the line reader reads worst, and as drawings the way the web page sends
them; and more things to refuse, each from seeds or images no other benchmark
uses: letters and symbols in handwriting fonts, blank paper and noise
(digitlab.synth.render_non_digit), blank sheets under a hard shadow
(line_finding.shadowed_blank), and objects: Fashion-MNIST training images
(clothes, shoes, bags) photographed on paper. Each image is analysed once and
read by both readers; the rules below combine the two readings. The rule
`auto` uses (digitlab.recognize.recognizer.combined_reading) reads numbers as
well as the line reader, single digits, scans and drawings at least as well
as `segments` (the reader before the line reader), and refuses what is no
number about as well as the line reader: the only rule of the table that does
all four.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from common import ROOT, ensure_data, machine_line, write_results
from line_finding import BLANK_SEED, shadowed_blank

from digitlab.data import load_dataset, load_mnist, validation_start
from digitlab.recognize import Recognizer
from digitlab.recognize.recognizer import LONE_DIGIT_IMAGE_SIDE, combined_reading, one_digit_image
from digitlab.synth import render_low_resolution, render_mnist_drawing, render_non_digit
from digitlab.synth.photos import as_jpeg, compose_photo
from digitlab.synth.strip_data import SPLIT_SEEDS, validation_digit_source
from digitlab.synth.strips import render_number_photo
from digitlab.vision import ImageError, analyze

# Far past the validation strips the line reader's calibration used (SPLIT_SEEDS["validation"] onwards).
FIRST_SEED = SPLIT_SEEDS["validation"] + 100_000
# Seeds of the other things to refuse: past the photos above, and past line_finding.py's blank sheets;
# and of photos of one digit (the photos above are mostly numbers).
NON_DIGIT_SEED, SHADOWED_BLANK_SEED = SPLIT_SEEDS["validation"] + 300_000, BLANK_SEED + 100_000
SINGLE_SEED = SPLIT_SEEDS["validation"] + 400_000
DRAWING_SIDE = 200  # the web page's drawings (benchmarks/drawings.py)
TO_READ = ("number", "single", "scan", "drawing")
TO_REFUSE = ("scribble", "letter", "blank", "noise", "shadowed blank", "object")
KINDS = TO_READ + TO_REFUSE


def _more_confident(by_segments, by_line, analysis):
    if by_line.prediction and (not by_segments.prediction or by_line.confidence >= by_segments.confidence):
        return by_line
    return by_segments


def _lone_digit_in_an_image_at_most(side: float):
    """The classifier's lone digit where the line reader sees one too, or none in an image at most `side` px
    (0: never where it sees none; infinity: always)."""
    def rule(by_segments, by_line, analysis):
        if len(by_segments.digits) == 1 and by_segments.prediction and (
                len(by_line.digits) == 1 or (not by_line.digits and max(analysis.decoded.original_size) <= side)):
            return by_segments
        return by_line
    return rule


RULES = {
    "segments": lambda by_segments, by_line, analysis: by_segments,
    "line": lambda by_segments, by_line, analysis: by_line,
    "the more confident": _more_confident,
    "line; a lone digit by the classifier when the line reader sees one": _lone_digit_in_an_image_at_most(0),
    "line; a lone digit by the classifier when the line reader sees at most one (auto until 2026-12-07)":
        _lone_digit_in_an_image_at_most(float("inf")),
    **{f"line; a lone digit by the classifier when the line reader sees one, or none in an image at most {side} px":
       _lone_digit_in_an_image_at_most(side) for side in (48, 64, 96, 128)},
    f"line; a lone digit: the more confident reading when the line reader sees one, the classifier's when it "
    f"sees none in an image at most {LONE_DIGIT_IMAGE_SIDE} px or a drawing (auto)":
        lambda by_segments, by_line, analysis: combined_reading(by_segments, by_line, one_digit_image(analysis)),
}


def _analysis(image):
    """The image's analysis, or the ImageError saying why there is nothing to read (the readers pass it on)."""
    try:
        return analyze(image)
    except ImageError as error:
        return error


def _object_photo(image: np.ndarray, seed: int) -> bytes:
    """A Fashion-MNIST image (28×28, bright object) photographed on paper, 2-8 times its size."""
    rng = np.random.default_rng(seed)
    side = int(28 * rng.uniform(2, 8))
    coverage = np.kron(image.astype(np.float32) / 255.0, np.ones((4, 4), np.float32))
    return as_jpeg(compose_photo(coverage, rng, (int(side * rng.uniform(1.2, 3)), int(side * rng.uniform(1.1, 2)))),
                   rng)[1]


def validation_items(photos: int, singles: int, scans: int, drawings: int, others: int
                     ) -> list[tuple[str, str, object]]:
    """(kind, truth, analysis) for the validation photos, single digits, scans and drawings, and `others`
    of each other thing to refuse."""
    items = []
    digits = validation_digit_source()
    for seed in range(FIRST_SEED, FIRST_SEED + photos):
        photo, _ = render_number_photo(seed, digits, text="" if seed % 6 == 5 else None)
        kind = "scribble" if not photo.text else ("single" if len(photo.text) == 1 else "number")
        items.append((kind, photo.text, analyze(photo.jpeg)))
    for seed in range(SINGLE_SEED, SINGLE_SEED + singles):
        photo, _ = render_number_photo(seed, digits, text=str(seed % 10))
        items.append(("single", photo.text, analyze(photo.jpeg)))
    (images, labels), _ = load_mnist()
    start = validation_start(len(images))
    rng = np.random.default_rng(5)
    for index in range(start, start + scans):
        items.append(("scan", str(labels[index]), analyze(render_low_resolution(images[index], rng))))
    # Drawings as the web page sends them (200 px), from the validation digits the scans did not use.
    for index in range(start + scans, start + scans + drawings):
        items.append(("drawing", str(labels[index]), analyze(render_mnist_drawing(images[index], DRAWING_SIDE))))
    wanted, seed = {"letter": others, "blank": others, "noise": others}, NON_DIGIT_SEED
    while any(wanted.values()):
        sample = render_non_digit(seed)
        seed += 1
        if wanted.get(sample.kind, 0):
            wanted[sample.kind] -= 1
            items.append((sample.kind, "", _analysis(sample.jpeg)))
    for seed in range(SHADOWED_BLANK_SEED, SHADOWED_BLANK_SEED + others):
        items.append(("shadowed blank", "", _analysis(shadowed_blank(seed))))
    fashion = load_dataset("fashion").x_train
    for index in range(others):
        items.append(("object", "", _analysis(_object_photo(fashion[index], NON_DIGIT_SEED - 1 - index))))
    return items


def _said(reading) -> str:
    """What a reading gave: its prediction, "" for an image refused before any reader (an ImageError)."""
    return "" if isinstance(reading, ImageError) else reading.prediction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=600, help="validation photos (default 600)")
    parser.add_argument("--singles", type=int, default=300, help="more photos of one digit (default 300)")
    parser.add_argument("--scans", type=int, default=400, help="validation digits as low-resolution scans (400)")
    parser.add_argument("--drawings", type=int, default=1000, help="validation digits as drawings (1000)")
    parser.add_argument("--others", type=int, default=100,
                        help="images of each other kind to refuse: letters, blank, noise, shadowed blank, objects")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results file")
    args = parser.parse_args()
    ensure_data()
    items = validation_items(args.photos, args.singles, args.scans, args.drawings, args.others)
    analyses = [analysis for _, _, analysis in items]
    by_segments = Recognizer(reader="segments").read_analyses(analyses)
    by_line = Recognizer(reader="line").read_analyses(analyses)
    counts = {kind: sum(item[0] == kind for item in items) for kind in KINDS}
    lines = [
        "# Readers on validation data: segments, line, and ways to combine them",
        "",
        f"- Date, machine: {machine_line()}",
        f"- Command: `{' '.join(['python', 'benchmarks/readers_validation.py', *sys.argv[1:]])}`",
        f"- Data: {args.photos} photos from the line reader's generator with MNIST validation digits "
        f"(seeds {FIRST_SEED}…; {counts['number']} numbers of 2–8 digits, {counts['single'] - args.singles} "
        f"single digits, {counts['scribble']} scribbles) and {args.singles} more of one digit (seeds {SINGLE_SEED}…), "
        f"{counts['scan']} MNIST validation digits as low-resolution scans and {counts['drawing']} others as "
        f"{DRAWING_SIDE}-px drawings, "
        f"and {args.others} each of letters, blank paper, noise (seeds {NON_DIGIT_SEED}…), blank sheets under a "
        f"hard shadow (seeds {SHADOWED_BLANK_SEED}…) and Fashion-MNIST training objects on paper.",
        "- Each cell: numbers, digits, scans and drawings read exactly right; things to refuse refused.",
        "",
        # The docs include the table (docs/reading-images.md) between these markers (pymdownx.snippets sections).
        "<!-- --8<-- [start:table] -->",
        "| rule | numbers | single digits | scans | drawings | " + " | ".join(TO_REFUSE) + " | all refused |",
        "|---|" + "---:|" * (len(KINDS) + 1),
    ]
    for name, rule in RULES.items():
        said = [_said(line if isinstance(line, ImageError) else rule(segments, line, analysis))
                for segments, line, analysis in zip(by_segments, by_line, analyses)]
        right = [(answer == "" if kind in TO_REFUSE else answer == truth)
                 for (kind, truth, _), answer in zip(items, said)]
        cells = [f"{np.mean([ok for (kind, _, _), ok in zip(items, right) if kind == wanted]):.1%}"
                 for wanted in KINDS]
        cells.append(f"{np.mean([ok for (kind, _, _), ok in zip(items, right) if kind in TO_REFUSE]):.1%}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("<!-- --8<-- [end:table] -->")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_results(ROOT / "benchmarks" / "RESULTS-readers-validation.md", lines)


if __name__ == "__main__":
    main()
