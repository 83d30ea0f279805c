"""Sample indexes held in numpy, so DataLoader workers never copy them.

A list of Python strings and tuples looks read-only, but every access
updates reference counts, which writes to the pages holding the objects; each
forked worker then slowly copies the whole index (pytorch/pytorch#13246).
Here the paths are one UTF-8 byte buffer with offsets, and targets are a
numpy array: reading them writes nothing, and pickling them for spawned
workers is a few buffer copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np


class PathIndex(Sequence[str]):
    """Strings (relative paths) stored as one UTF-8 buffer and an offsets array.

    Examples:
        >>> index = PathIndex(["cat/1.jpg", "dog/2.jpg"])
        >>> len(index), index[1], list(index)
        (2, 'dog/2.jpg', ['cat/1.jpg', 'dog/2.jpg'])
    """

    def __init__(self, paths: Iterable[str]) -> None:
        items = list(paths)
        # One join and one encode for all strings; the NUL separators then give the lengths.
        joined = np.frombuffer("\0".join(items).encode("utf-8", "surrogateescape"), dtype=np.uint8)
        separators = np.flatnonzero(joined == 0)
        if len(separators) != max(len(items) - 1, 0):
            raise ValueError("PathIndex: strings may not contain NUL characters")
        bounds = np.concatenate([[-1], separators, [len(joined)]]) if items else np.zeros(1, dtype=np.int64)
        lengths = np.diff(bounds) - 1  # bytes of each string, without its separator
        self._blob = np.delete(joined, separators)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        self._offsets = offsets.astype(np.int32 if len(self._blob) < 2**31 else np.int64)
        self._offsets.setflags(write=False)

    @classmethod
    def from_arrays(cls, blob: np.ndarray, offsets: np.ndarray) -> PathIndex:
        """Rebuild from the arrays `arrays` returned (e.g. loaded from a cache file)."""
        index = cls.__new__(cls)
        index._blob, index._offsets = blob.astype(np.uint8, copy=False), offsets
        return index

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The byte buffer and the offsets."""
        return self._blob, self._offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {count} paths")
        index %= count
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        return self._blob[start:end].tobytes().decode("utf-8", "surrogateescape")

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self)):
            yield self[index]

    def nbytes(self) -> int:
        """Memory held by the index, in bytes."""
        return int(self._blob.nbytes + self._offsets.nbytes)


class SampleView(Sequence[tuple[str, Any]]):
    """Read-only ``(path, target)`` pairs built on demand, like torchvision's ``samples`` list.

    Examples:
        >>> import numpy as np
        >>> view = SampleView(["/data/a/1.jpg"].__getitem__, np.array([3]))
        >>> view[0]
        ('/data/a/1.jpg', 3)
    """

    def __init__(self, path_of: Callable[[int], str], targets: np.ndarray) -> None:
        self._path_of = path_of
        self._targets = targets

    def __len__(self) -> int:
        return len(self._targets)

    def __getitem__(self, index: int) -> tuple[str, Any]:  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]  # type: ignore[return-value]
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {count} samples")
        index %= count
        return self._path_of(index), self._targets[index].tolist()

    def __repr__(self) -> str:
        return f"SampleView({len(self)} samples)"


def read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that refuses writes."""
    view = array.view()
    view.setflags(write=False)
    return view


def smallest_int_type(upper: int) -> np.dtype:
    """The smallest signed integer type that holds ``0..upper`` (class ids)."""
    for dtype in (np.int8, np.int16, np.int32):
        if upper <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)
