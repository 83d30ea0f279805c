"""Invariants of split_indices, over many random inputs (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from visiondata.datasets._split import split_indices

fractions_strategy = st.lists(st.integers(1, 20), min_size=2, max_size=4).map(
    lambda weights: [w / sum(weights) for w in weights]
)


@settings(max_examples=200, deadline=None)
@given(
    labels=st.lists(st.integers(0, 5), min_size=0, max_size=120),
    fractions=fractions_strategy,
    seed=st.integers(0, 2**16),
    stratify=st.booleans(),
)
def test_parts_partition_the_samples_with_the_requested_sizes(
    labels: list[int], fractions: list[float], seed: int, stratify: bool
) -> None:
    count = len(labels)
    array = np.asarray(labels, dtype=np.int64)
    parts = split_indices(count, fractions, array if stratify else None, seed)
    assert len(parts) == len(fractions)
    joined = np.concatenate(parts) if parts else np.zeros(0)
    assert sorted(joined.tolist()) == list(range(count))  # disjoint and complete
    for part, fraction in zip(parts, fractions, strict=True):
        assert abs(len(part) - count * fraction) < 1  # the totals follow the fractions (largest remainder)
        assert np.all(np.diff(part) > 0)  # sorted
    if stratify:
        for value in np.unique(array):
            members = int((array == value).sum())
            for part, fraction in zip(parts, fractions, strict=True):
                got = int((array[part] == value).sum())
                # Each class stays within one sample of its exact share, except where the totals force more.
                assert (
                    math.floor(members * fraction) - len(fractions)
                    <= got
                    <= math.ceil(members * fraction) + len(fractions)
                )
    again = split_indices(count, fractions, array if stratify else None, seed)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))  # same seed, same parts
