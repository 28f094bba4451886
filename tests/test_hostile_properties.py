"""Property tests: whatever the bytes or the array, a reader gives a valid result or one UserError, nothing else.

Hypothesis generates the inputs: IDX headers and payloads (any magic, type code,
dimensions, length; raw or gzipped), arbitrary and mutated image files, arrays of
any shape, dtype and values (NaN, infinities, negatives, huge numbers), JSON
texts and config values, .npz bytes. The runs are derandomized (the same
examples every time, so CI is deterministic) and bounded by max_examples.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digitlab.data import DataError, NpzError, read_npz
from digitlab.data.idx import IDX_DTYPES, parse_idx, read_idx
from digitlab.errors import UserError
from digitlab.formats import RunConfig, read_json
from digitlab.formats.config import _TYPE_WORDS
from digitlab.vision import analyze, normalize_pixels
from digitlab.vision.decode import decode_image
from hostile import digit_image, encoded

BOUNDED = settings(max_examples=150, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------- IDX


@st.composite
def idx_files(draw) -> bytes:
    """IDX bytes whose header may lie: any type code, 0-6 dimensions of any size, a payload of any length."""
    type_code = draw(st.sampled_from([*IDX_DTYPES, 0x00, 0x0A, 0xFF]))
    # Powers of two among the sizes: products that wrap around in 64-bit arithmetic (2**31 · 2**31 · 4 = 2**64).
    sizes = st.one_of(st.integers(0, 6), st.sampled_from([2**16, 2**30, 2**31, 2**32 - 1]), st.integers(0, 2**32 - 1))
    dims = draw(st.lists(sizes, max_size=6))
    magic = draw(st.sampled_from([b"\x00\x00", b"\x00\x01", b"\x1f\x8b"]))
    header = magic + bytes([type_code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    header = header[: draw(st.integers(0, len(header)))] if draw(st.booleans()) else header
    return header + draw(st.binary(max_size=300))


def check_idx(data: bytes) -> None:
    try:
        array = parse_idx(data)
    except DataError:
        return
    ndim = data[3]
    assert array.shape == struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    assert array.nbytes == len(data) - 4 - 4 * ndim  # the data held exactly this much: nothing invented
    assert array.dtype == IDX_DTYPES[data[2]].newbyteorder("=")


@BOUNDED
@given(st.one_of(idx_files(), st.binary(max_size=64)))
def test_idx_reader_gives_a_correctly_shaped_array_or_a_data_error(data):
    check_idx(data)
    try:  # gzipped, the same bytes give the same outcome
        expected = parse_idx(data)
    except DataError:
        expected = None
    try:
        assert np.array_equal(read_idx(gzip.compress(data)), expected)
    except DataError:
        assert expected is None


# ---------------------------------------------------------------- image files


SEEDS = [encoded(digit_image(mode, (40, 30)), fmt) for mode, fmt in
         [("L", "PNG"), ("RGB", "JPEG"), ("P", "GIF"), ("L", "BMP"), ("RGB", "TIFF"), ("RGB", "WEBP"),
          ("CMYK", "JPEG"), ("RGBA", "PNG")]]


@st.composite
def mutated_images(draw) -> bytes:
    """A valid image file with some bytes overwritten, some inserted, and perhaps cut short."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[position] = draw(st.integers(0, 255))
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data[: draw(st.integers(1, len(data)))]) if draw(st.booleans()) else bytes(data)


def check_page(gray: np.ndarray) -> None:
    assert gray.ndim == 2 and gray.size > 0 and gray.dtype == np.float32
    assert np.all(np.isfinite(gray)) and gray.min() >= 0.0 and gray.max() <= 1.0


# Cut inside the header (a PNG's IHDR chunk ends at byte 33), and the magic of formats digitlab leaves off
# (PPM, the old IM, SGI, DDS, PSD), whose decoders raise ValueError or NotImplementedError on damaged headers.
CUT_HEADERS = st.tuples(st.sampled_from(SEEDS), st.integers(1, 80)).map(lambda seed_and_size: seed_and_size[0][
    : seed_and_size[1]])
OTHER_MAGIC = st.tuples(st.sampled_from([b"P6\n", b"P5 4", b"Image type: ", b"\x01\xda\x01", b"DDS |", b"8BPS"]),
                        st.binary(max_size=64)).map(b"".join)


@BOUNDED
@given(st.one_of(mutated_images(), CUT_HEADERS, OTHER_MAGIC, st.binary(max_size=256)))
def test_image_decoding_gives_a_page_or_an_image_error(data):
    try:
        decoded = decode_image(data)
    except UserError:  # ImageError: not an image, damaged, too large
        return
    check_page(decoded.gray)


# ---------------------------------------------------------------- arrays: preprocessing


DTYPES = st.sampled_from([np.uint8, np.uint16, np.int16, np.int64, np.float16, np.float32, np.float64, np.bool_])


@st.composite
def arrays(draw, shapes) -> np.ndarray:
    dtype = np.dtype(draw(DTYPES))
    elements = None
    if dtype.kind == "f":  # NaN, infinities, negatives, values past 255 and past float32
        elements = st.floats(width=dtype.itemsize * 8, allow_nan=True, allow_infinity=True)
    return draw(hnp.arrays(dtype, draw(shapes), elements=elements))


PIXEL_SHAPES = st.one_of(st.sampled_from([(28, 28), (784,), (1, 28, 28), (28, 28, 1)]),
                         hnp.array_shapes(max_dims=3, min_side=0, max_side=30))
IMAGE_SHAPES = st.one_of(hnp.array_shapes(min_dims=2, max_dims=2, max_side=40),
                         st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 3, 4])),
                         hnp.array_shapes(max_dims=4, min_side=0, max_side=6))


def check_model_input(pixels: np.ndarray) -> None:
    """What the model is given: one 28×28 float32 image, every value a finite number in [0, 1]."""
    assert pixels.shape == (28, 28) and pixels.dtype == np.float32
    assert np.all(np.isfinite(pixels)) and pixels.min() >= 0.0 and pixels.max() <= 1.0


@BOUNDED
@given(arrays(PIXEL_SHAPES))
def test_pixels_become_a_model_input_or_a_user_error(array):
    try:
        pixels = normalize_pixels(array)
    except UserError as error:
        assert isinstance(error, ValueError)  # PixelsError: also what callers caught before
        return
    check_model_input(pixels)


@settings(BOUNDED, max_examples=80)
@given(arrays(IMAGE_SHAPES))
def test_any_array_image_becomes_model_inputs_or_a_user_error(array):
    try:
        analysis = analyze(array)
    except UserError:
        return
    for digit in analysis.digits:
        check_model_input(digit.model_input)


@BOUNDED
@given(arrays(IMAGE_SHAPES).filter(lambda array: array.ndim in (2, 3)))
def test_array_decoding_gives_a_page_or_a_user_error(array):
    try:
        decoded = decode_image(array)
    except UserError:
        return
    check_page(decoded.gray)


# ---------------------------------------------------------------- JSON, config.json, .npz

JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                           lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    """One folder for every example (Hypothesis runs a test many times within one function-scoped fixture)."""
    return tmp_path_factory.mktemp("examples")


@BOUNDED
@given(st.one_of(st.binary(max_size=64), JSON_VALUES.map(lambda value: json.dumps(value).encode())))
def test_a_json_file_gives_an_object_or_a_user_error(scratch, data):
    path = scratch / "metrics.json"
    path.write_bytes(data)
    try:
        assert isinstance(read_json(path), dict)
    except UserError as error:
        assert str(path) in str(error)


CONFIG_FIELDS = st.sampled_from(["model", "epochs", "batch_size", "learning_rate", "augment", "extra_data",
                                 "limit_train", "data_dir", "colour"])


@BOUNDED
@given(st.dictionaries(CONFIG_FIELDS, JSON_VALUES, max_size=4))
def test_a_config_loads_with_its_declared_types_or_is_a_user_error(scratch, values):
    path = scratch / "config.json"
    path.write_text(json.dumps(values))
    try:
        config = RunConfig.load(path)
    except UserError as error:
        assert str(path) in str(error)
        return
    assert isinstance(config.epochs, int) and isinstance(config.augment, bool) and isinstance(config.model, str)
    assert isinstance(config.learning_rate, (int, float)) and np.isfinite(config.learning_rate)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


NPZ = npz_bytes(x=np.arange(12, dtype=np.float32).reshape(3, 4), y=np.arange(3))


@BOUNDED
@given(st.lists(st.tuples(st.integers(0, len(NPZ) - 1), st.integers(0, 255)), max_size=6),
       st.integers(1, len(NPZ)))
def test_an_npz_file_gives_its_arrays_or_an_npz_error(scratch, edits, length):
    data = bytearray(NPZ)
    for position, value in edits:
        data[position] = value
    path = scratch / "extra.npz"
    path.write_bytes(bytes(data[:length]))
    try:
        arrays = read_npz(path, ("x", "y"))
    except NpzError:
        return
    assert set(arrays) == {"x", "y"} and all(isinstance(array, np.ndarray) for array in arrays.values())


def test_every_config_field_type_is_one_the_loader_checks():
    """RunConfig.load checks types by annotation: a new field of a new type needs a rule (and words) there."""
    assert {field.type for field in dataclasses.fields(RunConfig)} <= set(_TYPE_WORDS)
