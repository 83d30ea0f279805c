"""Writing shard files: each sample's members as POSIX ustar entries, in one write, with its SHA-256 counted.

Python's ``tarfile`` builds a ``TarInfo`` object and a pax header check per member, and writes the
header, the data and the padding in separate calls: about a quarter of the time of a shard export that
copies JPEG files. The members of a shard are plain files with short names, so their 512-byte headers
are built directly here (names longer than ustar's 100 bytes, or members past its 8 GiB size field, go
through ``tarfile``'s GNU headers instead). The result is an ordinary tar archive: ``tar``, ``tarfile``,
``webdataset`` and Hugging Face ``datasets`` read it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tarfile
from typing import IO

_BLOCK = 512
#: ``tarfile`` pads an archive to a multiple of this (20 blocks); so do we, for readers that expect it.
_RECORD = 20 * _BLOCK
_LARGEST_OCTAL_SIZE = 8**11 - 1
# Everything of a ustar header but the name, size and checksum: mode 0444, owner and group 0, mtime 0
# (shards of the same data are byte for byte the same), a regular file, the ustar magic.
_MODE_TO_MTIME = b"0000444\x00" + b"0000000\x00" + b"0000000\x00"
_MTIME = b"00000000000\x00"
_AFTER_CHECKSUM = (
    b"0" + bytes(100) + b"ustar\x0000" + bytes(32) + bytes(32) + bytes(8) + bytes(8) + bytes(155)
)


def member_header(name: str, size: int) -> bytes:
    """The tar header of a regular file ``name`` of ``size`` bytes (ustar; GNU long-name records when needed).

    Examples:
        >>> import io, tarfile
        >>> data = b"3"
        >>> archive = member_header("000000000.cls", len(data)) + data + bytes(511) + bytes(1024)
        >>> with tarfile.open(fileobj=io.BytesIO(archive)) as opened:
        ...     [(member.name, opened.extractfile(member).read()) for member in opened]
        [('000000000.cls', b'3')]
    """
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > 100 or size > _LARGEST_OCTAL_SIZE:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = size, 0o444, 0
        return info.tobuf(format=tarfile.GNU_FORMAT)
    head = encoded.ljust(100, b"\x00") + _MODE_TO_MTIME + b"%011o\x00" % size + _MTIME
    checksum = sum(head) + 8 * 32 + sum(_AFTER_CHECKSUM)
    header = head + b"%06o\x00 " % checksum + _AFTER_CHECKSUM
    return header + bytes(_BLOCK - len(header))


def stored_size(data_size: int) -> int:
    """Bytes a member of ``data_size`` bytes takes in a tar archive: its header and its padded data.

    Examples:
        >>> stored_size(0), stored_size(1), stored_size(512)
        (512, 1024, 1024)
    """
    return _BLOCK + -(-data_size // _BLOCK) * _BLOCK


class ShardFile:
    """One shard being written: samples appended in order, gzip-compressed when asked, hashed on the way.

    Args:
        path: Where to write (a new file; the caller renames it into place).
        compress: gzip the archive (for ``.tar.gz`` shards), with a fixed timestamp.

    Attributes:
        path: The file written.
        count: Samples written.
        size: Bytes in the file so far (compressed, when compressed).
        sha256: The SHA-256 of those bytes.
    """

    def __init__(self, path: str, compress: bool = False) -> None:
        self.path = path
        self.count = 0
        self.size = 0
        self.sha256 = hashlib.sha256()
        self._stored = 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed by finish(), or by discard()
        self._stream: IO[bytes] | ShardFile = self  # through write(): counted and hashed
        if compress:
            self._stream = gzip.GzipFile(fileobj=self, mode="wb", mtime=0)  # type: ignore[arg-type]

    def write(self, data: bytes) -> int:
        """Raw bytes to the file (the gzip stream calls this); counted and hashed."""
        self.sha256.update(data)
        self.size += len(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def add(self, key: str, members: dict[str, bytes]) -> None:
        """Append one sample: a member ``<key>.<extension>`` per entry of ``members``, by extension.

        The members go in sorted order, as ``webdataset``'s writer puts them: the order shards had before
        this writer, which readers that stop at a damaged member depend on for what they still yield.
        """
        parts = []
        for extension, data in sorted(members.items()):
            parts.append(member_header(f"{key}.{extension}", len(data)))
            parts.append(data)
            padding = -len(data) % _BLOCK
            if padding:
                parts.append(bytes(padding))
        blob = b"".join(parts)
        self._stored += len(blob)
        self._stream.write(blob)
        self.count += 1

    def finish(self) -> None:
        """End the archive (two zero blocks, padded to a whole record) and close the file."""
        end = 2 * _BLOCK
        self._stream.write(bytes(end + -(self._stored + end) % _RECORD))
        if self._stream is not self:
            self._stream.close()  # writes the gzip trailer through self.write; leaves the file open
        self._file.close()

    def discard(self) -> None:
        """Close and remove the file (the export stopped)."""
        try:
            self._file.close()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
