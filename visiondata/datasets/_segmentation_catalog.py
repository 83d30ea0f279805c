"""The catalog's ``voc_segmentation``, ``cityscapes`` and ``sbd``: samples in visiondata's one mask schema.

Every segmentation entry yields ``(tv_tensors.Image, {"mask": tv_tensors.Mask, "image_id": int})``, the
mask ``int64`` ``(H, W)`` of class ids with void pixels kept as ``ignore_index`` (255), exactly as
[`SegmentationFolderDataset`][visiondata.formats.SegmentationFolderDataset] gives them, so
``BoxPipeline``, ``padded_collate(ignore_index=255)``, ``visiondata preview`` and the writers take catalog
samples as they take a mask folder's. ``transform`` is called as ``transform(image, target)``.

- ``voc_segmentation`` and ``cityscapes`` are read by ``SegmentationFolderDataset`` itself (VOC's palette
  PNGs as indices; Cityscapes' ``*_gtFine_labelIds.png`` grey levels), so the reader's keywords
  (``on_error``, ``strict``, ``allow_outside_root``...) pass through ``get_dataset`` with its defaults, and
  ``check`` and ``problems`` work as for any mask folder. torchvision is used only to download VOC
  (``torchvision.datasets.VOCSegmentation``, its URLs and checksums) and to unpack Cityscapes' zips.
- ``sbd`` keeps torchvision's ``SBDataset`` (its masks are MATLAB ``.mat`` files, which no image reader
  opens) behind `SBDSegmentation`, a small adapter that gives the same dict.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

from visiondata.datasets._builtin import CITYSCAPES_CLASSES, VOC_CLASSES
from visiondata.datasets._detection_catalog import (
    download_voc,
    voc_root,
    voc_url,
    voc_year,
    with_reader_keywords,
)
from visiondata.exceptions import (
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetValidationError,
    DownloadError,
    ImageReadError,
    MissingDependencyError,
)
from visiondata.formats._mask_folder import SegmentationFolderDataset

CITYSCAPES_HOME = "https://www.cityscapes-dataset.com/downloads/"
#: The ground-truth folder of each Cityscapes ``mode`` and the splits torchvision offers for it.
CITYSCAPES_MODES = {
    "fine": ("gtFine", ("train", "val", "test")),
    "coarse": ("gtCoarse", ("train", "train_extra", "val")),
}


def voc_segmentation(
    root: str,
    split: str = "train",
    year: str | int | None = None,
    download: bool = False,
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
    **options: Any,
) -> SegmentationFolderDataset:
    """PASCAL VOC segmentation in torchvision's layout: ``root/VOCdevkit/VOC{year}/`` (2011: ``root/TrainVal/...``).

    Reads ``JPEGImages/<name>.jpg`` with ``SegmentationClass/<name>.png`` for each name of
    ``ImageSets/Segmentation/<split>.txt`` through ``SegmentationFolderDataset`` (sorted by name, the
    reader's order; VOC's own lists are sorted, so it is torchvision's order too):
    the palette PNG's indices are the class ids (0 background, 1-20 `VOC_CLASSES`), 255 VOC's void border
    (``ignore_index``). ``year`` is 2007 to 2012 (default 2012; ``split="test"`` is VOC 2007's).
    ``download=True`` fetches the year's archive through ``torchvision.datasets.VOCSegmentation`` when the
    split's list is missing.

    Raises:
        TypeError: ``split="test"`` with a year other than 2007.
        ValueError: ``year`` is not 2007 to 2012.
        DatasetNotFoundError: The split is not on disk and ``download`` is false.
        DownloadError: The download failed.
        DatasetValidationError: A listed name without its image or mask (under ``on_error="raise"``).
    """
    year = voc_year("voc_segmentation", split, year)
    folder = voc_root(root, year)
    listing = os.path.join(folder, "ImageSets", "Segmentation", f"{split}.txt")
    masks = os.path.join(folder, "SegmentationClass")
    url = voc_url(year, split)
    if download and not os.path.isfile(listing):
        download_voc(root, year, split, url, "VOCSegmentation")
    if not (os.path.lexists(listing) and os.path.isdir(masks)):
        raise DatasetNotFoundError(
            f"voc_segmentation: no VOC {year} {split!r} segmentation split under {root}: expected {listing} "
            f"and {masks}. Pass download=True to fetch {url}, or download it on a machine with network access "
            f"and extract it into {root}"
        )
    from visiondata.formats._voc import split_list_ids

    # As torchvision's VOCSegmentation: one name a line; a name leading outside the tree is refused.
    problems: list[str] = []
    stems = split_list_ids(listing, os.path.join(folder, "JPEGImages"), problems)
    if problems:
        raise DatasetValidationError(listing, problems)
    return SegmentationFolderDataset(
        os.path.join(folder, "JPEGImages"),
        masks,
        classes=list(VOC_CLASSES),
        transform=transform,
        target_transform=target_transform,
        stems=stems,
        **options,
    )


def cityscapes(
    root: str,
    split: str = "train",
    mode: str = "fine",
    target_type: str = "semantic",
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
    **options: Any,
) -> SegmentationFolderDataset:
    """Cityscapes in its own (and torchvision's) layout, read by ``SegmentationFolderDataset``.

    Pairs ``root/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png`` with
    ``root/gtFine/<split>/<city>/<name>_gtFine_labelIds.png`` (``mode="coarse"``: ``gtCoarse``,
    ``*_gtCoarse_labelIds.png``); the ``*_color.png``, ``*_instanceIds.png`` and polygon files beside them
    are not read. Mask values are the 34 label ids (`CITYSCAPES_CLASSES`, 0 ``unlabeled`` to 33
    ``bicycle``), as torchvision's ``target_type="semantic"``; samples are sorted by path. Folders not
    unpacked yet are unpacked from Cityscapes' zips in ``root`` through ``torchvision.datasets.Cityscapes``.

    Raises:
        ValueError: ``mode`` is not fine or coarse, ``split`` is not one of the mode's, or ``target_type``
            is not ``"semantic"`` (the one semantic mask schema).
        DatasetNotFoundError: The split's folders (and the zips) are not in ``root``.
    """
    if mode not in CITYSCAPES_MODES:
        raise ValueError(f"cityscapes: mode expected 'fine' or 'coarse', got {mode!r}")
    if target_type != "semantic":
        raise ValueError(
            f"cityscapes: target_type expected 'semantic' (masks of label ids, the catalog's segmentation "
            f"schema), got {target_type!r}; use torchvision.datasets.Cityscapes directly for instance, color or "
            "polygon targets"
        )
    ground_truth, splits = CITYSCAPES_MODES[mode]
    if split not in splits:
        raise ValueError(f"cityscapes: mode={mode!r} has the splits {', '.join(splits)}; got split={split!r}")
    images = os.path.join(root, "leftImg8bit", split)
    masks = os.path.join(root, ground_truth, split)
    if not (os.path.isdir(images) and os.path.isdir(masks)):
        _unpack_cityscapes(root, split, mode, images, masks)
    return SegmentationFolderDataset(
        images,
        masks,
        classes=list(CITYSCAPES_CLASSES),
        transform=transform,
        target_transform=target_transform,
        image_suffix="_leftImg8bit",
        mask_suffix=f"_{ground_truth}_labelIds",
        **options,
    )


def _unpack_cityscapes(root: str, split: str, mode: str, images: str, masks: str) -> None:
    """Unpack the zips torchvision's ``Cityscapes`` unpacks (it checks for them), or name what is missing."""
    ground_truth = CITYSCAPES_MODES[mode][0]
    suffix = "trainextra" if split == "train_extra" else "trainvaltest"
    zips = [
        os.path.join(root, f"leftImg8bit_{suffix}.zip"),
        os.path.join(root, f"{ground_truth}_{suffix}.zip"),
    ]
    if all(os.path.isfile(path) for path in zips):
        from torchvision.datasets import Cityscapes

        try:
            Cityscapes(root, split=split, mode=mode, target_type="semantic")
        except (RuntimeError, OSError, ValueError) as error:
            raise DatasetFormatError(f"cityscapes: could not unpack {' and '.join(zips)}: {error}") from error
        if os.path.isdir(images) and os.path.isdir(masks):
            return
    raise DatasetNotFoundError(
        f"cityscapes: no {split!r} split ({mode}) under {root}: expected the folders {images} and {masks} "
        f"(or {' and '.join(zips)} to unpack). There is no download=True for Cityscapes: register on "
        f"{CITYSCAPES_HOME}, download those zips and place them in {root}"
    )


class SBDSegmentation:
    """torchvision's ``SBDataset`` (``mode="segmentation"``) giving the catalog's segmentation dict.

    SBD's masks are MATLAB ``.mat`` files (``GTcls.Segmentation``), so torchvision reads them (scipy);
    this adapter only turns each sample into ``(tv_tensors.Image, {"mask": tv_tensors.Mask int64 (H, W),
    "image_id": index})`` and applies ``transform(image, target)`` then ``target_transform(target)``.

    Attributes:
        dataset: The torchvision ``SBDataset``.
        classes: `VOC_CLASSES` (SBD uses VOC's 20 classes; 0 is the background).
        ignore_index: 255, the void id of the schema (SBD's class masks have no void border).
    """

    task = "segmentation"

    def __init__(
        self,
        dataset: Any,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        self.dataset = dataset
        self.transform = transform
        self.target_transform = target_transform
        self.classes = list(VOC_CLASSES)
        self.ignore_index = 255
        self.root = str(dataset.root)

    def __len__(self) -> int:
        return len(self.dataset.images)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        import numpy as np
        import torch
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional

        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {count} samples")
        index %= count
        try:
            image, mask = self.dataset[index]
        except FileNotFoundError as error:
            raise ImageReadError(
                error.filename or self.dataset.images[index], "missing", str(error)
            ) from error
        except (ValueError, TypeError, KeyError, IndexError, OSError) as error:
            # scipy's loadmat on a damaged or foreign .mat file, or one without GTcls.Segmentation.
            raise DatasetFormatError(
                f"{self.dataset.masks[index]}: SBD mask: expected a MATLAB file holding GTcls.Segmentation (an "
                f"H x W array of class ids), got one that could not be read ({type(error).__name__}: {error})"
            ) from error
        image = functional.to_image(image)
        ids = torch.from_numpy(np.asarray(mask).astype(np.int64))
        if tuple(ids.shape) != tuple(image.shape[-2:]):
            raise DatasetFormatError(
                f"{self.dataset.masks[index]}: SBD mask: expected the size of its image {self.dataset.images[index]}"
                f", {image.shape[-1]}x{image.shape[-2]} (width x height), got {ids.shape[-1]}x{ids.shape[-2]}"
            )
        target: Any = {"mask": tv_tensors.Mask(ids), "image_id": index}
        if self.transform is not None:
            image, target = self.transform(image, target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return f"SBDSegmentation({self.root!r}, {len(self)} samples, {len(self.classes)} classes)"


def sbd(
    root: str,
    split: str = "train",
    download: bool = False,
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
) -> SBDSegmentation:
    """The Semantic Boundaries Dataset's class masks: ``root/img/*.jpg``, ``root/cls/*.mat``, ``root/<split>.txt``.

    Read by ``torchvision.datasets.SBDataset(mode="segmentation")`` (needs scipy), samples in the catalog's
    segmentation dict (see `SBDSegmentation`). ``download=True`` fetches the archive through torchvision
    when the split's list is missing.

    Raises:
        MissingDependencyError: scipy is not installed.
        DatasetNotFoundError: The split's list is not in ``root`` and ``download`` is false.
        DownloadError: The download failed.
    """
    if importlib.util.find_spec("scipy") is None:
        raise MissingDependencyError(
            "sbd: torchvision.datasets.SBDataset reads SBD's .mat masks with the optional package 'scipy', which "
            "is not installed; install it with: pip install scipy"
        )
    from torchvision.datasets import SBDataset

    listing = os.path.join(root, f"{split}.txt")
    if not download and not (os.path.isfile(listing) and os.path.isdir(os.path.join(root, "cls"))):
        raise DatasetNotFoundError(
            f"sbd: no SBD {split!r} split under {root}: expected {listing}, {os.path.join(root, 'img')} and "
            f"{os.path.join(root, 'cls')}. Pass download=True to fetch {SBDataset.url}, or download it on a "
            f"machine with network access and place benchmark_RELEASE/dataset's files in {root}"
        )
    try:
        dataset = SBDataset(
            root, image_set=split, mode="segmentation", download=download and not os.path.isfile(listing)
        )
    except (RuntimeError, OSError, ValueError) as error:
        if not download:
            raise
        cause = str(error).strip().rstrip(".") or type(error).__name__
        raise DownloadError(
            f"could not download SBD ({split}) into {root}: {cause}. Download {SBDataset.url} on a machine with "
            f"network access and place benchmark_RELEASE/dataset's files in {root}"
        ) from error
    return SBDSegmentation(dataset, transform=transform, target_transform=target_transform)


voc_segmentation.__signature__ = with_reader_keywords(  # type: ignore[attr-defined]
    voc_segmentation, SegmentationFolderDataset, ("images_dir", "masks_dir", "classes", "stems")
)
cityscapes.__signature__ = with_reader_keywords(  # type: ignore[attr-defined]
    cityscapes,
    SegmentationFolderDataset,
    ("images_dir", "masks_dir", "classes", "stems", "image_suffix", "mask_suffix"),
)
