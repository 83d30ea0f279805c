"""Reader for the IDX format of MNIST and its relatives (Fashion-MNIST, KMNIST...).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian int32 per dimension, then the values in C order.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from visiondata.exceptions import DatasetFormatError

# Type code -> big-endian numpy dtype, as in the format's specification.
_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into a native-endian array.

    Raises:
        DatasetFormatError: The header or the size is not that of an IDX file,
            or a ``.gz`` file does not decompress (truncated by a partial
            download, or not gzip at all); the message names the file, the
            expected and the actual value.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
        >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
        >>> read_idx(path).tolist()
        [7, 2, 1]
    """
    path = Path(path)
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as stream:
                raw = stream.read()
        # Only the decompression errors: an OSError such as a missing file is not damage.
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            if isinstance(error, EOFError):
                found, cause = "a file that ends early", "truncated, as an interrupted download leaves it"
            else:
                found, cause = "a file that does not decompress", "corrupt, or not gzip-compressed at all"
            raise DatasetFormatError(
                f"{path}: expected a complete gzip-compressed IDX file, got {found} ({error}); the file "
                f"is damaged ({cause}): delete it and download it again"
            ) from error
    else:
        raw = path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetFormatError(
            f"{path}: expected an IDX file starting with bytes 00 00 <type> <ndim> "
            f"(type one of {', '.join(hex(t) for t in _IDX_TYPES)}), got {raw[:4].hex(' ') or 'an empty file'}; "
            "the file is damaged or is not an IDX file: delete it and download it again"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(
            f"{path}: expected a header of {header} bytes for {ndim} dimensions, got a "
            f"{len(raw)}-byte file; the file is truncated: download it again"
        )
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetFormatError(
            f"{path}: expected {expected} bytes for an array of shape {shape} "
            f"and type {dtype.name}, got {len(raw)} bytes; the file is truncated or "
            "damaged: download it again"
        )
    # np.array copies into a writable, native-endian array that torch can share.
    return np.array(
        np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape), dtype=dtype.newbyteorder("=")
    )
