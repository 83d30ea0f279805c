"""Random streams that repeat for a seed and differ in every DataLoader worker.

A forked DataLoader worker inherits the parent's generator state, so a
generator seeded once would draw the same augmentations in every worker
(albumentations' generators do, and its users see identical crops).
`RandomStreams` notices when it runs in a worker it has not seen and
re-seeds from the pipeline's seed and torch's per-worker seed. torch derives
that from the DataLoader's base seed, so runs repeat exactly when the
DataLoader's seed does (``torch.manual_seed`` or ``generator=``), and each
epoch of non-persistent workers draws afresh.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import get_worker_info


class RandomStreams:
    """A numpy ``Generator`` and a ``random.Random`` for one pipeline.

    Args:
        seed: Makes the streams repeat. ``None`` takes torch's seed
            (``torch.initial_seed()``) at the first draw, so ``torch.manual_seed``
            decides it.

    Examples:
        >>> first, _ = RandomStreams(seed=3).generators()
        >>> again, _ = RandomStreams(seed=3).generators()
        >>> float(first.random()) == float(again.random())
        True
    """

    def __init__(self, seed: int | None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed: expected an int >= 0 or None, got {seed!r}")
        self.seed = seed
        self._owner: object = _NOT_SEEDED
        self._numpy: np.random.Generator | None = None
        self._python: random.Random | None = None

    def generators(self) -> tuple[np.random.Generator, random.Random]:
        """The generators to draw from in this process (seeded on first use in each worker)."""
        info = get_worker_info()
        owner = None if info is None else info.seed
        if owner != self._owner:
            self._reseed(owner)
        return self._numpy, self._python  # type: ignore[return-value]

    def restart(self, seed: int | None = None) -> None:
        """Start the streams again (from ``seed`` if given), as if newly built."""
        if seed is not None:
            self.__init__(seed)  # type: ignore[misc]
        self._owner = _NOT_SEEDED

    def _reseed(self, worker_seed: int | None) -> None:
        entropy = [] if self.seed is None else [self.seed]
        if worker_seed is not None or self.seed is None:
            entropy.append(torch.initial_seed())  # the worker's own seed inside a worker
        sequence = np.random.SeedSequence(entropy)
        self._numpy = np.random.Generator(np.random.PCG64(sequence))
        self._python = random.Random(int(sequence.generate_state(1, np.uint64)[0]))
        self._owner = worker_seed


_NOT_SEEDED = object()
