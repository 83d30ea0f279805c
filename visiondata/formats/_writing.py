"""What the writers (``to_coco``, ``to_voc``, ``to_yolo``) share: the records they write, staging and the report.

The source is any dataset of detection samples ``(image, {"boxes", "labels",
...})`` with a ``classes`` list. Datasets of image files (the COCO, VOC, YOLO
and CSV readers) are written without decoding a pixel: the files are copied
(or linked) byte for byte and the boxes come from their index. Other
datasets (the catalog's) are read sample by sample and their images written
as PNG.

Every writer builds its output in a hidden staging folder beside ``out_dir``
(``.visiondata-partial-<name>-<random>``) and renames it into place only when
it is complete, with ``visiondata-conversion.json``
written last: an interrupted conversion leaves ``out_dir`` as it was. An
``out_dir`` that is, holds or lies inside one of the source's files or folders
is refused before anything is written, and so is one that already holds files
unless ``overwrite=True`` (then it is replaced whole).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from visiondata._arguments import check_choice
from visiondata._files import refuse_special_output
from visiondata.datasets._base import BACKGROUND
from visiondata.exceptions import DatasetFormatError

IMAGE_MODES = ("copy", "link", "symlink")


#: Written last into every output folder: the format, the counts, the files written and the source.
MANIFEST_NAME = "visiondata-conversion.json"


#: What an image without boxes becomes in each target format (the report says it).
EMPTY_IMAGE_WRITTEN_AS = {
    "coco": "an image record with no annotations",
    "voc": "an XML file with no <object>",
    "yolo": "an empty label file",
    "dota": "an empty label file",
    "mask_folder": "an all-background mask",
}

#: The per-box fields each target format holds (``masks`` and ``iscrowd`` aside: see `ConversionReport`).
#: Any other field of the source's boxes is left out and counted in ``fields_left_out``.
KEPT_FIELDS = {
    "coco": ("iscrowd", "area"),
    "voc": ("difficult", "truncated"),
    "yolo": (),
    "dota": ("difficult",),
    # Crowd regions become void pixels and areas are the pixels themselves.
    "mask_folder": ("iscrowd", "area"),
}

#: Where instance masks and polygons are kept, when a target format cannot hold them.
_SHAPES_KEPT_BY = "COCO (to_coco writes them as segmentation) or YOLO segment lines (to_yolo) keep them"

_SHAPES_REASON = {
    "voc": "VOC detection XML holds boxes only",
    "yolo": "the YOLO labels written hold no such shape: segments=False, the Darknet layout, or a mask "
    "with no single outline (RLE, a polygon in parts)",
}


@dataclass
class ConversionReport:
    """What a writer wrote, and what the target format could not hold.

    Attributes:
        out_dir: The output folder.
        format: ``"coco"``, ``"voc"`` or ``"yolo"``.
        images: Images written.
        boxes: Boxes written.
        classes: Class names written (without the background), in label order. Every target records
            the order (COCO category ids, VOC ``labelmap.txt``, YOLO ``names``), so the output read back
            gives each box the same label.
        encoded: Images written as PNG because the source had no file to copy.
        skipped: Samples left out, one line each with the reason.
        source_problems: Annotation problems the source reader left out (its ``problems``).
        crowd_left_out: Crowd regions (``iscrowd=1``) not written by the writer: YOLO and VOC have no
            crowd flag, so ``to_yolo`` and ``to_voc`` leave them out unless ``include_crowd=True``
            (then they are written as ordinary objects, and ``iscrowd`` is counted in
            ``fields_left_out``). ``to_coco`` writes every crowd region its source holds.
        source_crowd_left_out: Crowd regions the source reader itself left out (its
            ``crowd_left_out``: a reader built with ``include_crowd=False``, the default): they were
            never samples, so no writer sees them; read the source with ``include_crowd=True`` to
            convert them.
        masks_left_out: Boxes whose instance mask or polygon was not written (the box itself is):
            VOC detection XML holds boxes only; YOLO labels hold one outline per object, as a
            segment line (none under ``segments=False`` or in the Darknet layout, and none for an
            RLE or a polygon in parts); ``to_coco`` writes masks as RLE through pycocotools
            (counted here when it is not installed). `summary` says which, per format.
        empty_images: Images written without a box; what they became is in `summary`
            (an XML with no object, an empty label file, an image with no annotations).
        fields_left_out: Per-box field name -> boxes whose value (not 0) the target format could
            not hold: ``difficult``/``truncated`` into COCO or YOLO, ``area`` into VOC or YOLO,
            ``iscrowd`` of crowds written as objects, a tool's attributes.
    """

    out_dir: str
    format: str
    images: int = 0
    boxes: int = 0
    classes: list[str] = field(default_factory=list)
    encoded: int = 0
    skipped: list[str] = field(default_factory=list)
    source_problems: list[str] = field(default_factory=list)
    crowd_left_out: int = 0
    source_crowd_left_out: int = 0
    masks_left_out: int = 0
    empty_images: int = 0
    fields_left_out: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def summary(self) -> str:
        """One paragraph for people: what was written, and each thing left out, with why and what keeps it."""
        lines = [
            f"wrote {self.format} to {self.out_dir}: {self.images} images, {self.boxes} boxes, "
            f"{len(self.classes)} classes"
        ]
        if self.encoded:
            lines.append(f"  {self.encoded} images had no file to copy and were written as PNG")
        if self.empty_images:
            written_as = EMPTY_IMAGE_WRITTEN_AS.get(self.format, "an image without boxes")
            lines.append(f"  {self.empty_images} images without boxes, each written as {written_as}")
        if self.source_crowd_left_out:
            lines.append(
                f"  {self.source_crowd_left_out} crowd regions (iscrowd=1) were left out by the source reader "
                "(include_crowd=False, the default): read the source with include_crowd=True to convert them"
            )
        if self.crowd_left_out:
            lines.append(
                f"  {self.crowd_left_out} crowd regions (iscrowd=1) left out: {self.format} has no crowd flag "
                "(include_crowd=True writes them as ordinary objects)"
            )
        if self.masks_left_out:
            if self.format == "coco":
                lines.append(
                    f"  {self.masks_left_out} instance masks left out: writing them as COCO RLE needs "
                    "pycocotools (pip install pycocotools); their boxes were written"
                )
            else:
                reason = _SHAPES_REASON.get(self.format, f"{self.format} holds boxes only")
                lines.append(
                    f"  {self.masks_left_out} instance masks or polygons left out ({reason}); their boxes "
                    f"were written: {_SHAPES_KEPT_BY}"
                )
        if self.fields_left_out:
            shown = ", ".join(
                f"{name} ({count} boxes)" for name, count in sorted(self.fields_left_out.items())
            )
            lines.append(f"  per-box fields {self.format} cannot hold, left out: {shown}")
        for title, items in (("skipped", self.skipped), ("left out by the reader", self.source_problems)):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines += [f"    {item}" for item in items[:20]]
                if len(items) > 20:
                    lines.append(f"    ... and {len(items) - 20} more")
        return "\n".join(lines)


@dataclass
class WriteRecord:
    """One sample as the writers need it."""

    name: str  # relative path of the image in the output
    source: str | None  # the image file to copy, or None
    image: Any  # the decoded image to encode when there is no file
    height: int
    width: int
    boxes: np.ndarray  # (N, 4) xyxy pixels, float64
    labels: np.ndarray  # (N,) int64
    fields: dict[str, np.ndarray]
    image_id: int


def writer_class_names(dataset: Any) -> tuple[list[str], int]:
    """The dataset's class names and the label of the first real class (1 when label 0 is the background)."""
    classes = getattr(dataset, "classes", None)
    if classes is None:
        raise TypeError(
            f"{type(dataset).__name__}: expected a detection dataset with a classes list (the names its labels index)"
        )
    names = [str(name) for name in classes]
    first = 1 if names and names[0] == BACKGROUND else 0
    return names, first


def has_files(dataset: Any) -> bool:
    return hasattr(dataset, "path") and hasattr(dataset, "target") and hasattr(dataset, "boxes")


def source_inputs(dataset: Any) -> list[str]:
    """Every file and folder the source reads: annotation files, image and label folders.

    The output may not be, hold or lie inside any of them. Image folders are collected once per
    folder (not per image), so images listed from outside the root (``allow_outside_root=True``)
    are protected too.
    """
    inputs: list[str] = []
    # A Subset or a ConcatDataset is written sample by sample, but its files are still the inputs:
    # replacing their folder (overwrite=True) would delete them.
    inner = getattr(dataset, "datasets", None) or [getattr(dataset, "dataset", None)]
    for part in inner:
        if part is not None and part is not dataset and not isinstance(part, (str, bytes)):
            inputs += source_inputs(part)
    for attribute in ("annotation_file", "annotations_dir", "csv_file", "labels_dir", "root"):
        value = getattr(dataset, attribute, None)
        if isinstance(value, (str, os.PathLike)) and os.fspath(value):
            inputs.append(os.fspath(value))
    if has_files(dataset):
        folders: dict[str, str] = {}
        for index in range(len(dataset)):
            folders.setdefault(os.path.dirname(dataset.path(index)), dataset.relative_path(index))
        inputs += folders
        label_file = getattr(dataset, "_label_file", None)
        if callable(label_file):  # YOLO: each image folder has a twin folder of label files
            inputs += sorted({os.fspath(Path(label_file(image)).parent) for image in folders.values()})
    return list(dict.fromkeys(inputs))


def write_records(
    dataset: Any, progress: bool, report: ConversionReport, names: list[str], first: int
) -> Iterator[tuple[int, WriteRecord]]:
    """``(index, record)`` of each sample that can be written; the others are listed in ``report.skipped``."""
    from tqdm.auto import tqdm

    report.source_problems = list(getattr(dataset, "problems", []) or [])
    from_files = has_files(dataset)
    for index in tqdm(
        range(len(dataset)), desc="converting", unit="image", disable=not progress, file=sys.stderr
    ):
        try:
            record = _file_record(dataset, index) if from_files else _decoded_record(dataset, index)
            check_labels(record, names, first)
        except (OSError, ValueError) as error:
            report.skipped.append(f"sample {index}: {error}")
            continue
        yield index, record


def _refuse_transform(dataset: Any) -> None:
    if has_files(dataset) and getattr(dataset, "transform", None) is not None:
        raise ValueError(
            f"{type(dataset).__name__} has a transform: the files are copied as they are, so their boxes must be "
            "too; build the dataset without transform= to convert it"
        )


def _file_record(dataset: Any, index: int) -> WriteRecord:
    source = dataset.path(index)
    # The file is copied only if the dataset itself would read it: a link from inside the root to a
    # file outside it is refused here as it is by __getitem__ (skipped and reported, like an unreadable file).
    if not getattr(dataset, "allow_outside_root", True) and hasattr(dataset, "_check_inside_root"):
        dataset._check_inside_root(source)
    height, width = image_size(source)
    boxes = np.asarray(dataset.boxes(index), dtype=np.float64).reshape(-1, 4)
    index_of_boxes = getattr(dataset, "index", None)
    if index_of_boxes is not None and getattr(index_of_boxes, "normalized", False):
        boxes = boxes * (width, height, width, height)
    target = dataset.target(index)
    return WriteRecord(
        dataset.relative_path(index),
        source,
        None,
        height,
        width,
        boxes,
        np.asarray(target["labels"], dtype=np.int64),
        _per_box_fields(target, len(boxes)),
        _image_id(target, index),
    )


def _per_box_fields(target: dict[str, Any], count: int) -> dict[str, np.ndarray]:
    """The target's fields with one row per box (``masks`` included: ``to_coco`` writes them as RLE)."""
    return {
        key: np.asarray(value)
        for key, value in target.items()
        if key not in ("labels", "boxes", "image_id") and hasattr(value, "__len__") and len(value) == count
    }


def _image_id(target: dict[str, Any], index: int) -> int:
    """The target's integer ``image_id``, else the sample's index."""
    image_id = target.get("image_id", index)
    return int(image_id) if isinstance(image_id, (int, np.integer)) else index


def _decoded_record(dataset: Any, index: int) -> WriteRecord:
    from torchvision import tv_tensors

    image, target = dataset[index]
    if not isinstance(target, dict) or "boxes" not in target:
        raise ValueError("not a detection sample: expected (image, {'boxes': ..., 'labels': ...})")
    boxes = target["boxes"]
    if isinstance(boxes, tv_tensors.BoundingBoxes) and boxes.format.name != "XYXY":
        from torchvision.transforms.v2 import functional

        boxes = functional.convert_bounding_box_format(boxes, new_format=tv_tensors.BoundingBoxFormat.XYXY)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    height, width = (int(side) for side in image.shape[-2:])
    return WriteRecord(
        f"{index:08d}.png",
        None,
        image,
        height,
        width,
        boxes,
        np.asarray(target["labels"], dtype=np.int64),
        _per_box_fields(target, len(boxes)),
        _image_id(target, index),
    )


def check_labels(record: WriteRecord, names: list[str], first: int) -> None:
    """Refuse a sample whose labels are not the dataset's classes (they would be written as another class)."""
    if len(record.labels) != len(record.boxes):
        raise ValueError(
            f"{record.name}: expected one label per box, got {len(record.labels)} labels for "
            f"{len(record.boxes)} boxes"
        )
    wrong = [label for label in record.labels.tolist() if not first <= label < len(names)]
    if wrong:
        raise ValueError(
            f"{record.name}: label {wrong[0]}: expected a label of one of the classes "
            f"({first}..{len(names) - 1}), got {wrong[0]}; labels index the dataset's classes list"
        )


def without_crowd(
    record: WriteRecord, include_crowd: bool, report: ConversionReport, note: bool = True
) -> WriteRecord:
    """``record`` without its crowd regions (``iscrowd`` not 0), counted in ``report.crowd_left_out``.

    YOLO and VOC have no crowd flag: a crowd region written there becomes an ordinary object, which a
    detector then learns as one instance (datumaro and Ultralytics leave crowds out of YOLO for that
    reason). ``include_crowd=True`` keeps them as objects. With ``note`` (the default), the record
    returned is taken to be the one written: `note_losses` counts its losses for ``report.format``.
    """
    crowd = record.fields.get("iscrowd")
    if not include_crowd and crowd is not None and np.any(crowd):
        keep = np.asarray(crowd).reshape(-1) == 0
        report.crowd_left_out += int(np.count_nonzero(~keep))
        record = WriteRecord(
            record.name,
            record.source,
            record.image,
            record.height,
            record.width,
            record.boxes[keep],
            record.labels[keep],
            {key: value[keep] for key, value in record.fields.items()},
            record.image_id,
        )
    if note:
        note_losses(record, report)
    return record


def note_losses(record: WriteRecord, report: ConversionReport) -> None:
    """Count what ``report.format`` cannot hold of ``record`` (the sample as written).

    An image without boxes is counted in ``empty_images``; each per-box field the format does not
    hold (`KEPT_FIELDS`), in ``fields_left_out`` by name, for the boxes where it is not 0 (a 0
    ``difficult`` or ``iscrowd`` loses nothing). ``masks`` and the private ``_shape`` mark are
    counted apart (``masks_left_out``).
    """
    count = len(record.boxes)
    if count == 0:
        report.empty_images += 1
        return
    kept = KEPT_FIELDS.get(report.format, ())
    for name, value in record.fields.items():
        if name in kept or name == "masks" or name.startswith("_"):
            continue
        try:
            rows = np.asarray(value).reshape(count, -1)
            carrying = int(np.count_nonzero(rows.astype(bool).any(axis=1)))
        except (TypeError, ValueError):  # values numpy cannot test for zero: every box carries one
            carrying = count
        if carrying:
            report.fields_left_out[name] = report.fields_left_out.get(name, 0) + carrying


def mark_shapes(dataset: Any, index: int, record: WriteRecord) -> None:
    """Add ``record.fields["_shape"]``: per box, whether the source has an instance mask or polygon for it.

    A writer whose format holds boxes only counts these (``masks_left_out``) once crowd regions are
    left out (the mark follows the boxes). The shapes are those of a reader with files:
    ``polygons(index)`` (pixel ``(K, 2)`` arrays, None for a rectangle: COCO, CVAT, LabelMe, Label
    Studio, YOLO segment lines) and ``mask_only(index)`` (a shape with no single outline: a COCO RLE
    or polygon in parts, a CVAT ``<mask>``); or the ``masks`` of a decoded sample (a mask with no
    pixel set is no shape).
    """
    count = len(record.boxes)
    shaped = np.zeros(count, dtype=bool)
    if has_files(dataset):
        polygons, mask_only = getattr(dataset, "polygons", None), getattr(dataset, "mask_only", None)
        if callable(polygons):
            for box, points in enumerate(list(polygons(index))[:count]):
                shaped[box] |= points is not None and len(points) >= 3
        if callable(mask_only):
            for box, flag in enumerate(list(mask_only(index))[:count]):
                shaped[box] |= bool(flag)
    masks = record.fields.get("masks")
    if masks is not None and masks.ndim == 3 and len(masks) == count:
        shaped |= masks.reshape(count, -1).any(axis=1)
    record.fields["_shape"] = shaped


def shapes_left_out(record: WriteRecord, report: ConversionReport) -> None:
    """Count the boxes of ``record`` marked by `mark_shapes` in ``report.masks_left_out`` (and drop the mark)."""
    shaped = record.fields.pop("_shape", None)
    if shaped is not None:
        report.masks_left_out += int(np.count_nonzero(shaped))


def image_size(path: str) -> tuple[int, int]:
    """``(height, width)`` of an image file as [`visiondata.io.read_image`][visiondata.io.read_image] decodes it (EXIF rotation applied)."""
    from PIL import Image

    from visiondata.io._read import check_regular_file

    check_regular_file(path)  # a FIFO would block Image.open until a writer appears
    with Image.open(path) as image:
        width, height = image.size
        # EXIF orientations 5 to 8 turn the image by 90 degrees: read_image swaps the sides.
        if image.getexif().get(0x0112) in (5, 6, 7, 8):
            width, height = height, width
    return height, width


def place_image(record: WriteRecord, destination: Path, images: str, report: ConversionReport) -> None:
    """Put the image of ``record`` at ``destination``, a fresh path inside the staging folder.

    Nothing outside the staging folder is touched: the names are unique, so no file is ever replaced,
    and a source can never be its own destination.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    if record.source is None:
        _encode_png(record.image, destination)
        report.encoded += 1
    elif images == "symlink":
        os.symlink(os.path.abspath(record.source), destination)
    elif images == "link":
        try:
            os.link(record.source, destination)
        except OSError:  # another file system: a hard link is impossible, copy instead
            shutil.copyfile(record.source, destination)
    else:
        shutil.copyfile(record.source, destination)


def unique_name(name: str, taken: set[str], suffix: str) -> str:
    """``name``, or ``<stem>_2<suffix>``, ``_3``... if taken; the result is added to ``taken``."""
    candidate, number = name, 2
    stem = name[: len(name) - len(suffix)] if suffix else name
    while candidate in taken:
        candidate = f"{stem}_{number}{suffix}"
        number += 1
    taken.add(candidate)
    return candidate


_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_name(name: str, drop: tuple[str, ...] = ()) -> PurePosixPath:
    """``name`` as a relative path that stays inside the output folder.

    An absolute path or one leaving the root (allowed by ``allow_outside_root=True``) would otherwise
    place the copy outside the output, or onto the source itself: the anchor and ``..``/``.`` parts are
    left out, as are the parts in ``drop``; control characters become ``_``.

    Examples:
        >>> safe_name("/data/../x/a.jpg").as_posix()
        'data/x/a.jpg'
    """
    parts = [
        _UNSAFE_CHARACTERS.sub("_", part)
        for part in Path(name).parts
        if part not in ("", ".", "..", *drop) and not Path(part).anchor
    ]
    return PurePosixPath(*parts) if parts else PurePosixPath("image")


def unique_key(name: PurePosixPath, taken: set[str]) -> PurePosixPath:
    """``name``, or ``<stem>_2<suffix>``... so that no other name taken has the same path without its suffix.

    YOLO finds a label file by the image's path without its suffix: ``a.png`` and ``a.jpg`` would share
    ``a.txt``, so the second image is renamed (image and label file together).
    """
    stem, suffix, number = name.stem, name.suffix, 2
    candidate = name
    while candidate.with_suffix("").as_posix() in taken:
        candidate = name.with_name(f"{stem}_{number}{suffix}")
        number += 1
    taken.add(candidate.with_suffix("").as_posix())
    return candidate


def _encode_png(image: Any, destination: Path) -> None:
    from PIL import Image

    from visiondata.viz._draw import displayable

    array = displayable(image).permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    destination.write_bytes(buffer.getvalue())


def check_images_mode(images: str) -> str:
    """``images`` (a writer's ``images=`` argument) if it is one of `IMAGE_MODES`.

    Raises:
        ValueError: It is not; the message lists the modes.
    """
    return check_choice("images", images, IMAGE_MODES)


def check_split_name(split: object, argument: str = "split") -> str:
    """``split`` if it is a plain name usable as a file or folder name; anything else is a named error.

    A split names a file or folder inside the dataset (``ImageSets/Main/<split>.txt``,
    ``images/<split>/``): a path separator or ``..`` would lead outside it.

    Raises:
        DatasetFormatError: Not a plain name.

    Examples:
        >>> check_split_name("val")
        'val'
        >>> check_split_name("../x")
        Traceback (most recent call last):
        ...
        visiondata.exceptions.DatasetFormatError: split: expected a plain name (such as 'train' or 'val'), got '../x'; ...
    """
    text = split if isinstance(split, str) else None
    bad = (
        text is None
        or not text.strip()
        or text != text.strip()
        or text in (".", "..")
        or any(character in text for character in ("/", "\\", "%", os.sep, os.altsep or "/"))
        or _UNSAFE_CHARACTERS.search(text) is not None
    )
    if bad:
        raise DatasetFormatError(
            f"{argument}: expected a plain name (such as 'train' or 'val'), got {split!r}; a split names a "
            "file or folder inside the dataset, so it may not hold a path separator, '..', '%', control "
            "characters or surrounding spaces"
        )
    return text  # type: ignore[return-value]


class StagedOutput:
    """The staging folder being filled, and the relative paths written into it (for the manifest)."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        self.files: list[str] = []

    def path(self, relative: str | PurePosixPath) -> Path:
        self.files.append(PurePosixPath(relative).as_posix())
        return self.staging / relative

    def write_text(self, relative: str | PurePosixPath, text: str) -> None:
        path = self.path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def write_manifest(output: StagedOutput, report: ConversionReport, dataset: Any, inputs: list[str]) -> None:
    """``MANIFEST_NAME``, written last: a folder holding it is a complete conversion."""
    from visiondata._version import __version__

    manifest = {
        "visiondata_conversion": 1,
        "visiondata_version": __version__,
        "format": report.format,
        "complete": True,
        "images": report.images,
        "boxes": report.boxes,
        "classes": report.classes,
        "encoded": report.encoded,
        "skipped": len(report.skipped),
        "crowd_left_out": report.crowd_left_out,
        "source_crowd_left_out": report.source_crowd_left_out,
        "masks_left_out": report.masks_left_out,
        "empty_images": report.empty_images,
        "fields_left_out": report.fields_left_out,
        "source": {"type": type(dataset).__name__, "paths": [os.path.abspath(path) for path in inputs[:8]]},
        "files": output.files,
    }
    (output.staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def start_writing(
    dataset: Any, out_dir: str | os.PathLike[str], fmt: str, images: str
) -> tuple[list[str], int, Path, ConversionReport, list[str]]:
    check_images_mode(images)
    names, first = writer_class_names(dataset)
    _refuse_transform(dataset)
    refuse_special_output(out_dir)
    out = Path(out_dir)
    report = ConversionReport(str(out), fmt, classes=names[first:])
    # Crowd regions a reader left out (include_crowd=False) are no samples: say so, or they vanish unseen.
    left_out = getattr(dataset, "crowd_left_out", 0)
    report.source_crowd_left_out = int(left_out) if isinstance(left_out, (int, np.integer)) else 0
    return names, first, out, report, source_inputs(dataset)


def count_rotated(quads: np.ndarray) -> int:
    """How many ``(N, 8)`` quadrilaterals are not axis-aligned rectangles (their enclosing box loses them)."""
    from visiondata.boxes import box_area

    quads = np.asarray(quads, dtype=np.float64).reshape(-1, 8)
    if not len(quads):
        return 0
    sides = np.stack([np.ptp(quads[:, 0::2], axis=1), np.ptp(quads[:, 1::2], axis=1)], axis=1)
    kept = np.abs(np.asarray(box_area(quads, "xyxyxyxy")))
    return int(np.count_nonzero(kept < sides.prod(1) * (1 - 1e-6)))


def note_oriented_left_out(dataset: Any, index: int, written: int, report: ConversionReport) -> None:
    """Count, in ``fields_left_out["oriented_boxes"]``, the oriented boxes of sample ``index`` (DOTA,
    YOLO-OBB) that a format of axis-aligned boxes holds only as their enclosing box.

    ``written`` is how many boxes the sample writes; when crowd regions were left out the rows no
    longer match the source's and nothing is counted (oriented sources have no crowd flag).
    """
    oriented_of = getattr(dataset, "oriented_boxes", None)
    if not callable(oriented_of) or not has_files(dataset):
        return
    quads = oriented_of(index)
    if quads is None or len(quads) != written:
        return
    lost = count_rotated(quads)
    if lost:
        report.fields_left_out["oriented_boxes"] = report.fields_left_out.get("oriented_boxes", 0) + lost
