"""Read and write IDX files, the format MNIST and Fashion-MNIST are published in.

    from digitlab.data.idx import read_idx, write_idx

    images = read_idx("train-images-idx3-ubyte.gz")   # (60000, 28, 28) uint8
    write_idx(tmp_path / "labels-idx1-ubyte", labels)  # for tests and tools

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the values in C
order, big-endian. Files are often gzipped; we recognize gzip by its magic
bytes (1f 8b), not by the file name, because renamed files are common.

Everything wrong with a file raises `DataError` (a `UserError`) with one
sentence naming the file: a bad magic number, an unknown type code, a
truncated payload or trailing bytes. We never return a partly read array.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from digitlab.data.errors import DataError
from digitlab.formats import write_bytes_atomic

# The type codes of the IDX format and the big-endian numpy dtypes they mean.
# Code 0x0A is not assigned in the format, so it is rejected like any unknown code.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"

# A file needing more than this after decompression is not MNIST-like data, and
# refusing it early keeps a malformed header from asking for terabytes.
MAX_PAYLOAD_BYTES = 2**31
# The largest decompressed IDX file accepted: the payload plus the longest header (255 dimensions).
MAX_IDX_BYTES = MAX_PAYLOAD_BYTES + 4 + 4 * 255
_GUNZIP_CHUNK = 1 << 20  # bytes inflated per step

PathOrBytes = str | os.PathLike | bytes | bytearray | memoryview


def read_idx(source: PathOrBytes, *, name: str | None = None) -> np.ndarray:
    """Return the array stored in an IDX file (raw or gzipped) or in its bytes.

    The result is a writable, C-contiguous array in native byte order, so
    `read_idx(path)` of an MNIST image file equals what Keras returns.
    `name` is how error messages refer to the data; it defaults to the path.
    """
    data, label = read_idx_bytes(source, name=name)
    return parse_idx(data, name=label)


def read_idx_bytes(source: PathOrBytes, *, name: str | None = None) -> tuple[bytes, str]:
    """Return the decompressed IDX bytes of a file (or of given bytes) and its label.

    The per-file checksums of a dataset spec are defined on these bytes,
    because unlike the .gz files they do not depend on the gzip settings used.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        label = name or "the given IDX bytes"
    else:
        path = Path(source)
        label = name or str(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"IDX file {label} does not exist; check the path.") from None
        except OSError as error:
            raise DataError(f"IDX file {label} cannot be read ({error.strerror}); check its permissions.") from None
    if raw[:2] == GZIP_MAGIC:
        raw = _gunzip(raw, label)
    return raw, label


def _gunzip(raw: bytes, label: str) -> bytes:
    """The decompressed bytes of a gzip file (all its members), never more than its IDX header can account for.

    gzip.decompress would inflate a "gzip bomb" (a few kilobytes that expand to
    gigabytes) completely before the header could be checked. This inflates a
    megabyte at a time and stops once the output is longer than the header
    declares (or than MAX_IDX_BYTES when the header is unreadable), so memory
    never grows past what a genuine file of that shape needs.
    """
    out = bytearray()
    limit = MAX_IDX_BYTES
    try:
        while raw:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # 16+: expect a gzip header and trailer
            pending = raw
            while not inflater.eof:
                piece = inflater.decompress(pending, _GUNZIP_CHUNK)
                pending = inflater.unconsumed_tail
                if not piece and not pending:
                    raise EOFError("compressed data ended before the end-of-stream marker was reached")
                out += piece
                limit = min(limit, _declared_size(out))
                if len(out) > limit:
                    raise DataError(f"IDX file {label} decompresses to more bytes than its header declares "
                                    f"({limit:,}); it is damaged or not the file it claims to be.")
            raw = inflater.unused_data.lstrip(b"\0")  # another member may follow (zero padding is allowed)
    except (zlib.error, EOFError) as error:
        raise DataError(f"IDX file {label} is a damaged or truncated gzip file ({error}); download it again.") from None
    return bytes(out)


def _declared_size(head: bytes | bytearray) -> int:
    """The file size an IDX header declares (header + payload), or MAX_IDX_BYTES while it is incomplete or invalid."""
    if len(head) < 4 or head[0] or head[1] or head[2] not in IDX_DTYPES or head[3] == 0:
        return MAX_IDX_BYTES
    header_size = 4 + 4 * head[3]
    if len(head) < header_size:
        return MAX_IDX_BYTES
    shape = struct.unpack(f">{head[3]}I", head[4:header_size])
    return min(MAX_IDX_BYTES, header_size + math.prod(shape) * IDX_DTYPES[head[2]].itemsize)


def parse_idx(data: bytes, *, name: str = "the given IDX bytes") -> np.ndarray:
    """Parse decompressed IDX bytes into an array, checking every header field."""
    if len(data) < 4:
        raise DataError(f"IDX file {name} is too short to hold a header ({len(data)} bytes); download it again.")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0:
        raise DataError(
            f"IDX file {name} does not start with an IDX magic number (first bytes {data[:4].hex(' ')}); "
            "it is not an IDX file or is damaged."
        )
    if type_code not in IDX_DTYPES:
        raise DataError(
            f"IDX file {name} has unknown type code 0x{type_code:02X} (expected one of "
            f"{', '.join(f'0x{code:02X}' for code in IDX_DTYPES)}); it is not an IDX file or is damaged."
        )
    if ndim == 0:
        raise DataError(f"IDX file {name} declares zero dimensions; it is damaged.")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"IDX file {name} is truncated inside its header; download it again.")
    shape = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[type_code]
    # math.prod on Python ints: numpy's int64 product wraps around (2**31 · 2**31 · 4 would be 0).
    expected = math.prod(shape) * dtype.itemsize
    # A zero dimension makes the payload empty, but NumPy still refuses a shape such as (0, 2**32, 2**32).
    if max(expected, math.prod(size for size in shape if size) * dtype.itemsize) > MAX_PAYLOAD_BYTES:
        raise DataError(f"IDX file {name} declares an implausible shape {shape}; it is damaged.")
    found = len(data) - header_size
    if found < expected:
        raise DataError(
            f"IDX file {name} is truncated: shape {shape} needs {expected} bytes of data but "
            f"only {found} are present; download it again."
        )
    if found > expected:
        raise DataError(
            f"IDX file {name} has {found - expected} unexpected bytes after its data for shape "
            f"{shape}; it is damaged or not the file it claims to be."
        )
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header_size)
    # Copying gives a writable array that owns its memory, in native byte order.
    return array.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def idx_bytes(array: np.ndarray) -> bytes:
    """Return the IDX encoding (header and big-endian data) of an array."""
    array = np.asarray(array)
    big_endian = array.dtype.newbyteorder(">")
    codes = {dtype: code for code, dtype in IDX_DTYPES.items()}
    if big_endian not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, int32, float32 or float64.")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX needs an array with 1 to 255 dimensions, not {array.ndim}.")
    header = struct.pack(f">HBB{array.ndim}I", 0, codes[big_endian], array.ndim, *array.shape)
    return header + np.ascontiguousarray(array, dtype=big_endian).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write an array as an IDX file; gzip it when `compress` is true or the name ends in .gz."""
    path = Path(path)
    data = idx_bytes(array)
    if compress or (compress is None and path.suffix == ".gz"):
        # mtime=0 makes the .gz bytes reproducible, which keeps test fixtures stable.
        data = gzip.compress(data, mtime=0)
    write_bytes_atomic(path, data)
    return path
