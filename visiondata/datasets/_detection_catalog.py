"""The catalog's ``coco_detection`` and ``voc_detection``: visiondata's own COCO and VOC readers.

Both entries read the standard layouts under the catalog root with
[`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset] and
[`VOCDetectionDataset`][visiondata.formats.VOCDetectionDataset], so a file gives the same samples
through ``get_dataset`` as through the reader: contiguous labels indexing ``dataset_info(name).classes``
(background at 0), ``float32`` XYXY boxes, the reader's per-box fields, error policies (``on_error=``),
``check`` support and joint transforms. torchvision is used only to download VOC
(``download=True`` goes through ``torchvision.datasets.VOCDetection``, its checksums included).

Each factory accepts the reader's own keywords (``on_error``, ``include_crowd``, ``masks``,
``keep_difficult``...) with the reader's defaults; the class list is the catalog's, so the labels
mean the same whatever categories a file happens to hold.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

from visiondata.datasets._builtin import COCO_CATEGORY_IDS, COCO_CLASSES, VOC_CLASSES
from visiondata.exceptions import DatasetNotFoundError, DownloadError
from visiondata.formats._coco import CocoDetectionDataset
from visiondata.formats._voc import VOCDetectionDataset

VOC_YEARS = ("2007", "2008", "2009", "2010", "2011", "2012")
COCO_DOWNLOADS = "https://cocodataset.org/#download"


def _classes(names: tuple[str, ...], background: bool) -> list[str]:
    """The catalog's class list (``"__background__"`` first), without it when ``background=False``."""
    return list(names) if background else list(names[1:])


def coco_detection(
    root: str,
    split: str = "train",
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
    **options: Any,
) -> CocoDetectionDataset:
    """COCO 2017 detection: ``root/coco/{split}2017/`` and ``root/coco/annotations/instances_{split}2017.json``.

    Labels index `COCO_CLASSES` (background, then the 80 categories in order of
    their COCO ids); ``dataset.category_ids[label]`` is the COCO category id
    (the label space of torchvision's pretrained detectors), also for a
    category the file leaves out.

    Raises:
        DatasetNotFoundError: The annotation file is not there; the message names it and where to get it.
    """
    coco = os.path.join(root, "coco")
    annotation_file = os.path.join(coco, "annotations", f"instances_{split}2017.json")
    if not os.path.lexists(annotation_file):
        raise DatasetNotFoundError(
            f"coco_detection: {annotation_file} does not exist; expected COCO 2017 under {root}: "
            f"coco/{split}2017/*.jpg and coco/annotations/instances_{split}2017.json. There is no "
            f"download=True for COCO: get {split}2017.zip and annotations_trainval2017.zip from "
            f"{COCO_DOWNLOADS} and extract them into {coco}"
        )
    background = options.pop("background", True)
    dataset = CocoDetectionDataset(
        os.path.join(coco, f"{split}2017"),
        annotation_file,
        classes=_classes(COCO_CLASSES, background),
        transform=transform,
        target_transform=target_transform,
        background=background,
        **options,
    )
    # A file without some of the 80 categories still maps every label to its COCO id (unless the
    # file gave that id to another name), so that predictions and to_coco use COCO's ids.
    standard = COCO_CATEGORY_IDS if background else COCO_CATEGORY_IDS[1:]
    used = {value for value in dataset.category_ids if value is not None}
    dataset.category_ids = [
        value if value is not None or standard[label] in used else standard[label]
        for label, value in enumerate(dataset.category_ids)
    ]
    return dataset


def voc_root(root: str, year: str) -> str:
    """Where torchvision's VOC archives of ``year`` unpack under ``root`` (2011's sits in ``TrainVal/``)."""
    parts = ("TrainVal", "VOCdevkit", "VOC2011") if year == "2011" else ("VOCdevkit", f"VOC{year}")
    return os.path.join(root, *parts)


def voc_url(year: str, split: str) -> str:
    from torchvision.datasets.voc import DATASET_YEAR_DICT

    return DATASET_YEAR_DICT["2007-test" if split == "test" else year]["url"]


def voc_detection(
    root: str,
    split: str = "train",
    year: str | int | None = None,
    download: bool = False,
    transform: Callable[..., Any] | None = None,
    target_transform: Callable[[Any], Any] | None = None,
    **options: Any,
) -> VOCDetectionDataset:
    """PASCAL VOC detection in torchvision's layout: ``root/VOCdevkit/VOC{year}/`` (2011: ``root/TrainVal/...``).

    ``year`` is 2007 to 2012 (default 2012; ``split="test"`` is VOC 2007's,
    the only year with test annotations). Labels index `VOC_CLASSES` (the 20
    classes in the challenge's order after the background) whatever classes
    the split holds. ``download=True`` fetches the year's archive through
    ``torchvision.datasets.VOCDetection`` when the split's list is missing.

    Raises:
        TypeError: ``split="test"`` with a year other than 2007.
        ValueError: ``year`` is not 2007 to 2012.
        DatasetNotFoundError: The split is not on disk and ``download`` is false.
        DownloadError: The download failed.
    """
    year = voc_year("voc_detection", split, year)
    folder = voc_root(root, year)
    listing = os.path.join(folder, "ImageSets", "Main", f"{split}.txt")
    url = voc_url(year, split)
    if download and not os.path.isfile(listing):
        download_voc(root, year, split, url)
    if not (os.path.lexists(listing) and os.path.isdir(os.path.join(folder, "Annotations"))):
        raise DatasetNotFoundError(
            f"voc_detection: no VOC {year} {split!r} split under {root}: expected {listing} and "
            f"{os.path.join(folder, 'Annotations')}. Pass download=True to fetch {url}, or download it on a "
            f"machine with network access and extract it into {root}"
        )
    background = options.pop("background", True)
    return VOCDetectionDataset(
        folder,
        split=split,
        classes=_classes(VOC_CLASSES, background),
        transform=transform,
        target_transform=target_transform,
        background=background,
        **options,
    )


def download_voc(root: str, year: str, split: str, url: str, kind: str = "VOCDetection") -> None:
    """Fetch and unpack VOC ``year`` through torchvision's ``kind`` class (its checksums, its layout).

    ``kind`` is ``"VOCDetection"`` or ``"VOCSegmentation"`` (one archive per year holds both; each class
    checks the files it reads).
    """
    import torchvision.datasets

    try:
        getattr(torchvision.datasets, kind)(root, year=year, image_set=split, download=True)
    except (RuntimeError, OSError, ValueError) as error:
        cause = str(error).strip().rstrip(".") or type(error).__name__
        raise DownloadError(
            f"could not download VOC {year} ({split}) into {root}: {cause}. Download the files on a machine "
            f"with network access ({url}) and place them under {root} as torchvision.datasets.{kind} "
            f"expects ({voc_root(root, year)})"
        ) from error


def with_reader_keywords(
    factory: Callable[..., Any], reader: type, decided: tuple[str, ...]
) -> inspect.Signature:
    """``factory``'s own parameters, then the reader's keywords the catalog does not decide.

    ``get_dataset`` checks keywords against this signature, so an unknown one is refused with
    the list, and each reader keyword shows the reader's own default.
    """
    own = [
        parameter
        for parameter in inspect.signature(factory).parameters.values()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    taken = {parameter.name for parameter in own} | set(decided)
    extra = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, parameter in inspect.signature(reader).parameters.items()
        if name not in taken and parameter.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    return inspect.Signature([*own, *extra])


coco_detection.__signature__ = with_reader_keywords(  # type: ignore[attr-defined]
    coco_detection, CocoDetectionDataset, ("images_dir", "annotation_file", "classes")
)
voc_detection.__signature__ = with_reader_keywords(  # type: ignore[attr-defined]
    voc_detection, VOCDetectionDataset, ("images_dir", "classes")
)


def voc_year(name: str, split: str, year: object) -> str:
    """The VOC year catalog entry ``name`` reads: 2007 for ``split="test"``, else ``year`` (default 2012).

    Raises:
        TypeError: ``split="test"`` with another year (VOC published test annotations for 2007 only).
        ValueError: ``year`` is not 2007 to 2012.

    Examples:
        >>> voc_year("voc_detection", "test", None), voc_year("voc_detection", "train", 2010)
        ('2007', '2010')
    """
    if split == "test" and year is not None and str(year) != "2007":
        raise TypeError(
            f"get_dataset({name!r}): split='test' sets year='2007'; got year={str(year)!r}. VOC "
            "published test annotations for 2007 only; leave year= out"
        )
    chosen = "2007" if split == "test" else "2012" if year is None else str(year)
    if chosen not in VOC_YEARS:
        raise ValueError(f"{name}: year expected one of {', '.join(VOC_YEARS)}, got {chosen!r}")
    return chosen
