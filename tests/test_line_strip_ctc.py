"""The line reader's parts that need no trained model: the strip cut from an image, and CTC best-path decoding."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.recognize.ctc import (
    BLANK, aligned_frames, best_path, best_path_text, decode, decode_text, frame_probabilities, prefix_beam_search,
)
from digitlab.recognize.line_reader import _column_spans
from digitlab.vision import analyze
from digitlab.vision.line import CONTENT_HEIGHT, MAX_STRIP_WIDTH, STRIP_HEIGHT, WIDTH_MULTIPLE, cut_strip, line_boxes


def _frames(labels: list[int], sure: float = 0.9) -> np.ndarray:
    """Frame probabilities whose most likely class is labels[i] (with probability `sure`)."""
    probabilities = np.full((len(labels), 11), (1 - sure) / 10)
    probabilities[np.arange(len(labels)), labels] = sure
    return probabilities


def test_best_path_collapses_runs_and_drops_blanks():
    b = BLANK
    assert best_path_text(_frames([b, 1, 1, b, 1, b, b, 2, 2, 2, 3, b])) == "1123"
    assert best_path_text(_frames([b, b, b])) == ""
    assert best_path_text(np.zeros((0, 11))) == ""


def test_best_path_gives_each_digit_its_frames_and_renormalised_probabilities():
    b = BLANK
    probabilities = _frames([b, 7, 7, b, b, 4, b])
    probabilities[2, 7] = 0.95  # the peak frame of the 7
    probabilities[2] /= probabilities[2].sum()
    digits = best_path(probabilities)
    assert [(digit.digit, digit.first, digit.last) for digit in digits] == [(7, 1, 2), (4, 5, 5)]
    seven = digits[0]
    assert seven.probabilities.shape == (10,) and seven.probabilities.sum() == pytest.approx(1.0)
    assert int(np.argmax(seven.probabilities)) == 7
    # Its confidence counts blank too: the peak frame's probability of the 7 among all 11 classes.
    assert seven.confidence == pytest.approx(probabilities[2, 7])


def test_decode_reads_the_most_likely_number_where_best_path_reads_the_most_likely_path():
    # Two frames, each 0.6 blank and 0.4 a 7: the likeliest path is blank-blank (0.36), but the paths that
    # spell "7" (7-blank, blank-7, 7-7) add up to 0.64.
    frames = np.zeros((2, 11))
    frames[:, BLANK], frames[:, 7] = 0.6, 0.4
    assert best_path_text(frames) == "" and decode_text(frames) == "7"
    (seven,) = decode(frames)
    assert seven.digit == 7 and 0 <= seven.first <= seven.last <= 1
    assert seven.confidence == pytest.approx(0.4) and int(np.argmax(seven.probabilities)) == 7


def test_decode_is_best_path_on_sure_frames_and_keeps_a_double_digit():
    b = BLANK
    frames = _frames([b, 1, 1, b, 1, b, b, 2, 2, 2, 3, b])
    assert decode_text(frames) == "1123" and prefix_beam_search(frames) == (1, 1, 2, 3)
    assert [(d.digit, d.first, d.last) for d in decode(frames)] == [(d.digit, d.first, d.last)
                                                                      for d in best_path(frames)]
    assert decode_text(_frames([b, b, b])) == "" and decode(np.zeros((0, 11))) == []


def test_aligned_frames_follow_the_likeliest_path_of_the_number():
    b = BLANK
    frames = _frames([b, 4, 4, b, b, 4, b, 9, 9, b])
    assert aligned_frames(frames, (4, 4, 9)) == [(1, 2), (5, 5), (7, 8)]
    # A number the best path does not spell still gets one run of frames per digit, in order.
    spans = aligned_frames(frames, (4, 9))
    assert len(spans) == 2 and spans[0][1] < spans[1][0] and all(first <= last for first, last in spans)
    assert aligned_frames(frames, ()) == []


def test_frame_probabilities_is_a_stable_softmax_with_a_temperature():
    logits = np.array([[1000.0, 0.0] + [0.0] * 9, [0.0] * 11])
    probabilities = frame_probabilities(logits)
    assert np.all(np.isfinite(probabilities)) and probabilities[0, 0] == pytest.approx(1.0)
    assert probabilities[1] == pytest.approx(np.full(11, 1 / 11))
    softer = frame_probabilities(np.array([[2.0] + [0.0] * 10]), temperature=2.0)
    assert softer[0, 0] == pytest.approx(np.e / (np.e + 10))


def test_column_spans_split_the_blank_frames_between_neighbours():
    b = BLANK
    digits = best_path(_frames([b, 3, b, b, b, b, 5, 5, b]))
    # Frames are 4 columns: the 3 is frame 1, the 5 frames 6–7; the gap (frames 2–5) is shared half and half.
    assert _column_spans(digits, 36, 4) == [(0, 16), (16, 36)]


def test_cut_strip_scales_the_line_to_the_strip_and_maps_columns_back():
    ink = np.zeros((300, 500), np.float32)
    ink[100:180, 60:110] = 0.8  # a "digit" 80 px tall
    ink[100:180, 300:340] = 0.6  # another, paler (normalised to the same ink level as the first)
    strip = cut_strip(ink, [(60, 100, 110, 180), (300, 100, 340, 180)], threshold=0.3)
    assert strip.pixels.shape[0] == STRIP_HEIGHT and strip.width % WIDTH_MULTIPLE == 0
    assert strip.pixels.dtype == np.float32 and 0.0 <= strip.pixels.min() and strip.pixels.max() <= 1.0
    rows = np.flatnonzero(strip.pixels.max(axis=1) > 0.5)
    assert rows[-1] - rows[0] + 1 == pytest.approx(CONTENT_HEIGHT, abs=1)
    columns = np.flatnonzero(strip.pixels.max(axis=0) > 0.5)
    first = columns[columns < strip.width / 2]
    x0, y0, x1, y1 = strip.source_box(int(first[0]), int(first[-1]) + 1)
    assert abs(x0 - 60) <= 4 and abs(x1 - 110) <= 4 and abs(y0 - 100) <= 4 and abs(y1 - 180) <= 4


def test_cut_strip_keeps_a_very_long_line_within_the_widest_strip():
    ink = np.zeros((60, 4000), np.float32)
    ink[20:40, 10:3990] = 1.0
    strip = cut_strip(ink, [(10, 20, 3990, 40)], threshold=0.3)
    assert strip.width <= MAX_STRIP_WIDTH and strip.pixels.shape[0] == STRIP_HEIGHT


def test_cut_strip_without_boxes_is_none():
    assert cut_strip(np.zeros((10, 10), np.float32), [], threshold=0.3) is None


def test_the_pipeline_cuts_a_strip_around_the_digits_of_a_photo():
    from test_vision_fixtures import mnist_sheet

    from digitlab.data import load_mnist

    (_, _), (images, _) = load_mnist()
    analysis = analyze(mnist_sheet(images[:3]))
    assert analysis.line is not None and analysis.line.pixels.shape[0] == STRIP_HEIGHT
    x0, _, x1, _ = analysis.strip_box(0, analysis.line.width)
    digit_x0 = min(digit.box[0] for digit in analysis.digits)
    digit_x1 = max(digit.box[2] for digit in analysis.digits)
    assert x0 <= digit_x0 and x1 >= digit_x1


def test_line_boxes_add_a_dropped_first_digit_and_leave_out_a_far_mark():
    mask = np.zeros((100, 400), bool)
    digits = [(100, 40, 115, 70), (125, 40, 140, 70), (150, 40, 165, 70)]
    for x0, y0, x1, y1 in digits:
        mask[y0:y1, x0:x1] = True
    mask[45:58, 80:92] = True                                          # the top of a broken 4 (segmentation dropped it)
    mask[58:70, 86:90] = True                                          # …and its stem, a second piece
    mask[30:90, 380:384] = True                                        # a mark at the image's edge, far away
    far = (380, 30, 384, 90)
    boxes = line_boxes(mask, digits + [far])
    assert far not in boxes
    assert min(box[0] for box in boxes) == 80 and max(box[2] for box in boxes) == 165
    assert line_boxes(mask, []) == []


def test_line_boxes_leave_out_a_shadow_at_the_border_for_the_digit_inside():
    """A wedge of shadow read as ink at the image's left side, a 4 in the middle: the line is the 4."""
    mask = np.zeros((120, 400), bool)
    mask[20:60, 0:20] = True                                           # the shadow's wedge, touching the border
    mask[30:60, 90:110] = True                                         # the 4, as tall, within a run's reach
    boxes = line_boxes(mask, [(0, 20, 20, 60), (90, 30, 110, 60)])
    assert boxes == [(90, 30, 110, 60)]
    # Cut from a crop (a leveled line), the border is not the photo's: both stay in the run.
    assert len(line_boxes(mask, [(0, 20, 20, 60), (90, 30, 110, 60)], whole_image=False)) == 2


def test_line_boxes_keep_a_rule_and_a_digit_on_another_line_out():
    mask = np.zeros((200, 400), bool)
    digits = [(100, 40, 115, 70), (125, 40, 140, 70)]
    for x0, y0, x1, y1 in digits:
        mask[y0:y1, x0:x1] = True
    mask[72:74, 20:380] = True                                         # a rule under the line
    mask[140:170, 150:165] = True                                      # a digit on the next line
    boxes = line_boxes(mask, digits)
    assert sorted(boxes) == sorted(digits)


def test_line_boxes_of_two_lines_keep_one():
    """Two digits on each of two lines far apart: the median row lies between them, yet a line is kept."""
    mask = np.zeros((300, 300), bool)
    digits = [(100, 40, 115, 70), (125, 40, 140, 70), (100, 200, 115, 230), (125, 200, 140, 230)]
    for x0, y0, x1, y1 in digits:
        mask[y0:y1, x0:x1] = True
    boxes = line_boxes(mask, digits)
    assert len(boxes) == 2 and len({box[1] for box in boxes}) == 1


@pytest.mark.parametrize("valley", [0.5, 0.65, 1.35, 1.5, 2.2, 3.0])
def test_the_temperature_search_finds_the_full_grid_s_minimum_in_fewer_calls(valley):
    from digitlab.export.line_shipping import TEMPERATURES, grid_minimum

    calls = []

    def cost(temperature):
        calls.append(temperature)
        return (temperature - valley) ** 2

    found = grid_minimum(TEMPERATURES, cost)
    assert len(set(calls)) == len(calls) <= 20 < len(TEMPERATURES)  # each temperature decoded once
    assert found == float(min(TEMPERATURES, key=cost)) == valley
