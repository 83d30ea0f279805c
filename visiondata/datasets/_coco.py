"""``CocoDetectionDataset``: a COCO annotation file read into a flat index.

The JSON file is decoded by msgspec straight into typed records of the few
fields a detector needs (segmentations only with ``masks=True``), then
into numpy arrays; no Python dict per annotation survives construction.
On a file of COCO train2017's shape this builds several times faster than
pycocotools and holds a small fraction of its memory (``docs/performance.md``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import torch
from torchvision import tv_tensors

from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import (
    DetectionFileDataset,
    DetectionIndex,
    box_problems,
    release_freed_memory,
)
from visiondata.datasets._index import PathIndex, smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, MissingDependencyError

_SHOWN_NAME = 40


class _Image(msgspec.Struct):
    id: int
    file_name: str
    width: int = 0
    height: int = 0


class _Category(msgspec.Struct):
    id: int
    name: str


_NAN = float("nan")


_NO_BOX = (_NAN, _NAN, _NAN, _NAN)


class _Annotation(msgspec.Struct):
    image_id: int
    category_id: int
    id: int = -1
    # NaN marks what the file left out (or wrote as null): no bbox is a problem, no area is the box's.
    bbox: tuple[float, float, float, float] | None = _NO_BOX
    iscrowd: int = 0
    area: float | None = _NAN


class _AnnotationWithSegmentation(_Annotation):
    segmentation: msgspec.Raw = msgspec.Raw(b"null")


class _File(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[_Annotation] = []


class _FileWithSegmentation(msgspec.Struct):
    images: list[_Image]
    categories: list[_Category] = []
    annotations: list[_AnnotationWithSegmentation] = []


class CocoDetectionDataset(DetectionFileDataset):
    """Images and boxes of a COCO annotation file (``instances_*.json``).

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels),
    "labels": int64, "image_id": the COCO image id, "iscrowd": int64,
    "area": float32})``, plus ``"masks"`` (``N x H x W`` ``uint8``) with
    ``masks=True``. ``bbox [x, y, w, h]`` becomes ``[x, y, x + w, y + h]``.

    Labels index `classes`: by default ``"__background__"`` then the
    category names in order of their ids, so the non-contiguous COCO ids
    (1, 3, 90...) become labels 1, 2, 3...; `category_ids` and
    `label_to_category_id` give the file's ids back (for COCO
    evaluation). ``classes=`` fixes the list of names (categories are matched
    by name); ``background=False`` drops the background entry, so labels
    start at 0.

    Construction checks every annotation and reports each problem with its
    annotation id: boxes with no area, NaN or beyond the image (by more than
    0.1% of a side; less is snapped onto the border), annotations naming an
    image or a category the file does not have, and image paths that leave
    ``images_dir`` or do not exist. ``on_error="raise"`` raises one
    [`DatasetValidationError`][visiondata.exceptions.DatasetValidationError] listing them all;
    ``"skip"`` and ``"warn"`` leave the bad annotations (and images) out and
    record them in `problems`.

    Args:
        images_dir: Folder the ``file_name`` of each image is relative to.
        annotation_file: The COCO JSON file.
        classes: Class names the labels index (default: background + the file's categories).
        drop_empty: Leave out images without annotations (kept by default, with ``(0, 4)`` boxes).
        include_crowd: Keep ``iscrowd`` annotations (marked in the ``iscrowd`` field).
        masks: Add instance masks from polygons and RLE (needs pycocotools:
            ``pip install ".[coco]"``).
        transform: Called as ``transform(image, target)`` (a ``BoxPipeline`` or a v2 transform).
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``, for annotation problems and unreadable images.
        allow_outside_root: Accept image paths leaving ``images_dir``.
        check_files: Check at construction that every image file exists.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0 (torchvision's detection models expect it).

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "ann.json").write_text(json.dumps({
        ...     "images": [{"id": 7, "file_name": "a.png", "width": 20, "height": 10}],
        ...     "categories": [{"id": 3, "name": "car"}, {"id": 90, "name": "toothbrush"}],
        ...     "annotations": [{"id": 1, "image_id": 7, "category_id": 90, "bbox": [2, 1, 5, 4]}]}))
        >>> dataset = CocoDetectionDataset(root, root / "ann.json")
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), target["image_id"], dataset.classes
        ([[2.0, 1.0, 7.0, 5.0]], [2], 7, ['__background__', 'car', 'toothbrush'])
        >>> dataset.label_to_category_id
        {1: 3, 2: 90}
    """

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        annotation_file: str | os.PathLike[str],
        classes: Sequence[str] | None = None,
        drop_empty: bool = False,
        include_crowd: bool = True,
        masks: bool = False,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        background: bool = True,
    ) -> None:
        super().__init__(images_dir, transform, target_transform, on_error, loader)
        self.allow_outside_root = allow_outside_root
        self.annotation_file = str(annotation_file)
        self.masks = bool(masks)
        if self.masks:
            _import_pycocotools()
        parsed = _decode(Path(annotation_file), self.masks)
        problems: list[str] = []
        self.classes, self.category_ids, category_to_label = _classes(parsed.categories, classes, background)
        refuse_duplicate_classes(self.classes, self.annotation_file)
        self.index, segmentations = self._build(
            parsed, category_to_label, include_crowd, allow_outside_root, check_files, problems
        )
        del parsed
        release_freed_memory()
        if drop_empty:
            self.index, segmentations = _without_images(
                self.index, np.diff(self.index.offsets) > 0, segmentations
            )
        self._segmentations = None if segmentations is None else PathIndex(segmentations)
        self._settle(self.annotation_file, problems)

    def _build(
        self,
        parsed: Any,
        category_to_label: dict[int, int],
        include_crowd: bool,
        allow_outside_root: bool,
        check_files: bool,
        problems: list[str],
    ) -> tuple[DetectionIndex, list[str] | None]:
        images = parsed.images
        image_ids = np.fromiter((image.id for image in images), dtype=np.int64, count=len(images))
        sizes = np.array([(image.height, image.width) for image in images], dtype=np.int32).reshape(-1, 2)
        good_image = np.ones(len(images), dtype=bool)
        paths = []
        for position, image in enumerate(images):
            name = image.file_name
            if (
                "/" not in name
                and os.sep not in name
                and name.strip() == name
                and name not in ("", ".", "..")
            ):
                path, problem = name, None  # a plain file name: nothing to normalise (most COCO files)
            else:
                path, problem = check_path(name, self.root, allow_outside_root)
            if problem is None and check_files and not os.path.isfile(os.path.join(self.root, path)):
                problem = f"image file {os.path.join(self.root, path)} does not exist"
            if problem is not None:
                problems.append(f"image {image.id}: {problem}")
                good_image[position] = False
            paths.append(path)
        unique, repeats = np.unique(image_ids, return_counts=True)
        problems.extend(
            f"image id {int(value)} is listed {int(n)} times"
            for value, n in zip(unique, repeats, strict=True)
            if n > 1
        )

        annotations = parsed.annotations
        # One pass over the records: integers as int64, numbers as float64.
        integers = np.array(
            [(a.id, a.image_id, a.category_id, a.iscrowd) for a in annotations], dtype=np.int64
        ).reshape(-1, 4)
        numbers = np.array(
            [(*(a.bbox or _NO_BOX), _NAN if a.area is None else a.area) for a in annotations],
            dtype=np.float64,
        ).reshape(-1, 5)
        annotation_ids, image_of, category_of, crowd = integers.T
        xywh, area = numbers[:, :4], numbers[:, 4]
        has_box = np.array([a.bbox is not None and a.bbox is not _NO_BOX for a in annotations], dtype=bool)
        position, known_image = _positions(image_ids, image_of)
        labels = _map(category_of, category_to_label)
        known_category = labels >= 0
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        box_sizes = np.where(known_image[:, None], sizes[position] if len(images) else 0, 0)
        box_issue = box_problems(boxes, box_sizes)

        keep = known_image & known_category & has_box
        keep[known_image] &= good_image[position[known_image]]
        if not include_crowd:
            keep &= crowd == 0
        names = _category_names(parsed.categories)
        for row in np.flatnonzero(~known_image | ~known_category | ~has_box).tolist():
            where = f"annotation {int(annotation_ids[row])}"
            if not known_image[row]:
                problems.append(f"{where}: image_id {int(image_of[row])} is not in the file's images")
            elif not has_box[row]:
                problems.append(f"{where}: no bbox")
            else:
                category = int(category_of[row])
                known = category in names
                if not known:
                    problems.append(
                        f"{where}: category_id {category} is not in the file's categories {_shown(sorted(names))}"
                    )
                elif names[category] in self.classes:
                    problems.append(
                        f"{where}: category_id {category} is named {names[category]!r} like category "
                        f"{self.category_ids[self.classes.index(names[category])]}, which takes that class's label; "
                        "give the categories distinct names"
                    )
                else:
                    problems.append(
                        f"{where}: category_id {category} is {names[category]!r}, not one of the classes {self.classes}"
                    )
        for row, issue in enumerate(box_issue):
            if issue is not None and keep[row]:
                image = images[int(position[row])]
                problems.append(
                    f"annotation {int(annotation_ids[row])} (image {image.id}, {image.file_name}): {issue}"
                )
                keep[row] = False
        area = np.where(np.isnan(area), xywh[:, 2] * xywh[:, 3], area)
        index = DetectionIndex.build(
            paths,
            image_ids,
            sizes,
            position[keep],
            boxes[keep],
            labels[keep].astype(smallest_int_type(max(len(self.classes) - 1, 0))),
            {"iscrowd": crowd[keep], "area": area[keep].astype(np.float32)},
        )
        segmentations = None
        if self.masks:
            kept_rows = np.flatnonzero(keep)
            # In the order the index holds the boxes: grouped by image, file order within each.
            grouped = kept_rows[np.argsort(position[keep], kind="stable")]
            segmentations = [bytes(annotations[row].segmentation).decode("utf-8") for row in grouped.tolist()]
        if not good_image.all():
            index, segmentations = _without_images(index, good_image, segmentations)
        return index, segmentations

    def _add_masks(self, target: dict[str, Any], index: int, height: int, width: int) -> None:
        if self._segmentations is None:
            return
        from pycocotools import mask as coco_mask

        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        masks = np.zeros((end - start, height, width), dtype=np.uint8)
        for row in range(start, end):
            segmentation = msgspec.json.decode(self._segmentations[row])
            if not segmentation:
                continue
            if isinstance(segmentation, list):
                rle = coco_mask.merge(coco_mask.frPyObjects(segmentation, height, width))
            elif isinstance(segmentation.get("counts"), list):
                rle = coco_mask.frPyObjects(segmentation, height, width)
            else:
                rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}
            masks[row - start] = coco_mask.decode(rle)[:height, :width]
        target["masks"] = tv_tensors.Mask(torch.from_numpy(masks))


def _import_pycocotools() -> Any:
    try:
        from pycocotools import mask
    except ImportError as error:
        raise MissingDependencyError(
            "masks=True needs pycocotools to decode COCO polygons and RLE: install the coco extra (pip install '.[coco]' in a visiondata checkout, or pip install pycocotools) "
            f"({error})"
        ) from error
    return mask


def _decode(path: Path, with_segmentation: bool) -> Any:
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path}: expected a COCO annotation file, found {'a folder' if path.exists() else 'nothing'}"
        )
    schema = _FileWithSegmentation if with_segmentation else _File
    data = path.read_bytes()
    try:
        try:
            return msgspec.json.Decoder(schema).decode(data)
        except msgspec.DecodeError:
            # Python's json module writes NaN and Infinity, which strict JSON (and msgspec) refuse: such
            # files take the slow road, so that those boxes are reported one by one.
            import json

            try:
                parsed = json.loads(data)
            except ValueError as error:
                raise DatasetFormatError(f"{path}: not valid JSON: {error}") from None
            return msgspec.convert(parsed, schema)
    except msgspec.ValidationError as error:
        raise DatasetFormatError(
            f"{path}: not a COCO annotation file: {error} (expected images, categories and annotations "
            "with image_id, category_id and bbox [x, y, w, h])"
        ) from None


def _category_names(categories: list[_Category]) -> dict[int, str]:
    return {category.id: category.name for category in categories}


def _shown(values: list[Any]) -> str:
    shown = ", ".join(map(str, values[:_SHOWN_NAME]))
    return f"[{shown}{', ...' if len(values) > _SHOWN_NAME else ''}]"


def _classes(
    categories: list[_Category], classes: Sequence[str] | None, background: bool
) -> tuple[list[str], list[Any], dict[int, int]]:
    """The class names, each label's category id, and category id -> label."""
    ordered = sorted(categories, key=lambda category: category.id)
    if classes is None:
        names = ([BACKGROUND] if background else []) + [category.name for category in ordered]
        ids: list[Any] = ([None] if background else []) + [category.id for category in ordered]
    else:
        names = class_names(classes)
        by_name: dict[str, int] = {}
        for category in ordered:
            by_name.setdefault(category.name, category.id)
        ids = [by_name.get(name) for name in names]
    return names, ids, {category: label for label, category in enumerate(ids) if category is not None}


def _without_images(
    index: DetectionIndex, keep: np.ndarray, segmentations: list[str] | None
) -> tuple[DetectionIndex, list[str] | None]:
    if segmentations is not None:
        rows = np.repeat(keep, np.diff(index.offsets))
        segmentations = [value for value, kept in zip(segmentations, rows.tolist(), strict=True) if kept]
    return index.select(keep), segmentations


def _map(values: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    """``mapping[value]`` for each value, -1 where it has no entry (by binary search: ids may be huge)."""
    if not mapping:
        return np.full(len(values), -1, dtype=np.int64)
    keys = np.array(sorted(mapping), dtype=np.int64)
    mapped = np.array([mapping[key] for key in keys.tolist()], dtype=np.int64)
    found = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return np.where(keys[found] == values, mapped[found], -1)


def _positions(image_ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position in ``image_ids`` of each id in ``wanted``, and whether it is there at all."""
    if len(image_ids) == 0:
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    low, high = int(image_ids.min()), int(image_ids.max())
    if low >= 0 and high < 16 * len(image_ids) + 1024:
        # Ids are dense enough for a table (COCO's are): one lookup per annotation.
        table = np.full(high + 1, -1, dtype=np.int64)
        table[image_ids[::-1]] = np.arange(len(image_ids))[::-1]  # the first of repeated ids wins
        inside = (wanted >= 0) & (wanted <= high)
        position = np.where(inside, table[np.clip(wanted, 0, high)], -1)
        known = position >= 0
        return np.where(known, position, 0), known
    order = np.argsort(image_ids, kind="stable")
    found = np.minimum(np.searchsorted(image_ids, wanted, sorter=order), len(image_ids) - 1)
    position = order[found]
    return position, image_ids[position] == wanted
