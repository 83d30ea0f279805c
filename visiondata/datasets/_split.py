"""Disjoint, reproducible, optionally stratified splits of a dataset."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from torch.utils.data import Dataset, Subset


def split_indices(
    count: int,
    fractions: Sequence[float],
    labels: np.ndarray | None = None,
    seed: int = 0,
) -> list[np.ndarray]:
    """Partition ``range(count)`` into parts of the given fractions.

    With ``labels`` (one class id per sample) every class is divided in the
    same fractions, so each part keeps the class proportions. Sizes are
    rounded by largest remainder, so every sample lands in exactly one part.

    Args:
        count: Number of samples.
        fractions: Positive fractions summing to 1, one per part.
        labels: Class id per sample, to stratify; ``None`` for a plain random split.
        seed: Same seed, same parts.

    Returns:
        One sorted index array per part.

    Raises:
        ValueError: Fractions that are not positive or do not sum to 1, or
            ``labels`` of the wrong length.

    Examples:
        >>> import numpy as np
        >>> parts = split_indices(10, (0.8, 0.2), labels=np.array([0] * 5 + [1] * 5), seed=0)
        >>> [len(part) for part in parts]
        [8, 2]
    """
    fractions = [float(f) for f in fractions]
    if len(fractions) < 2 or any(not math.isfinite(f) or f <= 0 for f in fractions):
        raise ValueError(f"fractions: expected two or more positive numbers, got {tuple(fractions)}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions: expected a sum of 1, got {sum(fractions):.6g} for {tuple(fractions)}")
    rng = np.random.default_rng(seed)
    if labels is None:
        groups = [np.arange(count)]
    else:
        labels = np.asarray(labels)
        if labels.shape != (count,):
            raise ValueError(f"labels: expected one class id per sample ({count}), got shape {labels.shape}")
        groups = [np.flatnonzero(labels == value) for value in np.unique(labels)]
    ties = rng.permutation(len(groups))  # which class gets a contested sample: seeded, not always the last
    allocation = _allocate([len(group) for group in groups], _sizes(count, fractions), fractions, ties)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for group, sizes in zip(groups, allocation, strict=True):
        shuffled = rng.permutation(group)
        for part, chunk in zip(parts, np.split(shuffled, np.cumsum(sizes)[:-1]), strict=True):
            part.append(chunk)
    return [np.sort(np.concatenate(part)) if part else np.zeros(0, dtype=np.int64) for part in parts]


def _sizes(count: int, fractions: Sequence[float]) -> list[int]:
    # Largest remainder: floors first, then one more to the parts with the largest fractional rest.
    exact = [count * fraction for fraction in fractions]
    sizes = [math.floor(value) for value in exact]
    by_remainder = sorted(range(len(fractions)), key=lambda i: (sizes[i] - exact[i], i))
    for i in by_remainder[: count - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _allocate(
    group_sizes: list[int], totals: list[int], fractions: Sequence[float], ties: np.ndarray
) -> list[list[int]]:
    """Samples of each group per part: rows sum to the group sizes, columns to the part totals.

    Each cell starts at the floor of its exact share; the remaining samples go
    to the cells with the largest fractional rest whose group and part still
    need one, so every class stays as close to the fractions as the totals allow.
    """
    exact = [[size * fraction for fraction in fractions] for size in group_sizes]
    cells = [[math.floor(value) for value in row] for row in exact]
    group_need = [size - sum(row) for size, row in zip(group_sizes, cells, strict=True)]
    part_need = [total - sum(row[p] for row in cells) for p, total in enumerate(totals)]
    order = sorted(
        ((g, p) for g in range(len(cells)) for p in range(len(totals))),
        key=lambda gp: (cells[gp[0]][gp[1]] - exact[gp[0]][gp[1]], int(ties[gp[0]]), gp[1]),
    )
    for g, p in order:
        if group_need[g] > 0 and part_need[p] > 0:
            cells[g][p] += 1
            group_need[g] -= 1
            part_need[p] -= 1
    # Needs left over (possible when the largest rests sat in full rows or columns) pair up freely:
    # both sides add up to the same number of samples.
    for g in range(len(cells)):
        for p in range(len(totals)):
            extra = min(group_need[g], part_need[p])
            if extra > 0:
                cells[g][p] += extra
                group_need[g] -= extra
                part_need[p] -= extra
    return cells


def split_dataset(
    dataset: Dataset,
    fractions: Sequence[float],
    labels: np.ndarray | None,
    seed: int,
) -> list[Subset]:
    """`split_indices` wrapped as ``torch.utils.data.Subset`` objects of ``dataset``."""
    return [Subset(dataset, part.tolist()) for part in split_indices(len(dataset), fractions, labels, seed)]
