"""A held-out generator of photographed numbers, written with MNIST test digits; for benchmarks only.

Usage (from benchmarks/, which scripts run there have on sys.path):

    from heldout import load_test_digits, plan, render
    images, labels = load_test_digits()
    items = plan(numbers=1000, rejects_per_kind=40, seed=2027, labels=labels)
    data, notes = render(items[0], images, seed=2027)   # JPEG bytes; notes say how it was written and shot

    python benchmarks/heldout_numbers.py --write DIR   # the whole set as files, with truth.jsonl

Why it is here and not in src/digitlab/synth: it measures readers whose
training images come from digitlab.synth, so it shares no rendering code with
it (it imports nothing from digitlab but the MNIST loader and the atomic file
writers) and no digit it draws was ever trained on or used to choose anything:
every digit is an MNIST *test* image, upscaled, thinned to its centre line and
redrawn with a pen (strokes.py), written on paper and photographed by a phone
(camera.py). Numbers and their writers: numbers.py; what a reader must refuse:
rejects.py. It decides nothing: no model, threshold or default may be chosen on it.
"""

from heldout.sets import (
    REJECT_KINDS,
    TRUTH_FILE,
    Item,
    contact_sheet,
    load_test_digits,
    plan,
    render,
    rendered,
    truth_record,
    write_set,
)

__all__ = ["REJECT_KINDS", "TRUTH_FILE", "Item", "contact_sheet", "load_test_digits", "plan", "render", "rendered",
           "truth_record", "write_set"]
