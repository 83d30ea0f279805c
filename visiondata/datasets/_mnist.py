"""MNIST held in memory as one uint8 tensor, served in whole batches.

torchvision's MNIST builds a PIL image per sample and runs ``ToTensor`` and
``Normalize`` on it; here the same arithmetic runs once per batch on a slice
of the stored tensor, so the pixels are bit-for-bit those of torchvision's
pipeline at a fraction of the cost.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from visiondata._arguments import check_positive_int
from visiondata._paths import resolve_root
from visiondata.datasets._catalog import dataset_info
from visiondata.datasets._idx import read_idx
from visiondata.datasets._info import normalize_split
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, DownloadError


class MNISTDataset(Dataset):
    """The MNIST digits, read from torchvision's on-disk layout (``root/MNIST/raw``).

    Also the base of the other IDX datasets of the same layout
    ([`FashionMNISTDataset`][visiondata.datasets.FashionMNISTDataset], [`KMNISTDataset`][visiondata.datasets.KMNISTDataset]): a subclass sets
    ``folder``, ``classes``, ``mean``, ``std`` and ``torchvision_class``.

    Samples are ``(image, label)``: a float32 tensor of shape ``1x28x28``
    scaled to [0, 1] and normalised with the dataset's mean and standard
    deviation (exactly ``ToTensor()`` then ``Normalize((0.1307,), (0.3081,))``),
    and an ``int``. ``transform`` and ``target_transform``, when given, are
    applied to that tensor and label.

    Args:
        root: Folder that holds ``MNIST/raw``; defaults to ``$VISIONDATA_HOME``,
            else ``~/.cache/visiondata``.
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000).
        transform: Applied to each image tensor.
        target_transform: Applied to each label.
        download: Fetch the files with torchvision's downloader when missing.
            Files already present are never rewritten.
        normalize: Subtract the mean and divide by the standard deviation;
            ``False`` leaves the values in [0, 1].

    Attributes:
        data: All images, a ``uint8`` tensor of shape ``(N, 28, 28)`` (as in torchvision).
        targets: All labels, an ``int64`` tensor of shape ``(N,)``.

    Raises:
        DatasetNotFoundError: The files are not in ``root/<folder>/raw`` (and
            ``download`` is false).
        DownloadError: ``download=True`` and the files cannot be fetched.
        DatasetFormatError: A file is damaged (a truncated or corrupt ``.gz``,
            not IDX, the wrong size), the images and labels do not match, or a
            label is outside the classes; the message names the file, the first
            bad value and how to download the file again.

    Examples:
        >>> from visiondata.datasets import MNISTDataset
        >>> test = MNISTDataset(split="test")  # doctest: +SKIP
        >>> images, labels = next(iter(test.batches(batch_size=256)))  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        torch.Size([256, 1, 28, 28])
    """

    folder = "MNIST"
    files: ClassVar[dict[str, tuple[str, str]]] = {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    }
    # One source of truth for the metadata: the catalog entry.
    classes = dataset_info("mnist").classes
    mean = dataset_info("mnist").mean
    std = dataset_info("mnist").std
    # Name of the torchvision class whose downloader fetches these files.
    torchvision_class = "MNIST"

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        split: str = "train",
        transform: Callable[[torch.Tensor], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        download: bool = False,
        normalize: bool = True,
    ) -> None:
        self.root = resolve_root(root)
        self.split = normalize_split(split, tuple(self.files), type(self).__name__)
        self.transform = transform
        self.target_transform = target_transform
        self.normalize = normalize
        images_path, labels_path = self._locate(download)
        self.data = self._read(images_path)
        self.targets = self._read(labels_path).to(torch.int64)
        if self.data.ndim != 3 or self.targets.ndim != 1 or len(self.data) != len(self.targets):
            raise DatasetFormatError(
                f"{images_path} and {labels_path}: expected images of shape (N, H, W) and "
                f"N labels, got images {tuple(self.data.shape)} and labels "
                f"{tuple(self.targets.shape)}; the two files do not belong together"
            )
        self._check_labels(labels_path)
        self._mean = torch.tensor(self.mean, dtype=torch.float32).view(1, -1, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32).view(1, -1, 1, 1)

    @property
    def raw_folder(self) -> Path:
        """Where the IDX files are read from: ``root/MNIST/raw``."""
        return self.root / self.folder / "raw"

    def _find(self, filename: str) -> Path | None:
        for candidate in (self.raw_folder / filename, self.raw_folder / f"{filename}.gz"):
            if candidate.is_file():
                return candidate
        return None

    def _locate(self, download: bool) -> tuple[Path, Path]:
        wanted = self.files[self.split]
        found = [self._find(name) for name in wanted]
        if None in found and download:
            self._download()
            found = [self._find(name) for name in wanted]
        if None in found:
            missing = [name for name, path in zip(wanted, found, strict=True) if path is None]
            raise DatasetNotFoundError(
                f"{type(self).__name__} {self.split!r} split: expected {', '.join(missing)} "
                f"(plain or .gz) in {self.raw_folder}, found none there. Pass download=True, "
                f"or place the files in that folder by hand, or point root= (or "
                f"$VISIONDATA_HOME) at the folder that holds {self.folder}/raw"
            )
        return found[0], found[1]  # type: ignore[return-value]

    def _read(self, path: Path) -> torch.Tensor:
        try:
            return torch.from_numpy(read_idx(path))
        except DatasetFormatError as error:
            # read_idx knows the file is damaged; only the dataset knows how to fetch it again.
            raise DatasetFormatError(
                f"{error}. {type(self).__name__}(..., download=True) downloads it again once it is deleted"
            ) from error

    def _check_labels(self, labels_path: Path) -> None:
        # A label outside the classes would only fail later, deep inside the loss (or not at all).
        bad = (self.targets < 0) | (self.targets >= len(self.classes))
        if bool(bad.any()):
            first = int(bad.nonzero()[0])
            raise DatasetFormatError(
                f"{labels_path}: expected labels 0 to {len(self.classes) - 1} (the {len(self.classes)} "
                f"classes of {type(self).__name__}), got {int(self.targets[first])} at index {first} "
                f"({int(bad.sum())} bad label{'s' if int(bad.sum()) != 1 else ''} in all); the file is "
                f"damaged or belongs to another dataset: delete it and load with download=True to "
                "download it again"
            )

    def _download(self) -> None:
        import torchvision.datasets

        downloader = getattr(torchvision.datasets, self.torchvision_class)
        urls = [
            f"{mirror}{filename}" for mirror in downloader.mirrors[:1] for filename, _ in downloader.resources
        ]
        try:
            downloader(str(self.root), train=self.split == "train", download=True)
        except Exception as error:  # torchvision raises RuntimeError, URLError, OSError...
            raise DownloadError(
                f"could not download {type(self).__name__} into {self.raw_folder}: {error}. "
                f"Fetch these files on a machine with network access: {', '.join(urls)}; "
                f"then place them (plain or .gz) in {self.raw_folder}"
            ) from error

    def __len__(self) -> int:
        return len(self.targets)

    def _to_float(self, images: torch.Tensor) -> torch.Tensor:
        # Same operations, in the same order and precision, as ToTensor() then Normalize().
        batch = images.unsqueeze(1).to(torch.float32).div_(255)
        if self.normalize:
            batch.sub_(self._mean).div_(self._std)
        return batch

    def _sample(self, image: torch.Tensor, target: int) -> tuple[Any, Any]:
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        image = self._to_float(self.data[index : index + 1 or None])[0]
        return self._sample(image, int(self.targets[index]))

    def _index(self, indices: Sequence[int] | torch.Tensor) -> torch.Tensor:
        """``indices`` as an ``int64`` tensor (not yet checked)."""
        if isinstance(indices, list):  # what a DataLoader's sampler gives: three times faster through numpy
            return torch.from_numpy(np.array(indices, dtype=np.int64))
        return torch.as_tensor(indices, dtype=torch.int64)

    def _checked(self, index: torch.Tensor) -> torch.Tensor:
        """``index`` with negative indices counted from the end; an ``IndexError`` names one out of range."""
        outside = (index < -len(self)) | (index >= len(self))
        if bool(outside.any()):
            raise IndexError(f"index {int(index[outside][0])} is out of range for {len(self)} samples")
        return torch.where(index < 0, index + len(self), index)

    def _gather(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The normalised images and the labels at ``index`` (an ``int64`` tensor)."""
        try:
            # index_select copies whole rows; self.data[index] (advanced indexing) copies the
            # uint8 pixels one by one, 20-30 times slower for a batch of 256.
            images = torch.index_select(self.data, 0, index)
        except IndexError:  # a negative index, or one out of range
            index = self._checked(index)
            images = torch.index_select(self.data, 0, index)
        return self._to_float(images), torch.index_select(self.targets, 0, index)

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[Any, Any]]:
        """Fetch many samples with one tensor operation (``DataLoader`` calls this).

        Returns a list of ``(image, label)`` samples, equal to ``[dataset[i] for i in indices]``.
        Without ``transform`` and ``target_transform`` the list also carries the whole batch,
        already stacked: torch's ``default_collate`` (the ``DataLoader``'s default
        ``collate_fn``) then returns ``[images, labels]``, a float32 ``(B, 1, H, W)`` tensor and an
        ``int64`` ``(B,)`` tensor, equal to what stacking the samples gives, without unbinding and
        re-stacking them. A custom ``collate_fn`` receives the samples as before; each is a
        ``tuple`` (of a private subclass) whose image is a view of that stacked batch, which
        ``default_collate`` returns itself rather than a copy. A list edited before collation
        (reordered, filtered, sliced) is collated from its samples. The list and its samples
        pickle as a plain ``list`` of plain ``tuple``. With a transform, the samples are made one
        by one and collate as any list of tuples.
        """
        images, targets = self._gather(self._index(indices))
        if self.transform is None and self.target_transform is None:
            return _MNISTBatch(images, targets)
        return [self._sample(image, target) for image, target in zip(images, targets.tolist(), strict=True)]

    def batches(
        self,
        batch_size: int = 256,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
        indices: Sequence[int] | torch.Tensor | None = None,
    ) -> MNISTBatches:
        """Re-iterable ``(images, labels)`` batches without a ``DataLoader``.

        Args:
            batch_size: Samples per batch.
            shuffle: Draw a new permutation at every iteration.
            drop_last: Leave out a last, smaller batch.
            generator: Source of the permutations (seed it for reproducible order).
            indices: Serve only these samples (a subset), in this order unless shuffled.

        Examples:
            >>> test = MNISTDataset(split="test")  # doctest: +SKIP
            >>> sum(len(labels) for _, labels in test.batches(1000))  # doctest: +SKIP
            10000
        """
        return MNISTBatches(self, batch_size, shuffle, drop_last, generator, indices)


class FashionMNISTDataset(MNISTDataset):
    """Fashion-MNIST (``root/FashionMNIST/raw``), served like [`MNISTDataset`][visiondata.datasets.MNISTDataset].

    Normalised with the dataset's own mean and standard deviation; the
    pixels equal torchvision's ``FashionMNIST`` with ``ToTensor()`` and
    ``Normalize((0.2860,), (0.3530,))``.

    Examples:
        >>> from visiondata.datasets import FashionMNISTDataset
        >>> FashionMNISTDataset.classes[:2]
        ('T-shirt/top', 'Trouser')
    """

    folder = "FashionMNIST"
    classes = dataset_info("fashion_mnist").classes
    mean = dataset_info("fashion_mnist").mean
    std = dataset_info("fashion_mnist").std
    torchvision_class = "FashionMNIST"


class KMNISTDataset(MNISTDataset):
    """Kuzushiji-MNIST (``root/KMNIST/raw``), served like [`MNISTDataset`][visiondata.datasets.MNISTDataset].

    Examples:
        >>> from visiondata.datasets import KMNISTDataset
        >>> KMNISTDataset.classes[:3]
        ('o', 'ki', 'su')
    """

    folder = "KMNIST"
    classes = dataset_info("kmnist").classes
    mean = dataset_info("kmnist").mean
    std = dataset_info("kmnist").std
    torchvision_class = "KMNIST"


class MNISTBatches:
    """Batches of an [`MNISTDataset`][visiondata.datasets.MNISTDataset]; iterate it once per epoch."""

    def __init__(
        self,
        dataset: MNISTDataset,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        generator: torch.Generator | None,
        indices: Sequence[int] | torch.Tensor | None,
    ) -> None:
        check_positive_int("batch_size", batch_size)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        # Checked once here (negative indices count from the end), so each batch is one index_select.
        self.indices = None if indices is None else dataset._checked(dataset._index(indices))
        self._count = len(dataset) if self.indices is None else len(self.indices)

    def __len__(self) -> int:
        if self.drop_last:
            return self._count // self.batch_size
        return math.ceil(self._count / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        dataset = self.dataset
        if self.shuffle:
            order = torch.randperm(self._count, generator=self.generator)
            if self.indices is not None:
                order = self.indices[order]
        else:
            order = torch.arange(self._count) if self.indices is None else self.indices
        per_sample = dataset.transform is not None or dataset.target_transform is not None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            if per_sample:
                images, targets = zip(*dataset.__getitems__(index.tolist()), strict=True)
                yield torch.stack(images), torch.as_tensor(targets)
            else:
                yield dataset._gather(index)


class _MNISTSample(tuple):
    """An ``(image, label)`` sample of an [`MNISTDataset`][visiondata.datasets.MNISTDataset] batch.

    A plain tuple to its users; its type is what lets ``default_collate`` find the batch it came from.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple, (tuple(self),)


class _MNISTBatch(list):
    """What ``MNISTDataset.__getitems__`` returns: the samples, and the same batch already stacked.

    The samples' images are views of ``images`` (one row each), so the list holds no second copy.
    """

    __slots__ = ("_images", "_samples", "_targets")

    def __init__(self, images: torch.Tensor, targets: torch.Tensor) -> None:
        super().__init__(map(_MNISTSample, zip(images.unbind(0), targets.tolist(), strict=True)))
        self._images = images
        self._targets = targets
        self._samples = tuple(self)  # to tell, at collate time, that nobody edited the list

    def stacked(self) -> list[torch.Tensor] | None:
        """``[images, labels]`` if the list still holds exactly the samples it was built with, else ``None``."""
        if len(self) != len(self._samples) or not all(map(operator.is_, self, self._samples)):
            return None
        return [self._images, self._targets]

    def __reduce__(self) -> tuple[Any, ...]:
        return list, ([tuple(sample) for sample in self],)


def _collate_mnist_samples(batch: Sequence[Any], *, collate_fn_map: dict | None = None) -> Any:
    """``default_collate`` for a batch whose first sample is an ``_MNISTSample``.

    An unedited ``_MNISTBatch`` gives its stacked tensors (what stacking the samples would give,
    without the copy); anything else (a slice, a filtered or edited list) is collated as plain tuples.
    """
    stacked = batch.stacked() if type(batch) is _MNISTBatch else None
    if stacked is not None:
        return stacked
    plain = [tuple(sample) if isinstance(sample, _MNISTSample) else sample for sample in batch]
    return collate(plain, collate_fn_map=collate_fn_map)


try:  # torch's documented way to extend default_collate (see torch.utils.data._utils.collate.collate)
    from torch.utils.data._utils.collate import collate, default_collate_fn_map
except ImportError:  # pragma: no cover - a torch without the registry: samples collate as plain tuples
    pass
else:
    default_collate_fn_map.setdefault(_MNISTSample, _collate_mnist_samples)
