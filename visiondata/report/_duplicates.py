"""Exact and near duplicates within and across splits: SHA-256 of the bytes and a perceptual hash of the pixels.

**Exact duplicates** are files with the same bytes (SHA-256). **Near duplicates** are images whose
perceptual hashes differ in at most ``threshold`` of their 64 bits (Hamming distance): the same
photo re-encoded, resized a little, recompressed or lightly edited.

The perceptual hash is a DCT hash (pHash) computed here on numpy, with no extra dependency:

1. the image is made grey (ITU-R 601 luma, as PIL's ``"L"``) and reduced to 32 x 32 pixels by area
   averaging (every source pixel weighs by the part of it an output pixel covers);
2. the 2-D DCT-II of that 32 x 32 image is taken (a precomputed orthonormal DCT matrix ``D``:
   ``D @ X @ D.T``);
3. the 8 x 8 block of the lowest frequencies *after* the DC term is kept (rows and columns 1 to 8,
   as the reference pHash library does: the DC term and the first row and column follow the overall
   brightness and the frame's gradients more than the picture's structure);
4. each of the 64 coefficients becomes a bit: 1 where it is above the block's median. The first
   coefficient (row 1, column 1) is the most significant bit.

A uniform image has no structure: all its coefficients are 0 and its hash is 0, so blank frames are
near duplicates of each other. On photos, a re-encode at JPEG quality 60 or a resize by a few percent
moves a handful of bits; different photos differ in about half (32) of them. The default threshold,
6 of 64 bits, finds the first and keeps well clear of the second.

Files are read once each: the bytes are hashed with SHA-256 and decoded from the same bytes, JPEGs
at a reduced DCT scale (at least 64 pixels on each side, enough for a 32 x 32 hash) through
`visiondata.io.read_planned`. A file that cannot be read or decoded is listed in
``DuplicateReport.unreadable`` with its cause; the search never raises for one.

Near pairs are found without comparing every pair (`near_pairs`): multi-index hashing splits the 64
bits into ``threshold + 1`` chunks; two hashes within ``threshold`` bits of each other agree exactly on
at least one chunk (pigeonhole), so only hashes sharing a chunk value are compared.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

#: Side of the grey image the DCT is taken of.
HASH_SIZE = 32
#: Side of the block of low frequencies that makes the 64 bits.
BLOCK = 8
#: Default Hamming distance (of 64 bits) at or below which two images are near duplicates.
DEFAULT_THRESHOLD = 6
#: JPEGs are decoded at the smallest DCT scale that leaves this many pixels on each side (at least).
DECODE_SIDE = 64
#: Candidate pairs verified at once: bounds the memory of `near_pairs` whatever the buckets' sizes.
_PAIR_BLOCK = 1 << 22
_LUMA = np.array([0.299, 0.587, 0.114])


def perceptual_hash(image: np.ndarray | torch.Tensor) -> int:
    """The 64-bit DCT perceptual hash (pHash) of an image, as an ``int`` in ``[0, 2**64)``.

    See the module's description for the steps. Two hashes are compared by their Hamming distance,
    ``(a ^ b).bit_count()``: a few bits for the same picture re-encoded or resized, about 32 for
    unrelated pictures.

    Args:
        image: ``uint8`` (or any real dtype on the 0-255 scale) pixels: a torch tensor ``C x H x W``
            (``H x W`` for grey); a numpy array ``H x W x C``, ``H x W``, or ``C x H x W`` when its first
            axis has 1, 3 or 4 entries and its last does not. A fourth channel (alpha) is ignored.

    Returns:
        The hash; 0 for a uniform image.

    Raises:
        ValueError: The array is not an image (wrong number of axes or channels, no pixels).

    Examples:
        >>> import numpy as np
        >>> rows, columns = np.mgrid[0:120, 0:160]
        >>> photo = np.stack([rows * 2, columns, (rows + columns) % 200], axis=-1).astype(np.uint8)
        >>> a, b = perceptual_hash(photo), perceptual_hash(photo[::2, ::2])
        >>> (a ^ b).bit_count() <= DEFAULT_THRESHOLD
        True
        >>> perceptual_hash(np.full((10, 10), 128, np.uint8))
        0
    """
    return _hash_grey(_grey(image))


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The SHA-256 of a file's bytes and the `perceptual_hash` of its image, from one read of the file.

    JPEGs are decoded at a reduced DCT scale (at least 64 pixels on each side), other formats as
    `visiondata.io.read_image` decodes them (in RGB), then made grey.

    Args:
        path: The image file.

    Returns:
        ``(sha256 hex digest, perceptual hash)``.

    Raises:
        ImageReadError: The file cannot be read or decoded (missing, a special file, not an image,
            damaged), as the readers refuse it.

    Examples:
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from PIL import Image
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> rows, columns = np.mgrid[0:96, 0:128]
        >>> Image.fromarray(((rows + columns) % 256).astype(np.uint8)).save(folder / "a.jpg")
        >>> digest, phash = hash_file(folder / "a.jpg")
        >>> len(digest), 0 <= phash < 2**64
        (64, True)
    """
    from visiondata.io._plan import DecodePlan, PlannedImage, read_planned
    from visiondata.io._read import read_file

    data = read_file(path)  # special and huge files are refused before a byte is read
    digest = hashlib.sha256(data).hexdigest()
    side = DECODE_SIDE // 2  # read_planned keeps twice the plan's output size on each side

    def planner(height: int, width: int) -> DecodePlan:
        return DecodePlan(0, 0, height, width, min(side, height), min(side, width))

    try:
        # RGB, made grey here on the small image: torch's own grey conversion costs more than the decode.
        decoded = read_planned(data, planner, mode="RGB")
    except OSError as error:
        named = _named(error, path)
        if named is error:
            raise
        raise named from error
    image = decoded.image if isinstance(decoded, PlannedImage) else decoded
    return digest, _hash_grey(_grey(image.numpy().transpose(1, 2, 0)))


def _named(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """``error`` naming ``path`` rather than ``<bytes>`` (read_planned was given the bytes)."""
    from visiondata.exceptions import ImageReadError

    if isinstance(error, ImageReadError) and error.path == "<bytes>" and error.reason is not None:
        return ImageReadError(os.fspath(path), error.reason, error.detail)
    return error


def _grey(image: Any) -> np.ndarray:
    """``H x W`` float grey levels of an image given as a tensor (CHW) or an array (HWC, HW or CHW)."""
    channels_first = False
    if not isinstance(image, np.ndarray):
        channels_first = True  # torch's layout
        image = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    array = np.asarray(image)
    if array.ndim == 3 and not channels_first:
        channels_first = array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4)
    if array.ndim == 3 and channels_first:
        array = np.moveaxis(array, 0, -1)
    if (
        array.ndim not in (2, 3)
        or (array.ndim == 3 and array.shape[-1] not in (1, 2, 3, 4))
        or not array.size
    ):
        raise ValueError(
            f"perceptual_hash: expected an image of shape H x W, H x W x C or C x H x W with 1 to 4 channels, "
            f"got shape {tuple(array.shape)}; pass the pixels of one image"
        )
    array = array.astype(np.float64, copy=False)
    if array.ndim == 2:
        return array
    if array.shape[-1] >= 3:
        return array[..., :3] @ _LUMA  # the alpha channel, if any, is left out
    return array[..., 0]  # grey, or grey + alpha


def _hash_grey(grey: np.ndarray) -> int:
    small = _area_matrix(grey.shape[0]) @ grey.astype(np.float64, copy=False) @ _area_matrix(grey.shape[1]).T
    dct = _dct_matrix()
    coefficients = (dct @ small @ dct.T)[1 : BLOCK + 1, 1 : BLOCK + 1]
    # Rounded so that the floating-point noise of a uniform image (about 1e-13) does not become bits.
    coefficients = np.round(coefficients, 6).ravel()
    bits = coefficients > np.median(coefficients)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    """The orthonormal DCT-II matrix of size `HASH_SIZE`: ``D @ x`` is the DCT of the column ``x``."""
    n = HASH_SIZE
    frequency, sample = np.mgrid[0:n, 0:n]
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * sample + 1) * frequency / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix


@lru_cache(maxsize=64)
def _area_matrix(length: int) -> np.ndarray:
    """``(HASH_SIZE, length)`` weights averaging ``length`` samples into `HASH_SIZE` (area resampling).

    Output sample ``k`` covers ``[k * length / 32, (k + 1) * length / 32)`` of the input; every input
    sample weighs by how much of it lies in that interval (also when ``length`` is under 32: the
    image is then enlarged by nearest neighbour, as area resampling does).
    """
    edges = np.arange(HASH_SIZE + 1) * (length / HASH_SIZE)
    starts, ends = edges[:-1, None], edges[1:, None]
    samples = np.arange(length)[None, :]
    overlap = np.clip(np.minimum(ends, samples + 1) - np.maximum(starts, samples), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distances between ``uint64`` hashes (element-wise, broadcast).

    Examples:
        >>> hamming(np.array([0b1011], np.uint64), np.array([0b0001], np.uint64)).tolist()
        [2]
    """
    return np.bitwise_count(np.bitwise_xor(a, b)).astype(np.int64)


def _chunks(threshold: int) -> list[tuple[int, int]]:
    """``threshold + 1`` (shift, bits) chunks covering the 64 bits, as even as can be.

    Examples:
        >>> _chunks(2)
        [(0, 22), (22, 21), (43, 21)]
    """
    count = threshold + 1
    sizes = [64 // count + (1 if part < 64 % count else 0) for part in range(count)]
    shifts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    return list(zip(shifts, sizes, strict=True))


def _check_threshold(threshold: Any) -> int:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, (int, np.integer))
        or not 0 <= threshold <= 32
    ):
        raise ValueError(
            f"threshold: expected a whole number of bits from 0 to 32 (of 64), got {threshold!r}; "
            f"near duplicates differ in a few bits (default {DEFAULT_THRESHOLD}), unrelated images in about 32"
        )
    return int(threshold)


def near_pairs(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, of hashes within ``threshold`` bits of each other, without comparing every pair.

    Multi-index hashing: the 64 bits are split into ``threshold + 1`` chunks; two hashes that differ
    in at most ``threshold`` bits agree exactly on at least one chunk (pigeonhole). For each chunk the
    hashes are sorted by the chunk's value and only hashes of equal value are compared (popcount of
    the XOR). Equal hashes are first merged, so a thousand copies of one picture cost one hash, not
    half a million comparisons, until their pairs are listed.

    Args:
        hashes: ``(N,)`` 64-bit hashes (``uint64``, or integers below ``2**64``).
        threshold: Largest Hamming distance of a pair, 0 to 32.

    Returns:
        ``(P, 2)`` ``int64`` pairs, sorted, each once.

    Examples:
        >>> near_pairs(np.array([0b0000, 0b0111, 0b0001, 2**64 - 1], np.uint64), 2).tolist()
        [[0, 2], [1, 2]]
    """
    pairs, _ = _near_pairs(hashes, threshold)
    return pairs


def _near_pairs(hashes: Any, threshold: int) -> tuple[np.ndarray, int]:
    """`near_pairs` and the number of candidate pairs of distinct hashes it verified (for tests and benchmarks)."""
    threshold = _check_threshold(threshold)
    values = np.asarray(hashes, dtype=np.uint64).ravel()
    unique, inverse = np.unique(values, return_inverse=True)
    found, candidates = _unique_near_pairs(unique, threshold)
    # Members of each distinct hash, sorted by hash then index: pairs of hashes become pairs of indices.
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts = [_pairs_within(order, starts[counts > 1], counts[counts > 1])]  # equal hashes: distance 0
    single = (counts[found[:, 0]] == 1) & (counts[found[:, 1]] == 1)
    parts.append(order[starts[found[single]]])  # the common case: one image per hash
    for left, right in found[~single].tolist():
        members_left = order[starts[left] : starts[left] + counts[left]]
        members_right = order[starts[right] : starts[right] + counts[right]]
        parts.append(np.stack(np.meshgrid(members_left, members_right, indexing="ij"), -1).reshape(-1, 2))
    pairs = np.concatenate(parts) if parts else np.empty((0, 2), np.int64)
    pairs = np.sort(pairs.astype(np.int64), axis=1)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))] if len(pairs) else pairs.reshape(0, 2)
    return pairs, candidates


def _unique_near_pairs(unique: np.ndarray, threshold: int) -> tuple[np.ndarray, int]:
    """Pairs of positions in the sorted, distinct ``unique`` within ``threshold`` bits, and candidates verified."""
    found: list[np.ndarray] = []
    candidates = 0
    if len(unique) < 2 or threshold == 0:
        return np.empty((0, 2), np.int64), 0  # distinct hashes are at least one bit apart
    for shift, bits in _chunks(threshold):
        keys = (unique >> np.uint64(shift)) & np.uint64((1 << bits) - 1)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        boundaries = np.flatnonzero(np.diff(sorted_keys)) + 1
        starts = np.concatenate([[0], boundaries])
        lengths = np.diff(np.concatenate([starts, [len(keys)]]))
        for block in _pairs_within_blocks(order, starts[lengths > 1], lengths[lengths > 1]):
            candidates += len(block)
            close = hamming(unique[block[:, 0]], unique[block[:, 1]]) <= threshold
            found.append(block[close])
    if not found:
        return np.empty((0, 2), np.int64), candidates
    pairs = np.sort(np.concatenate(found), axis=1)
    # A pair that agrees on several chunks is found once per chunk.
    return np.unique(pairs, axis=0), candidates


def _pairs_within(order: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Every pair of ``order``'s entries within each run ``[start, start + length)``, as one array."""
    blocks = list(_pairs_within_blocks(order, starts, lengths))
    return np.concatenate(blocks) if blocks else np.empty((0, 2), np.int64)


def _pairs_within_blocks(order: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> Iterator[np.ndarray]:
    """`_pairs_within` in blocks of about `_PAIR_BLOCK` pairs (a run of 50,000 equal keys is 1.25e9 pairs)."""
    if not len(starts):
        return
    # Position k of a run pairs with the run's later positions k+1 .. end-1.
    offsets_in_runs = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    positions = np.repeat(starts, lengths) + offsets_in_runs
    partners = (np.repeat(lengths, lengths) - 1 - offsets_in_runs).astype(np.int64)
    total = np.cumsum(partners)
    first = 0
    while first < len(positions):
        base = total[first - 1] if first else 0
        last = int(np.searchsorted(total, base + _PAIR_BLOCK, side="right"))
        last = max(last, first + 1)
        counts = partners[first:last]
        size = int(counts.sum())
        if size:
            left = np.repeat(positions[first:last], counts)
            offsets = np.arange(size) - np.repeat(np.cumsum(counts) - counts, counts)
            right = left + 1 + offsets
            yield np.stack([order[left], order[right]], axis=1).astype(np.int64)
        first = last


@dataclass
class DuplicateGroup:
    """Images that are the same file (``"exact"``) or the same picture (``"near"``).

    Attributes:
        kind: ``"exact"`` (same bytes) or ``"near"`` (perceptual hashes within the threshold).
        members: ``(split, path)`` of each image, in the order the splits and paths were given.
        distance: 0 for an exact group; for a near group the largest Hamming distance between two
            members of different bytes (above the threshold when the group is joined through
            intermediate images).
    """

    kind: str
    members: list[tuple[str, str]]
    distance: int = 0

    @property
    def splits(self) -> list[str]:
        """The distinct splits of the members, in order."""
        return list(dict.fromkeys(split for split, _ in self.members))

    @property
    def across_splits(self) -> bool:
        """Whether the group has members in more than one split (leakage between them)."""
        return len(self.splits) > 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "kind": self.kind,
            "distance": self.distance,
            "splits": self.splits,
            "across_splits": self.across_splits,
            "members": [{"split": split, "path": path} for split, path in self.members],
        }


@dataclass
class DuplicateReport:
    """What `find_duplicates` found.

    Attributes:
        threshold: Hamming distance (of 64 bits) at or below which images are near duplicates.
        files: Images hashed (unreadable files left out).
        unreadable: ``(split, path, cause)`` of each file that could not be read or decoded.
        exact: Groups of files with the same bytes.
        near: Groups of images whose perceptual hashes are within ``threshold`` (transitively) and
            that hold at least two different files: the same picture re-encoded, resized... Copies with
            the same bytes inside such a group are listed in it too (and in ``exact``).
    """

    threshold: int
    files: int = 0
    unreadable: list[tuple[str, str, str]] = field(default_factory=list)
    exact: list[DuplicateGroup] = field(default_factory=list)
    near: list[DuplicateGroup] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Groups within one split and across splits, for each kind, and the unreadable files."""
        exact_across = sum(group.across_splits for group in self.exact)
        near_across = sum(group.across_splits for group in self.near)
        return {
            "exact_groups": len(self.exact),
            "exact_within_split": len(self.exact) - exact_across,
            "exact_across_splits": exact_across,
            "near_groups": len(self.near),
            "near_within_split": len(self.near) - near_across,
            "near_across_splits": near_across,
            "unreadable": len(self.unreadable),
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``threshold``, ``files``, ``counts``, ``unreadable``, ``exact``, ``near``."""
        return {
            "threshold": self.threshold,
            "hash": "64-bit DCT perceptual hash; near duplicates: Hamming distance <= threshold",
            "files": self.files,
            "counts": self.counts(),
            "unreadable": [
                {"split": split, "path": path, "cause": cause} for split, path, cause in self.unreadable
            ],
            "exact": [group.as_dict() for group in self.exact],
            "near": [group.as_dict() for group in self.near],
        }


def find_duplicates(
    splits: Mapping[str, Sequence[str | os.PathLike[str]]],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    progress: bool = False,
    workers: int = 0,
) -> DuplicateReport:
    """Exact (same bytes) and near (same picture) duplicates among the images of one or more splits.

    Each file is read once (`hash_file`). Exact groups gather files of the same SHA-256. Near groups
    join images whose perceptual hashes differ in at most ``threshold`` of 64 bits, transitively
    (union-find over `near_pairs`); a group whose members all have the same bytes is an exact group
    only, never a near one. A file listed twice (the same path in two splits) counts as two members.

    Args:
        splits: Split name -> image paths (``{"train": [...], "val": [...]}``).
        threshold: Largest Hamming distance of near duplicates, 0 to 32 (0: identical hashes only).
        progress: Show a progress bar on stderr.
        workers: Threads reading and hashing files; 0 hashes in this thread.

    Returns:
        A `DuplicateReport`; groups in the order of their first member.

    Examples:
        >>> import tempfile, pathlib, shutil
        >>> import numpy as np
        >>> from PIL import Image
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> rows, columns = np.mgrid[0:96, 0:128]
        >>> Image.fromarray(((rows * columns) % 251).astype(np.uint8)).save(folder / "a.png")
        >>> _ = shutil.copy(folder / "a.png", folder / "b.png")
        >>> report = find_duplicates({"train": [folder / "a.png"], "val": [folder / "b.png"]})
        >>> [group.splits for group in report.exact], report.exact[0].across_splits, report.near
        ([['train', 'val']], True, [])
    """
    threshold = _check_threshold(threshold)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers: expected a whole number >= 0 (0: hash in this thread), got {workers!r}")
    entries = [(str(split), os.fspath(path)) for split, paths in splits.items() for path in paths]
    report = DuplicateReport(threshold)
    results = _hash_all([path for _, path in entries], progress, workers)
    readable: list[tuple[str, str]] = []
    digests: list[str] = []
    phashes: list[int] = []
    for (split, path), result in zip(entries, results, strict=True):
        if isinstance(result, str):
            report.unreadable.append((split, path, result))
            continue
        readable.append((split, path))
        digests.append(result[0])
        phashes.append(result[1])
    report.files = len(readable)
    if not readable:
        return report
    by_digest: dict[str, list[int]] = {}
    for position, digest in enumerate(digests):
        by_digest.setdefault(digest, []).append(position)
    report.exact = [
        DuplicateGroup("exact", [readable[position] for position in members])
        for members in by_digest.values()
        if len(members) > 1
    ]
    report.near = _near_groups(readable, digests, np.array(phashes, dtype=np.uint64), threshold)
    return report


def _near_groups(
    readable: list[tuple[str, str]], digests: list[str], hashes: np.ndarray, threshold: int
) -> list[DuplicateGroup]:
    parent = np.arange(len(readable))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees flat
            node = int(parent[node])
        return node

    for left, right in near_pairs(hashes, threshold).tolist():
        a, b = root(left), root(right)
        if a != b:
            parent[max(a, b)] = min(a, b)  # the earliest member roots its group: groups come in input order
    components: dict[int, list[int]] = {}
    for position in range(len(readable)):
        components.setdefault(root(position), []).append(position)
    groups = []
    for members in components.values():
        if len(members) < 2 or len({digests[position] for position in members}) < 2:
            continue  # alone, or copies of one file: an exact group only
        groups.append(
            DuplicateGroup(
                "near",
                [readable[position] for position in members],
                _largest_distance(members, digests, hashes),
            )
        )
    return groups


def _largest_distance(members: list[int], digests: list[str], hashes: np.ndarray) -> int:
    """The largest Hamming distance between members of different bytes (blocks of rows bound the memory)."""
    distinct = {digests[position]: hashes[position] for position in members}
    values = np.array(list(distinct.values()), dtype=np.uint64)
    largest = 0
    for first in range(0, len(values), 1024):
        block = hamming(values[first : first + 1024, None], values[None, :])
        largest = max(largest, int(block.max()))
    return largest


def _hash_all(paths: list[str], progress: bool, workers: int) -> list[tuple[str, int] | str]:
    """`hash_file` of each path (a path given twice is read once), or the cause that it could not be read."""
    from tqdm.auto import tqdm

    distinct = list(dict.fromkeys(paths))
    bar = tqdm(
        total=len(distinct),
        desc="hashing",
        unit="image",
        disable=None if progress else True,
        file=sys.stderr,
    )
    results: dict[str, tuple[str, int] | str] = {}
    try:
        if workers:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                for path, result in zip(distinct, pool.map(_hash_or_cause, distinct), strict=True):
                    results[path] = result
                    bar.update()
        else:
            for path in distinct:
                results[path] = _hash_or_cause(path)
                bar.update()
    finally:
        bar.close()
    return [results[path] for path in paths]


def _hash_or_cause(path: str) -> tuple[str, int] | str:
    from PIL import Image

    try:
        return hash_file(path)
    except (OSError, ValueError, Image.DecompressionBombError) as error:  # ImageReadError is an OSError
        return str(error) or type(error).__name__
