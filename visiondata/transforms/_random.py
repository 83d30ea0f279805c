"""Random streams that repeat for a seed and differ in every DataLoader worker.

Without a seed (``seed=None``) there is no stream of its own: each call draws its randomness from torch's
default generator, as torchvision's transforms do, so ``torch.manual_seed(s)`` before a call repeats that
call, and each DataLoader worker (whose torch generator torch seeds apart) draws differently.

With a seed, a forked DataLoader worker inherits the parent's generator state, so a
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

from visiondata._arguments import check_seed


class RandomStreams:
    """A numpy ``Generator`` and a ``random.Random`` for one pipeline.

    Args:
        seed: ``None`` draws each call's generators from torch's default generator at call time (one
            ``int64`` per call), so ``torch.manual_seed`` before a call decides it, as it does for
            torchvision's transforms, and DataLoader workers (each with its own torch seed) differ. An int
            gives the pipeline its own stream, which repeats from the start for the same seed whatever
            torch's state, and is re-seeded per DataLoader worker from the seed and the worker's torch seed.

    Examples:
        >>> first, _ = RandomStreams(seed=3).generators()
        >>> again, _ = RandomStreams(seed=3).generators()
        >>> float(first.random()) == float(again.random())
        True
        >>> import torch
        >>> _ = torch.manual_seed(1)
        >>> one = float(RandomStreams(seed=None).generators()[0].random())
        >>> _ = torch.manual_seed(1)
        >>> one == float(RandomStreams(seed=None).generators()[0].random())
        True
    """

    def __init__(self, seed: int | None) -> None:
        self.seed = check_seed("seed", seed)
        self._owner: object = _NOT_SEEDED
        self._numpy: np.random.Generator | None = None
        self._python: random.Random | None = None

    def generators(self) -> tuple[np.random.Generator, random.Random]:
        """The generators to draw from for one call.

        ``seed=None``: fresh ones from torch's default generator (which this call advances). With a seed:
        the pipeline's own, seeded on first use in each worker.
        """
        if self.seed is None:
            # One draw from torch's global generator per call (about 15 us): torch.manual_seed before a
            # call repeats it, and torch's per-worker seeding separates the workers.
            value = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))
            return np.random.Generator(np.random.PCG64(value)), random.Random(value)
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
        entropy = [self.seed]
        if worker_seed is not None:
            entropy.append(torch.initial_seed())  # the worker's own seed inside a worker
        sequence = np.random.SeedSequence(entropy)
        self._numpy = np.random.Generator(np.random.PCG64(sequence))
        self._python = random.Random(int(sequence.generate_state(1, np.uint64)[0]))
        self._owner = worker_seed


_NOT_SEEDED = object()
