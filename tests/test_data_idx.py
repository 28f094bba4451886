"""Tests for the IDX reader and writer (digitlab.data.idx), on small arrays made here."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from digitlab.data import DataError, read_idx, write_idx
from digitlab.data.idx import idx_bytes, read_idx_bytes

rng = np.random.default_rng(0)
IMAGES = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
LABELS = rng.integers(0, 10, size=(5,), dtype=np.uint8)


@pytest.mark.parametrize("array", [IMAGES, LABELS], ids=["images", "labels"])
@pytest.mark.parametrize("file_name", ["data-idx-ubyte", "data-idx-ubyte.gz"], ids=["raw", "gz"])
def test_round_trip(tmp_path, array, file_name):
    path = write_idx(tmp_path / file_name, array)
    loaded = read_idx(path)
    assert loaded.dtype == np.uint8 and loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)
    # Keras gives writable arrays, and so do we.
    assert loaded.flags.writeable and loaded.flags.c_contiguous


def test_header_matches_the_canonical_layout():
    data = idx_bytes(IMAGES)
    # The MNIST image files start with 0x00000803 and then 3 big-endian dimensions.
    assert data[:16] == bytes.fromhex("00000803") + struct.pack(">3I", 5, 28, 28)
    assert len(data) == 16 + IMAGES.size
    assert idx_bytes(LABELS)[:8] == bytes.fromhex("00000801") + struct.pack(">I", 5)


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path):
    path = write_idx(tmp_path / "no-extension", IMAGES, compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), IMAGES)
    # A raw file named .gz is read as raw.
    raw_named_gz = tmp_path / "really-raw.gz"
    raw_named_gz.write_bytes(idx_bytes(LABELS))
    np.testing.assert_array_equal(read_idx(raw_named_gz), LABELS)


def test_reads_bytes_as_well_as_paths():
    np.testing.assert_array_equal(read_idx(idx_bytes(LABELS)), LABELS)
    np.testing.assert_array_equal(read_idx(gzip.compress(idx_bytes(IMAGES))), IMAGES)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_other_dtypes_come_back_in_native_byte_order(dtype):
    array = np.arange(-6, 6, dtype=dtype).reshape(3, 4)
    loaded = read_idx(idx_bytes(array))
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative
    np.testing.assert_array_equal(loaded, array)


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.uint8, np.int16, np.float32]),
        shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
    )
)
def test_any_array_round_trips(array):
    np.testing.assert_array_equal(read_idx(idx_bytes(array)), array)


def test_writer_rejects_dtypes_idx_cannot_store():
    with pytest.raises(ValueError, match="uint16"):
        idx_bytes(np.zeros(3, dtype=np.uint16))


def _error(tmp_path, data: bytes, name: str = "bad-idx3-ubyte") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DataError) as caught:
        read_idx(path)
    message = str(caught.value)
    # Every message names the file, so the user knows which one to replace.
    assert str(path) in message
    return message


def test_truncated_payload(tmp_path):
    assert "truncated" in _error(tmp_path, idx_bytes(IMAGES)[:-1])


def test_truncated_payload_inside_a_valid_gzip(tmp_path):
    assert "truncated" in _error(tmp_path, gzip.compress(idx_bytes(LABELS)[:-3]), "bad.gz")


def test_truncated_gzip_stream(tmp_path):
    assert "gzip" in _error(tmp_path, gzip.compress(idx_bytes(IMAGES))[:-20], "bad.gz")


def test_trailing_bytes(tmp_path):
    assert "unexpected bytes" in _error(tmp_path, idx_bytes(LABELS) + b"\x00")


def test_truncated_header(tmp_path):
    assert "header" in _error(tmp_path, idx_bytes(IMAGES)[:10])


def test_too_short_for_a_magic_number(tmp_path):
    assert "too short" in _error(tmp_path, b"\x00\x00")


def test_wrong_magic(tmp_path):
    data = bytearray(idx_bytes(LABELS))
    data[0] = 0x42
    assert "magic" in _error(tmp_path, bytes(data))


@pytest.mark.parametrize("code", [0x00, 0x07, 0x0A, 0x0F, 0xFF])
def test_unknown_type_code(tmp_path, code):
    data = bytearray(idx_bytes(LABELS))
    data[2] = code
    assert f"0x{code:02X}" in _error(tmp_path, bytes(data))


def test_zero_dimensions(tmp_path):
    assert "zero dimensions" in _error(tmp_path, bytes.fromhex("00000800"))


def test_dtype_code_changes_the_expected_size(tmp_path):
    # The same bytes declared as int32 need four times the payload.
    data = bytearray(idx_bytes(LABELS))
    data[2] = 0x0C
    assert "truncated" in _error(tmp_path, bytes(data))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "absent-idx1-ubyte")


def test_read_idx_bytes_returns_the_decompressed_bytes(tmp_path):
    path = write_idx(tmp_path / "labels.gz", LABELS)
    data, label = read_idx_bytes(path)
    assert data == idx_bytes(LABELS) and label == str(path)
