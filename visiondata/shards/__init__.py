"""Streaming shards: any dataset written to WebDataset tar shards, read back under ``torchrun``.

Needs the ``webdataset`` package (the ``shards`` extra: ``pip install '.[shards]'`` in a checkout).

Examples:
    >>> from visiondata.shards import ShardDataset, write_shards  # doctest: +SKIP
    >>> write_shards(dataset, "out/train-%06d.tar")  # doctest: +SKIP
    >>> stream = ShardDataset("out", split="train")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.shards._dataset import ShardDataset
    from visiondata.shards._manifest import Manifest, ShardInfo
    from visiondata.shards._write import ShardWriteReport, write_shards

__all__ = ["Manifest", "ShardDataset", "ShardInfo", "ShardWriteReport", "write_shards"]

_LAZY = {
    "Manifest": "visiondata.shards._manifest",
    "ShardDataset": "visiondata.shards._dataset",
    "ShardInfo": "visiondata.shards._manifest",
    "ShardWriteReport": "visiondata.shards._write",
    "write_shards": "visiondata.shards._write",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
