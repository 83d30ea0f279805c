"""``build_loader``: a seeded, epoch-aware DataLoader that picks the sampler and collate a dataset needs."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Subset,
)

from visiondata._arguments import MAX_SEED, check_int, check_positive_int

#: ``build_loader`` logs here, at INFO, which order each loader reads in and why.
logger = logging.getLogger("visiondata.loaders")

#: Split names (lower case, a trailing year or number ignored: ``val2017``) that mark an evaluation split.
EVALUATION_SPLITS = frozenset(
    {
        "val",
        "valid",
        "validation",
        "minival",
        "test",
        "testing",
        "test-dev",
        "testdev",
        "eval",
        "evaluation",
        "dev",
    }
)


def seed_worker(worker_id: int) -> None:
    """Seed Python's and numpy's global generators in a DataLoader worker from torch's per-worker seed.

    torch seeds itself in each worker (base seed + worker id, the base drawn
    from the loader's generator); Python's ``random`` and numpy's global
    state would otherwise be copies of the parent's, identical in every
    worker. visiondata's pipelines need nothing: they derive their streams
    from torch's per-worker seed on their own.
    """
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


class EpochDataLoader(DataLoader):
    """A DataLoader that calls ``set_epoch(epoch)`` each time it is iterated, counting epochs itself.

    It calls the sampler's (``DistributedSampler``), or a streaming dataset's
    own ([`ShardDataset`][visiondata.shards.ShardDataset]).

    A ``DistributedSampler`` shuffles by epoch; forgetting ``set_epoch`` makes
    every epoch use the same order. Iterating this loader sets it: epoch 0,
    then 1, 2...; assign `epoch` to resume elsewhere.
    """

    epoch: int = 0

    def __iter__(self) -> Iterator[Any]:
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(self.epoch)
        if isinstance(self.dataset, IterableDataset) and hasattr(self.dataset, "set_epoch"):
            # A streaming dataset shuffles and splits itself by epoch (ShardDataset).
            self.dataset.set_epoch(self.epoch)
        self.epoch += 1
        return super().__iter__()


def build_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool | None = None,
    num_workers: int = 0,
    collate: Callable[[list[Any]], Any] | None = None,
    seed: int = 0,
    drop_last: bool = False,
    distributed: bool | None = None,
    pin_memory: bool | None = None,
    persistent_workers: bool | None = None,
) -> EpochDataLoader:
    """A DataLoader for ``dataset`` that repeats for ``seed``, on one process or sharded under ``torchrun``.

    - Order and augmentation repeat for a seed: the shuffling generator is
      seeded with ``seed``, and every worker seeds Python, numpy and torch
      from torch's per-worker seed (so workers differ, runs repeat, and
      visiondata's ``BoxPipeline``, ``Mosaic`` and ``MixUp`` follow).
    - ``shuffle=None`` shuffles every dataset except one known to be an
      evaluation split, which is read in order: a dataset whose ``split``
      (``split_name`` for the VOC and YOLO readers) is ``"val"``, ``"test"``
      or another name in `EVALUATION_SPLITS` (``"val2017"`` counts), or whose
      ``train`` is False (torchvision's). A dataset that names no split
      (``CocoDetectionDataset``, ``CSVDetectionDataset``,
      ``ImageFolderDataset``, a ``TensorDataset``) is shuffled like a
      training split: reading a class folder in order would give batches of
      one class. A ``Subset`` follows its dataset; a ``ConcatDataset`` is
      read in order only when all its parts are evaluation splits. Pass
      ``shuffle=False`` to read a validation set that names no split in order.
    - Each call logs, at INFO on the ``visiondata.loaders`` logger, the order
      it chose (``shuffled`` or ``in order``) and why.
    - ``collate=None`` picks the collate from the dataset: detection datasets
      (visiondata's COCO, VOC, YOLO and CSV boxes readers, the catalog's
      detection sets, ``Mosaic``, ``MixUp``) get
      [`detection_collate`][visiondata.collate.detection_collate]; semantic segmentation datasets
      (``SegmentationFolderDataset``, the catalog's segmentation sets), whose masks differ in size
      from image to image, get [`padded_collate`][visiondata.collate.padded_collate] with the
      dataset's ``ignore_index`` (masks padded with it); others PyTorch's default.
    - ``distributed=None`` uses a ``DistributedSampler`` when a
      ``torch.distributed`` process group is initialised (``torchrun``), so
      each rank reads its own shard; ``True`` requires one, ``False`` never
      shards. The loader calls ``set_epoch`` itself each time it is iterated
      ([`EpochDataLoader`][visiondata.loaders.EpochDataLoader]).
    - A streaming (iterable) dataset such as
      [`ShardDataset`][visiondata.shards.ShardDataset] gets no sampler: it shuffles
      (its ``shuffle_buffer``) and splits across ranks and workers itself;
      the loader calls its ``set_epoch``. ``shuffle=True`` and
      ``distributed=True`` are refused for other iterable datasets, which
      cannot do either.
    - ``pin_memory=None`` pins only when CUDA is available;
      ``persistent_workers=None`` keeps workers between epochs when there are any.

    Args:
        dataset: A map-style dataset, or a streaming one (see above).
        batch_size: Samples per batch (per rank when distributed).
        shuffle: Shuffle the order (see above).
        num_workers: Worker processes (0: load in the main process).
        collate: The collate function (see above).
        seed: Seed of the order and of the workers' streams, an int in ``0..2**64 - 1``.
        drop_last: Drop the last incomplete batch (and, distributed, the uneven tail).
        distributed: Shard across ranks (see above).
        pin_memory: Pin batches in page-locked memory.
        persistent_workers: Keep workers alive between epochs.

    Returns:
        An [`EpochDataLoader`][visiondata.loaders.EpochDataLoader].

    Raises:
        ValueError: ``batch_size`` is not a positive int, ``num_workers`` not an int >= 0, ``seed``
            not an int in ``0..2**64 - 1`` (``bool`` is refused for each), or ``shuffle`` or
            ``distributed`` is set for an iterable dataset.
        RuntimeError: ``distributed=True`` without an initialised process group.

    Examples:
        >>> import torch
        >>> loader = build_loader(torch.utils.data.TensorDataset(torch.arange(5)), batch_size=2, shuffle=False)
        >>> [batch[0].tolist() for batch in loader]
        [[0, 1], [2, 3], [4]]
        >>> sorted(int(value) for (batch,) in build_loader(
        ...     torch.utils.data.TensorDataset(torch.arange(5)), batch_size=2) for value in batch)
        [0, 1, 2, 3, 4]
    """
    check_positive_int("batch_size", batch_size, expected="a positive int")
    # Checked here: torch's own refusals come later, from inside the DataLoader or the generator.
    check_int("num_workers", num_workers, minimum=0, fix="use 0 to load in the main process")
    check_int("seed", seed, minimum=0, maximum=MAX_SEED)
    streaming = isinstance(dataset, IterableDataset)
    splits_itself = streaming and hasattr(dataset, "set_epoch")
    if (splits_itself and (shuffle is not None or distributed is not None)) or (
        streaming and (shuffle or distributed)
    ):
        raise ValueError(
            f"build_loader: {type(dataset).__name__} is an iterable dataset: no sampler can shuffle it or split it "
            f"across ranks, got shuffle={shuffle!r}, distributed={distributed!r}; pass None for both (a "
            "ShardDataset shuffles by its shuffle_buffer, 0 for the written order, and splits by rank itself)"
        )
    if shuffle is None:
        evaluation = evaluation_split(dataset)
        shuffle = evaluation is None
        reason = (
            f"shuffle=None and {evaluation}, an evaluation split"
            if evaluation is not None
            else "shuffle=None and the dataset is not known to be an evaluation split (val/test)"
        )
    else:
        reason = f"shuffle={shuffle!r} was given"
    if collate is None:
        collate = default_collate_for(dataset)
    if distributed is None:
        distributed = _process_group_ready()
    elif distributed and not _process_group_ready():
        raise RuntimeError(
            "build_loader(distributed=True): no torch.distributed process group is initialised; run under torchrun "
            "and call torch.distributed.init_process_group() first, or pass distributed=None"
        )
    if pin_memory is None:
        pin_memory = torch.cuda.is_available()
    if persistent_workers is None:
        persistent_workers = num_workers > 0
    # Two generators: the order must not depend on how many workers draw their seeds from the other.
    generator = torch.Generator().manual_seed(seed)
    sampler = None
    if streaming:
        pass  # the dataset shuffles and splits itself
    elif distributed:
        sampler = DistributedSampler(dataset, shuffle=bool(shuffle), seed=seed, drop_last=drop_last)
    elif shuffle:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(seed))
    _log_order(dataset, streaming, distributed, bool(shuffle), seed, reason)
    shuffle = False  # the sampler shuffles
    return EpochDataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=bool(shuffle),
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        drop_last=drop_last,
        worker_init_fn=seed_worker,
        generator=generator,
        persistent_workers=persistent_workers and num_workers > 0,
    )


def evaluation_split(dataset: Any) -> str | None:
    """Why ``dataset`` is known to be an evaluation split (``"its split is 'val'"``), or ``None``.

    A dataset is an evaluation split when its ``split`` or ``split_name`` is a name in
    `EVALUATION_SPLITS` (case and a trailing number ignored: ``"val2017"``), or, naming no split,
    when its ``train`` is False (torchvision's). ``Subset`` follows its dataset; a
    ``ConcatDataset`` is one when all its parts are.

    Examples:
        >>> class Named:
        ...     split = "val2017"
        >>> evaluation_split(Named())
        "its split is 'val2017'"
        >>> evaluation_split(torch.utils.data.TensorDataset(torch.arange(3))) is None
        True
    """
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    if isinstance(dataset, ConcatDataset):
        reasons = [evaluation_split(part) for part in dataset.datasets]
        if reasons and all(reasons):
            return f"all {len(reasons)} parts are evaluation splits ({reasons[0]}...)"
        return None
    for attribute in ("split", "split_name"):
        split = getattr(dataset, attribute, None)  # a method on some datasets (.split(fractions))
        if isinstance(split, str):
            name = split.strip().lower().rstrip("0123456789").rstrip("-_")
            return f"its {attribute} is {split!r}" if name in EVALUATION_SPLITS else None
    if getattr(dataset, "train", None) is False:
        return "its train is False"
    return None


def _log_order(
    dataset: Any, streaming: bool, distributed: bool, shuffle: bool, seed: int, reason: str
) -> None:
    """Log the order a loader reads ``dataset`` in, and why (one INFO line)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    try:
        size = f"{len(dataset):,} samples"
    except TypeError:
        size = "unknown length"
    if streaming:
        order = "in the dataset's own order (an iterable dataset shuffles and splits itself)"
    else:
        order = f"shuffled (seed {seed})" if shuffle else "in order"
        order += f": {reason}" + ("; sharded across ranks by a DistributedSampler" if distributed else "")
    logger.info("build_loader: %s (%s) read %s", type(dataset).__name__, size, order)


def default_collate_for(dataset: Any) -> Callable[[list[Any]], Any] | None:
    """The collate a dataset's samples need, or ``None`` (PyTorch's default) for fixed-size samples.

    [`detection_collate`][visiondata.collate.detection_collate] for detection datasets;
    [`padded_collate`][visiondata.collate.padded_collate] with the dataset's ``ignore_index`` (255 when
    it names none) for semantic segmentation, whose images and masks differ in size.
    """
    import functools

    from visiondata.collate import detection_collate, padded_collate

    inner = dataset.dataset if isinstance(dataset, torch.utils.data.Subset) else dataset
    if _is_detection(inner) or getattr(inner, "task", None) == "detection":
        return detection_collate
    if _is_segmentation(inner):
        return functools.partial(padded_collate, ignore_index=int(getattr(inner, "ignore_index", 255)))
    return None


def _is_segmentation(dataset: Any) -> bool:
    from visiondata.datasets._catalog_dataset import CatalogDataset
    from visiondata.formats._mask_folder import SegmentationFolderDataset

    if isinstance(dataset, SegmentationFolderDataset) or getattr(dataset, "task", None) == "segmentation":
        return True
    return isinstance(dataset, CatalogDataset) and dataset.schema == "segmentation"


def _is_detection(dataset: Any) -> bool:
    from visiondata.datasets._catalog_dataset import CatalogDataset
    from visiondata.datasets._detection import DetectionFileDataset
    from visiondata.formats._csv_detection import CSVDetectionDataset
    from visiondata.transforms._mixing import MixUp, Mosaic

    if isinstance(dataset, (DetectionFileDataset, CSVDetectionDataset, Mosaic, MixUp)):
        return True
    return isinstance(dataset, CatalogDataset) and dataset.schema == "detection"


def _process_group_ready() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()
