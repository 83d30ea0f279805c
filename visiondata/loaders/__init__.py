"""DataLoaders that repeat for a seed, give every worker its own random streams, and shard under torchrun.

Examples:
    >>> import torch
    >>> from visiondata.loaders import build_loader
    >>> loader = build_loader(torch.utils.data.TensorDataset(torch.arange(6)), batch_size=4, shuffle=True, seed=0)
    >>> [batch[0].tolist() for batch in loader] == [batch[0].tolist() for batch in build_loader(
    ...     torch.utils.data.TensorDataset(torch.arange(6)), batch_size=4, shuffle=True, seed=0)]
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.loaders._build import EpochDataLoader, build_loader, seed_worker

__all__ = ["EpochDataLoader", "build_loader", "seed_worker"]

# Loaded on first access: torch.
_LAZY = dict.fromkeys(__all__, "visiondata.loaders._build")

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
