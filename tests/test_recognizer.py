"""Recognizer: the model + the vision pipeline, on MNIST digits drawn as photos, arrays and bad input."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from PIL import Image

from test_vision_fixtures import mnist_digits, mnist_sheet, recognizer, trained_model_path

from digitlab.recognize import REJECT_BELOW, ImageError, ReadResult, Recognizer


def test_info_and_name():
    model = recognizer()
    assert model.path == trained_model_path()
    assert model.info["parameters"] == 109_386 and model.info["name"] == model.name
    assert set(model.info) == {"name", "path", "runtime", "test_accuracy", "parameters", "temperature", "reader"}
    # A model asked for by name reads images itself, digit by digit, even when a line reader is installed.
    assert model.info["reader"] == "segments" and model.line_reader is None
    # Confidences are calibrated with the temperature fitted when the model was trained.
    from digitlab.formats import model_temperature

    assert model.temperature == model.info["temperature"] == model_temperature(model.path)


def test_predict_pixels_matches_the_model_and_blank_is_empty():
    images, labels = mnist_digits(5)
    model = recognizer()
    for image, label in zip(images, labels):
        answer = model.predict_pixels(image)  # 0..255 accepted
        assert answer["prediction"] == str(label)
        assert answer["digits"][0]["box"] == [0, 0, 28, 28]
        assert len(answer["digits"][0]["probabilities"]) == 10
        assert answer == model.predict_pixels(image / 255.0)
    assert model.predict_pixels(np.zeros((28, 28)))["prediction"] == ""
    with pytest.raises(ValueError):
        model.predict_pixels(np.zeros((10, 10)))


@pytest.mark.parametrize("dark_ink, jpeg", [(True, True), (False, False)])
def test_reads_a_photo_of_mnist_digits(dark_ink, jpeg):
    """Real MNIST digits, enlarged 6×, on lit paper: the pipeline must give them back to the model intact."""
    images, labels = mnist_digits(6)
    result = recognizer().read(mnist_sheet(images, dark_ink=dark_ink, jpeg=jpeg))
    assert isinstance(result, ReadResult)
    assert [digit.digit for digit in result.digits] == list(labels)
    assert result.prediction == "".join(map(str, labels))
    boxes = [digit.box for digit in result.digits]
    assert all(a[2] <= b[0] for a, b in zip(boxes, boxes[1:]))  # left to right, no overlap
    assert result.confidence == pytest.approx(np.prod([digit.confidence for digit in result.digits]))


def test_every_input_type(tmp_path):
    images, labels = mnist_digits(2, offset=400)
    data = mnist_sheet(images, jpeg=False)
    path = tmp_path / "sheet.png"
    path.write_bytes(data)
    model = recognizer()
    expected = "".join(map(str, labels))
    for source in (path, str(path), data, Image.open(path), np.asarray(Image.open(path)), open(path, "rb")):
        assert model.read(source).prediction == expected


def test_blank_and_noise_are_not_read():
    model = recognizer()
    rng = np.random.default_rng(1)
    blank = np.full((300, 400, 3), 235, np.uint8)
    noise = rng.integers(0, 256, (300, 400), dtype=np.uint8)
    for image in (blank, noise):
        result = model.read(image)
        assert result.prediction == ""


def test_low_confidence_is_rejected():
    model = Recognizer(trained_model_path(), reject_below=1.01)  # nothing is that sure
    images, _ = mnist_digits(2)
    result = model.read(mnist_sheet(images))
    assert result.prediction == "" and len(result.digits) == 2 and result.note
    assert 0.0 < REJECT_BELOW < 1.0


def test_read_many_batches_and_reports_errors(tmp_path):
    images, labels = mnist_digits(3)
    good = tmp_path / "good.jpg"
    good.write_bytes(mnist_sheet(images))
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    results = recognizer().read_many([good, bad, tmp_path / "missing.png", good.read_bytes()])
    assert results[0].prediction == results[3].prediction == "".join(map(str, labels))
    assert isinstance(results[1], ImageError) and results[1].kind == "not_image"
    assert isinstance(results[2], ImageError) and results[2].kind == "missing"
    assert results[0].to_json() == recognizer().read(good).to_json()


def test_an_unreadable_input_leaves_no_reference_cycle_behind():
    """An ImageError kept as a result must not hold the frames (and so every image) of the call: under
    load in `digitlab serve`, such cycles piled up to gigabytes between full garbage collections."""
    images, _ = mnist_digits(3)
    sheet = mnist_sheet(images)
    model = recognizer()
    model.read_many([sheet, b"not an image"])  # a first call: caches and lazy imports settle
    gc.collect()
    gc.disable()
    try:
        results = model.read_many([sheet, b"not an image", sheet[: len(sheet) // 2]])
        assert [type(result) for result in results] == [ReadResult, ImageError, ImageError]
        del results
        assert gc.collect() == 0, "read_many left objects that only the cycle collector frees"
    finally:
        gc.enable()


def test_to_json_schema():
    images, _ = mnist_digits(2)
    payload = recognizer().read(mnist_sheet(images)).to_json()
    assert set(payload) == {"prediction", "confidence", "digits"}
    for digit in payload["digits"]:
        assert set(digit) == {"digit", "confidence", "box", "probabilities"}
        assert len(digit["box"]) == 4 and len(digit["probabilities"]) == 10
        assert abs(sum(digit["probabilities"]) - 1) < 1e-3


def test_debug_dir_has_every_stage(tmp_path):
    images, _ = mnist_digits(2)
    recognizer().read(mnist_sheet(images), debug_dir=tmp_path / "debug")
    names = sorted(path.name for path in (tmp_path / "debug").iterdir())
    for stage in ("1-gray.png", "2-background.png", "3-ink.png", "4-mask.png", "5-digits.png", "result.txt"):
        assert stage in names
    assert sum(name.startswith("6-digit-") for name in names) == 2
