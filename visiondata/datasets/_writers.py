"""``to_coco``, ``to_voc``, ``to_yolo``: write any detection dataset in a standard on-disk format.

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
import math
import os
import re
import shutil
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from visiondata._files import refuse_special_output, staged_output_dir
from visiondata.datasets._base import BACKGROUND
from visiondata.exceptions import DatasetFormatError

IMAGE_MODES = ("copy", "link", "symlink")
#: Written last into every output folder: the format, the counts, the files written and the source.
MANIFEST_NAME = "visiondata-conversion.json"


@dataclass
class ConversionReport:
    """What a writer wrote.

    Attributes:
        out_dir: The output folder.
        format: ``"coco"``, ``"voc"`` or ``"yolo"``.
        images: Images written.
        boxes: Boxes written.
        classes: Class names written (without the background).
        encoded: Images written as PNG because the source had no file to copy.
        skipped: Samples left out, one line each with the reason.
        source_problems: Annotation problems the source reader left out (its ``problems``).
        crowd_left_out: Crowd regions (``iscrowd=1``) not written: YOLO and VOC have no crowd flag, so
            ``to_yolo`` and ``to_voc`` leave them out unless ``include_crowd=True`` (COCO keeps them).
        masks_left_out: Instance masks not written: ``to_coco`` writes a source's masks as RLE through
            pycocotools, and counts them here when it is not installed.
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
    masks_left_out: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    def summary(self) -> str:
        """One paragraph for people."""
        lines = [
            f"wrote {self.format} to {self.out_dir}: {self.images} images, {self.boxes} boxes, "
            f"{len(self.classes)} classes"
        ]
        if self.encoded:
            lines.append(f"  {self.encoded} images had no file to copy and were written as PNG")
        if self.crowd_left_out:
            lines.append(
                f"  {self.crowd_left_out} crowd regions (iscrowd=1) left out: {self.format} has no crowd flag "
                "(include_crowd=True writes them as ordinary objects)"
            )
        if self.masks_left_out:
            lines.append(
                f"  {self.masks_left_out} instance masks left out: writing them as COCO RLE needs pycocotools "
                "(pip install pycocotools)"
            )
        for title, items in (("skipped", self.skipped), ("left out by the reader", self.source_problems)):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines += [f"    {item}" for item in items[:20]]
                if len(items) > 20:
                    lines.append(f"    ... and {len(items) - 20} more")
        return "\n".join(lines)


@dataclass
class _Record:
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


def _class_names(dataset: Any) -> tuple[list[str], int]:
    """The dataset's class names and the label of the first real class (1 when label 0 is the background)."""
    classes = getattr(dataset, "classes", None)
    if classes is None:
        raise TypeError(
            f"{type(dataset).__name__}: expected a detection dataset with a classes list (the names its labels index)"
        )
    names = [str(name) for name in classes]
    first = 1 if names and names[0] == BACKGROUND else 0
    return names, first


def _has_files(dataset: Any) -> bool:
    return hasattr(dataset, "path") and hasattr(dataset, "target") and hasattr(dataset, "boxes")


def _source_inputs(dataset: Any) -> list[str]:
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
            inputs += _source_inputs(part)
    for attribute in ("annotation_file", "annotations_dir", "csv_file", "labels_dir", "root"):
        value = getattr(dataset, attribute, None)
        if isinstance(value, (str, os.PathLike)) and os.fspath(value):
            inputs.append(os.fspath(value))
    if _has_files(dataset):
        folders: dict[str, str] = {}
        for index in range(len(dataset)):
            folders.setdefault(os.path.dirname(dataset.path(index)), dataset.relative_path(index))
        inputs += folders
        label_file = getattr(dataset, "_label_file", None)
        if callable(label_file):  # YOLO: each image folder has a twin folder of label files
            inputs += sorted({os.fspath(Path(label_file(image)).parent) for image in folders.values()})
    return list(dict.fromkeys(inputs))


def _records(
    dataset: Any, progress: bool, report: ConversionReport, names: list[str], first: int
) -> Iterator[tuple[int, _Record]]:
    """``(index, record)`` of each sample that can be written; the others are listed in ``report.skipped``."""
    from tqdm.auto import tqdm

    report.source_problems = list(getattr(dataset, "problems", []) or [])
    has_files = _has_files(dataset)
    for index in tqdm(
        range(len(dataset)), desc="converting", unit="image", disable=not progress, file=sys.stderr
    ):
        try:
            record = _file_record(dataset, index) if has_files else _decoded_record(dataset, index)
            _check_labels(record, names, first)
        except (OSError, ValueError) as error:
            report.skipped.append(f"sample {index}: {error}")
            continue
        yield index, record


def _refuse_transform(dataset: Any) -> None:
    if _has_files(dataset) and getattr(dataset, "transform", None) is not None:
        raise ValueError(
            f"{type(dataset).__name__} has a transform: the files are copied as they are, so their boxes must be "
            "too; build the dataset without transform= to convert it"
        )


def _file_record(dataset: Any, index: int) -> _Record:
    source = dataset.path(index)
    # The file is copied only if the dataset itself would read it: a link from inside the root to a
    # file outside it is refused here as it is by __getitem__ (skipped and reported, like an unreadable file).
    if not getattr(dataset, "allow_outside_root", True) and hasattr(dataset, "_check_inside_root"):
        dataset._check_inside_root(source)
    height, width = _image_size(source)
    boxes = np.asarray(dataset.boxes(index), dtype=np.float64).reshape(-1, 4)
    index_of_boxes = getattr(dataset, "index", None)
    if index_of_boxes is not None and getattr(index_of_boxes, "normalized", False):
        boxes = boxes * (width, height, width, height)
    target = dataset.target(index)
    fields = {
        key: np.asarray(value)
        for key, value in target.items()
        if key not in ("labels", "boxes", "image_id")
        and hasattr(value, "__len__")
        and len(value) == len(boxes)
    }
    image_id = target.get("image_id", index)
    return _Record(
        dataset.relative_path(index),
        source,
        None,
        height,
        width,
        boxes,
        np.asarray(target["labels"], dtype=np.int64),
        fields,
        int(image_id) if isinstance(image_id, (int, np.integer)) else index,
    )


def _decoded_record(dataset: Any, index: int) -> _Record:
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
    fields = {
        key: np.asarray(value)
        for key, value in target.items()
        # "masks" included: to_coco writes them (as RLE); the other writers ignore them.
        if key not in ("labels", "boxes", "image_id")
        and hasattr(value, "__len__")
        and len(value) == len(boxes)
    }
    image_id = target.get("image_id", index)
    return _Record(
        f"{index:08d}.png",
        None,
        image,
        height,
        width,
        boxes,
        np.asarray(target["labels"], dtype=np.int64),
        fields,
        int(image_id) if isinstance(image_id, (int, np.integer)) else index,
    )


def _check_labels(record: _Record, names: list[str], first: int) -> None:
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


def _without_crowd(record: _Record, include_crowd: bool, report: ConversionReport) -> _Record:
    """``record`` without its crowd regions (``iscrowd`` not 0), counted in ``report.crowd_left_out``.

    YOLO and VOC have no crowd flag: a crowd region written there becomes an ordinary object, which a
    detector then learns as one instance (datumaro and Ultralytics leave crowds out of YOLO for that
    reason). ``include_crowd=True`` keeps them as objects.
    """
    crowd = record.fields.get("iscrowd")
    if include_crowd or crowd is None or not np.any(crowd):
        return record
    keep = np.asarray(crowd).reshape(-1) == 0
    report.crowd_left_out += int(np.count_nonzero(~keep))
    return _Record(
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


def _image_size(path: str) -> tuple[int, int]:
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


def _place_image(record: _Record, destination: Path, images: str, report: ConversionReport) -> None:
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


def _unique(name: str, taken: set[str], suffix: str) -> str:
    """``name``, or ``<stem>_2<suffix>``, ``_3``... if taken; the result is added to ``taken``."""
    candidate, number = name, 2
    stem = name[: len(name) - len(suffix)] if suffix else name
    while candidate in taken:
        candidate = f"{stem}_{number}{suffix}"
        number += 1
    taken.add(candidate)
    return candidate


_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe_name(name: str, drop: tuple[str, ...] = ()) -> PurePosixPath:
    """``name`` as a relative path that stays inside the output folder.

    An absolute path or one leaving the root (allowed by ``allow_outside_root=True``) would otherwise
    place the copy outside the output, or onto the source itself: the anchor and ``..``/``.`` parts are
    left out, as are the parts in ``drop``; control characters become ``_``.

    Examples:
        >>> _safe_name("/data/../x/a.jpg").as_posix()
        'data/x/a.jpg'
    """
    parts = [
        _UNSAFE_CHARACTERS.sub("_", part)
        for part in Path(name).parts
        if part not in ("", ".", "..", *drop) and not Path(part).anchor
    ]
    return PurePosixPath(*parts) if parts else PurePosixPath("image")


def _unique_key(name: PurePosixPath, taken: set[str]) -> PurePosixPath:
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


def _check_images_mode(images: str) -> None:
    if images not in IMAGE_MODES:
        raise ValueError(f"images: expected one of {', '.join(map(repr, IMAGE_MODES))}, got {images!r}")


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


def _xml_problem(text: str) -> str | None:
    """Why ``text`` would not read back the same from a VOC XML element, or ``None``."""
    if text != text.strip() or not text:
        return "an empty name or surrounding spaces (the reader strips them)"
    for character in text:
        code = ord(character)
        if unicodedata.category(character) in ("Cc", "Cs") or code in (0xFFFE, 0xFFFF):
            return f"the character U+{code:04X}, which XML 1.0 cannot hold"
    return None


def _voc_pixels(low: float, high: float, side: int) -> tuple[int, int]:
    """VOC's 1-based inclusive pixels ``(first, last)`` for the 0-based corners ``low..high`` on ``side`` pixels.

    Corners are rounded half up (``round`` would round 2.5 down and 3.5 up, closing a 1-pixel box),
    kept within ``1..side`` and at least one pixel apart; a box at least one pixel wide reads back
    (``x_min = first - 1``, ``x_max = last``) within 0.5 pixel.

    Examples:
        >>> _voc_pixels(2.3, 20.9, 64), _voc_pixels(63.7, 64.0, 64), _voc_pixels(1.5, 2.5, 64)
        ((3, 21), (64, 64), (3, 3))
    """
    side = max(int(side), 1)
    start = min(max(math.floor(low + 0.5), 0), side - 1)
    end = min(max(math.floor(high + 0.5), start + 1), side)
    start = min(start, end - 1)
    return start + 1, end


def _category_ids(dataset: Any, names: list[str], first: int) -> dict[int, int]:
    """Label -> COCO category id: distinct ids, a COCO source's own where it has one for the class.

    A class list given by hand can hold names the file lacks: they get ``label + 1 - first`` when that
    id is free, else the next id above every other, so no two categories share an id.
    """
    from visiondata.datasets._coco import CocoDetectionDataset

    # Only a COCO source has COCO ids to keep (YOLO's class ids start at 0, COCO's at 1).
    kept = list(getattr(dataset, "category_ids", [])) if isinstance(dataset, CocoDetectionDataset) else []
    category_of: dict[int, int] = {}
    used: set[int] = set()
    for label in range(first, len(names)):
        wanted = kept[label] if label < len(kept) else None
        if wanted is not None and int(wanted) not in used:
            category_of[label] = int(wanted)
            used.add(int(wanted))
    for label in range(first, len(names)):
        if label in category_of:
            continue
        number = label + 1 - first
        if number in used:
            number = max(used) + 1
        category_of[label] = number
        used.add(number)
    return category_of


class _Output:
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


def _write_manifest(output: _Output, report: ConversionReport, dataset: Any, inputs: list[str]) -> None:
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
        "masks_left_out": report.masks_left_out,
        "source": {"type": type(dataset).__name__, "paths": [os.path.abspath(path) for path in inputs[:8]]},
        "files": output.files,
    }
    (output.staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


def _start(
    dataset: Any, out_dir: str | os.PathLike[str], fmt: str, images: str
) -> tuple[list[str], int, Path, ConversionReport, list[str]]:
    _check_images_mode(images)
    names, first = _class_names(dataset)
    _refuse_transform(dataset)
    refuse_special_output(out_dir)
    out = Path(out_dir)
    return names, first, out, ConversionReport(str(out), fmt, classes=names[first:]), _source_inputs(dataset)


def to_coco(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    progress: bool = False,
    overwrite: bool = False,
) -> ConversionReport:
    """Write a detection dataset as COCO: ``out_dir/images/...`` and ``out_dir/annotations.json``.

    COCO holds everything the readers give (boxes, crowd regions, areas,
    polygons and masks), so nothing is left out: the report's
    ``crowd_left_out`` is 0 and every box is written.

    From a [`CocoDetectionDataset`][visiondata.datasets.CocoDetectionDataset]
    the conversion is lossless: the annotation file is read again and each
    annotation written back as the file has it (its ``segmentation``,
    polygons or RLE, compressed or not, its ``id``, ``area``, ``iscrowd``,
    ``bbox`` numbers and any other keys), with the file's image ids and
    category ids; the top-level keys other than ``images``, ``annotations``
    and ``categories`` (``info``, ``licenses``...) and the other keys of
    each image and category record are carried over as written. Only
    what the reader changed differs: a box it snapped onto the image's
    border is written as it holds it, ``file_name``, ``width`` and
    ``height`` are those of the image written, and annotations or images it
    left out (its ``problems``) are not written. Annotations keep the
    file's order. An annotation file changed since the dataset read it is
    refused (build the dataset again).

    From other sources: category ids are the labels themselves when label
    0 is the background, else label + 1 (COCO ids start at 1; always
    distinct); image ids 1, 2, 3..., annotation ids 1, 2, 3... Numbers are
    written as the shortest decimal that reads back as the float32 the
    source holds (``343.2``, not ``343.20001220703125``). A YOLO source's
    polygons (segment lines) become polygon segmentations in pixels; masks
    of a source that gives them (``"masks"`` in its samples) become
    compressed RLE (needs pycocotools; without it they are counted in the
    report's ``masks_left_out``); a box without either has no
    ``segmentation``. ``iscrowd`` and ``area`` come from the source's
    fields when it has them. Two images that would take the same name (a
    path leaving the root, made relative) are kept apart as ``a_2.jpg``.

    The output is built beside ``out_dir`` and renamed into place when complete, with
    ``visiondata-conversion.json`` written last (see the module's description).

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"`` the image files, hard-``"link"`` them, or ``"symlink"`` them (absolute links).
        progress: Show a progress bar.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).

    Returns:
        A [`ConversionReport`][visiondata.datasets.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: The source's annotation file (COCO) changed since the dataset read it.

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import CSVDetectionDataset
        >>> root, out = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp()) / "coco"
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\\na.png,1,2.2,5,6,cat\\n")
        >>> report = to_coco(CSVDetectionDataset(root / "boxes.csv", root), out)
        >>> json.loads((out / "annotations.json").read_text())["annotations"][0]["bbox"]
        [1.0, 2.2, 4.0, 3.8]
    """
    from visiondata.datasets._coco import CocoDetectionDataset

    names, first, out, report, inputs = _start(dataset, out_dir, "coco", images)
    source = dataset._source_records() if isinstance(dataset, CocoDetectionDataset) else None
    category_of = _category_ids(dataset, names, first)
    coco_images: list[dict[str, Any]] = []
    annotations: list[tuple[int, dict[str, Any]]] = []  # (the source file's order, annotation)
    next_id = 1
    if source is not None and len(dataset._annotation_ids):
        next_id = max(int(dataset._annotation_ids.max()), 0) + 1  # for annotations the file gave no id
    taken: set[str] = set()
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = _Output(staging)
        for index, record in _records(dataset, progress, report, names, first):
            image_id = record.image_id if source is not None else len(coco_images) + 1
            name = _unique(_safe_name(record.name).as_posix(), taken, PurePosixPath(record.name).suffix)
            _place_image(record, output.path(f"images/{name}"), images, report)
            image = dict(source.images.get(image_id, {})) if source is not None else {}
            image.update({"id": image_id, "file_name": name, "width": record.width, "height": record.height})
            coco_images.append(image)
            written = _coco_annotations(dataset, index, record, source, report)
            for box, (order, annotation) in enumerate(written):
                if annotation.get("id", -1) == -1:
                    annotation["id"] = next_id
                    next_id += 1
                annotation["image_id"] = image_id
                annotation["category_id"] = category_of[int(record.labels[box])]
                annotations.append((order if source is not None else len(annotations), annotation))
            report.images += 1
            report.boxes += len(record.boxes)
        categories = []
        for label in range(first, len(names)):
            category = dict(source.categories.get(category_of[label], {})) if source is not None else {}
            category.update({"id": category_of[label], "name": names[label]})
            categories.append(category)
        written_annotations = [annotation for _, annotation in sorted(annotations, key=lambda item: item[0])]
        content = {"images": coco_images, "annotations": written_annotations, "categories": categories}
        if source is not None:
            # The file's own top-level keys (info, licenses...) as written, in the file's order.
            ordered = {key: content[key] if key in content else source.extras[key] for key in source.keys}
            content = {**ordered, **{key: value for key, value in content.items() if key not in ordered}}
        output.write_text("annotations.json", json.dumps(content, ensure_ascii=False))
        _write_manifest(output, report, dataset, inputs)
    return report


def _short(value: float) -> float:
    """The shortest decimal that reads back as ``value``'s float32, as a float (what the index holds).

    Examples:
        >>> _short(343.20001220703125), _short(2.0), _short(0.1)
        (343.2, 2.0, 0.1)
    """
    return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))


def _short_bbox(box: list[float]) -> list[float]:
    """``[x, y, w, h]`` of the stored ``xyxy`` ``box`` in the shortest decimals that read back as it.

    The reader computes ``x + w`` in float64 and stores it as float32: ``w`` is the shortest decimal
    for which that gives the stored corner (``10.1 + 20.7``, not ``20.699999``).

    Examples:
        >>> _short_bbox([float(np.float32(900.3)), float(np.float32(10.1)), 1000.0, float(np.float32(30.8))])
        [900.3, 10.1, 99.7, 20.7]
    """
    x, y = _short(box[0]), _short(box[1])
    return [x, y, _short_side(x, box[2]), _short_side(y, box[3])]


def _short_side(start: float, end: float) -> float:
    """The shortest decimal ``side`` with ``float32(start + side) == float32(end)`` (``start`` as written)."""
    target = np.float32(end)
    difference = float(end) - start
    for digits in range(10):
        side = round(difference, digits)
        if np.float32(start + side) == target:
            return side
    return difference


def _same_box(bbox: Any, box: np.ndarray) -> bool:
    """Whether the file's ``bbox`` ``[x, y, w, h]`` is the stored ``xyxy`` ``box`` (not snapped by the reader)."""
    if not isinstance(bbox, list) or len(bbox) != 4:
        return False
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in bbox):
        return False
    x, y, w, h = (float(value) for value in bbox)
    corners = np.array([x, y, x + w, y + h], dtype=np.float64).astype(np.float32)
    return bool(np.array_equal(corners, np.asarray(box, dtype=np.float32)))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _coco_annotations(
    dataset: Any, index: int, record: _Record, source: Any, report: ConversionReport
) -> list[tuple[int, dict[str, Any]]]:
    """``(order, annotation)`` of each box of ``record``, without ``image_id`` and ``category_id``.

    From a COCO source (``source``, its `SourceRecords`), each box's annotation as the file has it,
    ``order`` its place in the file; otherwise built from the record (``order`` unused).
    """
    count = len(record.boxes)
    shortest_bbox = [_short_bbox(box) for box in record.boxes.tolist()]
    crowd = record.fields.get("iscrowd", np.zeros(count, dtype=np.int64)).reshape(-1)
    # Without a source's area: the area of the box as written (what a COCO reader would compute).
    sides = np.array([bbox[2:] for bbox in shortest_bbox], dtype=np.float64).reshape(-1, 2)
    area = np.asarray(record.fields.get("area", sides[:, 0] * sides[:, 1]), dtype=np.float64).reshape(-1)
    if source is not None:
        position = index % len(dataset)
        start, end = int(dataset.index.offsets[position]), int(dataset.index.offsets[position + 1])
        rows, ids = dataset._annotation_rows[start:end].tolist(), dataset._annotation_ids[start:end].tolist()
        written = []
        for box, (row, identifier) in enumerate(zip(rows, ids, strict=True)):
            annotation = source.annotation(row)  # as written: segmentation, numbers, other keys
            annotation["id"] = identifier
            if not _same_box(annotation.get("bbox"), record.boxes[box]):
                annotation["bbox"] = shortest_bbox[box]  # snapped onto the border by the reader
            if not _is_number(annotation.get("area")):
                annotation["area"] = _short(area[box])
            if "iscrowd" not in annotation:
                annotation["iscrowd"] = int(crowd[box])
            written.append((row, annotation))
        return written
    segmentations = _segmentations(dataset, index, record, report)
    written = []
    for box in range(count):
        annotation: dict[str, Any] = {
            "id": -1,
            "bbox": shortest_bbox[box],
            "area": _short(area[box]),
            "iscrowd": int(crowd[box]),
        }
        if segmentations[box] is not None:
            annotation["segmentation"] = segmentations[box]
        written.append((box, annotation))
    return written


def _segmentations(dataset: Any, index: int, record: _Record, report: ConversionReport) -> list[Any]:
    """Each box's COCO segmentation from a source that is not COCO, or None where it has none.

    A YOLO source's polygons (normalised points) become polygons in pixels; masks in the samples
    (``"masks"``, ``N x H x W``) become compressed RLE through pycocotools (counted in
    ``report.masks_left_out`` when it is not installed).
    """
    count = len(record.boxes)
    found: list[Any] = [None] * count
    polygons = getattr(dataset, "polygons", None)
    if callable(polygons) and _has_files(dataset):
        scale = np.array([record.width, record.height], dtype=np.float64)
        for box, points in enumerate(polygons(index)):
            if points is not None and len(points) >= 3:
                pixels = np.asarray(points, dtype=np.float64).reshape(-1, 2) * scale
                found[box] = [[_short(value) for value in pixels.reshape(-1).tolist()]]
    masks = record.fields.get("masks")
    if masks is not None and masks.ndim == 3 and len(masks) == count:
        try:
            from pycocotools import mask as coco_mask
        except ImportError:
            report.masks_left_out += sum(1 for value in found if value is None)
            return found
        for box in range(count):
            if found[box] is None:
                rle = coco_mask.encode(np.asfortranarray(masks[box].astype(np.uint8)))
                found[box] = {
                    "size": [int(side) for side in rle["size"]],
                    "counts": rle["counts"].decode("ascii"),
                }
    return found


def to_voc(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    split: str = "train",
    progress: bool = False,
    overwrite: bool = False,
    include_crowd: bool = False,
) -> ConversionReport:
    """Write a detection dataset as Pascal VOC: ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``.

    ``labelmap.txt`` beside ``Annotations/`` lists the classes in label order
    in datumaro's format (``# label:color_rgb:parts:actions``, then
    ``background:0,0,0::`` and a ``name:r,g,b::`` line per class), so that
    datumaro and CVAT accept custom classes and
    [`VOCDetectionDataset`][visiondata.datasets.VOCDetectionDataset] reads
    back the same label ids. Crowd regions (``iscrowd=1``) are left out, as
    VOC has no crowd flag, and counted in the report's ``crowd_left_out``;
    ``include_crowd=True`` writes them as ordinary objects.

    Coordinates are VOC's 1-based inclusive whole pixels: each 0-based corner
    is rounded half up, ``xmin = x_min + 1``, ``xmax = x_max``, kept within
    ``1..width`` (``1..height``) and at least one pixel apart, so a box at
    least one pixel wide and tall reads back within 0.5 pixel (a narrower one
    becomes one pixel). A box beyond its image by more than half a pixel
    cannot be written: that sample is skipped and reported.
    ``difficult`` and ``truncated`` come from the source's fields when it has
    them. Nested image paths are flattened (``a/b.jpg`` -> ``a_b.jpg``), as VOC
    keeps one folder of images; spaces and control characters in file names
    become ``_`` (the image list is split at spaces), and images sharing a
    name or a stem are kept apart (``a_2.xml``).

    The output is built beside ``out_dir`` and renamed into place when complete, with
    ``visiondata-conversion.json`` written last (see the module's description).

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"``, ``"link"`` or ``"symlink"``.
        split: Name of the image list written to ``ImageSets/Main``: a plain name.
        progress: Show a progress bar.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).
        include_crowd: Write crowd regions as ordinary objects instead of leaving them out.

    Returns:
        A [`ConversionReport`][visiondata.datasets.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: ``split`` is not a plain name, or a class name cannot be written in XML
            (a control character, surrounding spaces) or in ``labelmap.txt`` (a ``:``, a leading ``#``,
            the name ``background``): the message names the class and the character.
    """
    check_split_name(split)
    names, first, out, report, inputs = _start(dataset, out_dir, "voc", images)
    for label in range(first, len(names)):
        for where, check in (("VOC XML", _xml_problem), ("labelmap.txt", _labelmap_problem)):
            problem = check(names[label])
            if problem is not None:
                raise DatasetFormatError(
                    f"{type(dataset).__name__}: class {names[label]!r} (label {label}): expected a name {where} "
                    f"can hold as it is, got {problem}; rename the class (classes=) to convert to VOC"
                )
    stems: list[str] = []
    taken_stems: set[str] = set()
    taken_files: set[str] = set()
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = _Output(staging)
        (staging / "Annotations").mkdir()
        for index, record in _records(dataset, progress, report, names, first):
            record = _without_crowd(record, include_crowd, report)
            try:
                objects = _voc_objects(record, names)
            except ValueError as error:
                report.skipped.append(f"sample {index}: {error}")
                continue
            # VOC keeps one folder of images and names annotations by stem: a/b.jpg becomes a_b.jpg, and
            # a.jpg beside a.png gets annotation a_2.xml (its <filename> still says a.png).
            safe = re.sub(r"\s", "_", _safe_name(record.name).as_posix().replace("/", "_"))
            flat = _unique(safe, taken_files, PurePosixPath(safe).suffix)
            stem = _unique(PurePosixPath(flat).stem, taken_stems, "")
            _place_image(record, output.path(f"JPEGImages/{flat}"), images, report)
            output.write_text(
                f"Annotations/{stem}.xml",
                f"<annotation>\n  <filename>{escape(flat)}</filename>\n  <size>\n    <width>{record.width}</width>\n"
                f"    <height>{record.height}</height>\n    <depth>3</depth>\n  </size>\n{''.join(objects)}</annotation>\n",
            )
            stems.append(stem)
            report.images += 1
            report.boxes += len(record.boxes)
        output.write_text(f"ImageSets/Main/{split}.txt", "".join(f"{stem}\n" for stem in stems))
        output.write_text("labelmap.txt", _labelmap_text(names, first))
        _write_manifest(output, report, dataset, inputs)
    return report


#: The first line of datumaro's VOC ``labelmap.txt`` (CVAT imports VOC through datumaro).
LABELMAP_HEADER = "# label:color_rgb:parts:actions"


def _voc_color(index: int) -> tuple[int, int, int]:
    """The Pascal VOC palette colour of class ``index`` (0 the background, 1 aeroplane ``(128, 0, 0)``...).

    Examples:
        >>> _voc_color(0), _voc_color(1), _voc_color(15)
        ((0, 0, 0), (128, 0, 0), (192, 128, 128))
    """
    red = green = blue = 0
    for bit in range(8):
        red |= ((index >> (3 * bit)) & 1) << (7 - bit)
        green |= ((index >> (3 * bit + 1)) & 1) << (7 - bit)
        blue |= ((index >> (3 * bit + 2)) & 1) << (7 - bit)
    return red, green, blue


def _labelmap_text(names: list[str], first: int) -> str:
    """datumaro's ``labelmap.txt``: the header, ``background:0,0,0::``, then each class in label order.

    Each line is ``name:r,g,b:parts:actions`` (no parts, no actions); colours follow the VOC palette
    by position, so the 20 VOC classes in their usual order get their usual colours.

    Examples:
        >>> print(_labelmap_text(["__background__", "kiwi", "fig"], 1), end="")
        # label:color_rgb:parts:actions
        background:0,0,0::
        kiwi:128,0,0::
        fig:0,128,0::
    """
    lines = [LABELMAP_HEADER, "background:0,0,0::"]
    for position, name in enumerate(names[first:], 1):
        lines.append(f"{name}:{','.join(map(str, _voc_color(position)))}::")
    return "\n".join(lines) + "\n"


def _labelmap_problem(name: str) -> str | None:
    """Why ``name`` cannot be a line of datumaro's ``labelmap.txt``, or ``None``."""
    if ":" in name:
        return "a ':' (labelmap.txt separates its fields with ':')"
    if name.startswith("#"):
        return "a leading '#' (labelmap.txt reads such a line as a comment)"
    if name == "background":
        return "the name 'background' (labelmap.txt's label 0, the background, has that name)"
    return None


def _data_yaml(split: str, names: list[str]) -> dict[str, Any]:
    """The ``data.yaml`` mapping of a YOLO folder holding the one split ``split`` (see ``to_yolo``).

    Examples:
        >>> _data_yaml("val", ["kiwi", "fig"])
        {'train': 'images/val', 'val': 'images/val', 'nc': 2, 'names': {0: 'kiwi', 1: 'fig'}}
    """
    folder = f"images/{split}"
    spec: dict[str, Any] = {"train": folder, "val": folder}
    if split not in spec:
        spec[split] = folder
    return {**spec, "nc": len(names), "names": dict(enumerate(names))}


def _voc_objects(record: _Record, names: list[str]) -> list[str]:
    """The ``<object>`` elements of ``record``; a box VOC cannot hold is a ValueError naming it."""
    difficult = record.fields.get("difficult", np.zeros(len(record.boxes), dtype=np.int64))
    truncated = record.fields.get("truncated", np.zeros(len(record.boxes), dtype=np.int64))
    objects = []
    for row, (box, label) in enumerate(zip(record.boxes.tolist(), record.labels.tolist(), strict=True)):
        x0, y0, x1, y1 = box
        inside = (
            all(math.isfinite(value) for value in box)
            and min(x0, y0) >= -0.5
            and x1 <= record.width + 0.5
            and y1 <= record.height + 0.5
        )
        if not inside:
            raise ValueError(
                f"{record.name}: box {row} {box}: expected corners within the {record.width}x{record.height} "
                "image (VOC stores whole pixels 1..width, 1..height), got one beyond it"
            )
        x_min, x_max = _voc_pixels(x0, x1, record.width)
        y_min, y_max = _voc_pixels(y0, y1, record.height)
        objects.append(
            f"  <object>\n    <name>{escape(names[label])}</name>\n    <truncated>{int(truncated[row])}</truncated>\n"
            f"    <difficult>{int(difficult[row])}</difficult>\n    <bndbox>\n      <xmin>{x_min}</xmin>\n"
            f"      <ymin>{y_min}</ymin>\n      <xmax>{x_max}</xmax>\n      <ymax>{y_max}</ymax>\n"
            "    </bndbox>\n  </object>\n"
        )
    return objects


def to_yolo(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    split: str = "train",
    progress: bool = False,
    overwrite: bool = False,
    include_crowd: bool = False,
) -> ConversionReport:
    """Write a detection dataset as YOLO: ``images/<split>/``, ``labels/<split>/`` and ``data.yaml``.

    One label file per image, a line ``class cx cy w h`` per box, normalised
    with 6 decimals (within 1e-6 of the side, well under a pixel); class ids
    count from 0 (label 0 is the first class when it is not the background).
    YOLO finds a label file by the image's path without its suffix, so of
    ``a.png`` and ``a.jpg`` the second is written as ``a_2.jpg`` with
    ``a_2.txt``. Crowd regions (``iscrowd=1``) are left out, as YOLO has no
    crowd flag (datumaro and Ultralytics leave them out too), and counted in
    the report's ``crowd_left_out``; ``include_crowd=True`` writes them as
    ordinary boxes.

    ``data.yaml`` follows Ultralytics' rules (``check_det_dataset``), which
    supervision's ``DetectionDataset.from_yolo`` reads too (it takes only
    ``names``): ``train`` and ``val`` are both required, so both are written,
    and when one split is written they name the same folder
    (``images/<split>``; a ``test`` split is also written as ``test:``);
    ``nc`` and ``names`` (a mapping ``id: name`` in id order) name the
    classes. No ``path`` is written: Ultralytics then takes the YAML's own
    folder as the dataset root, wherever the folder is moved, whereas a
    relative ``path`` (``path: .``) is resolved against the working directory
    (or Ultralytics' datasets folder) and an absolute one breaks when the
    folder is moved or copied to another machine.

    The output is built beside ``out_dir`` and renamed into place when complete, with
    ``visiondata-conversion.json`` written last (see the module's description).

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"``, ``"link"`` or ``"symlink"``.
        split: The sub-folder, and the ``data.yaml`` entry: a plain name.
        progress: Show a progress bar.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).
        include_crowd: Write crowd regions as ordinary boxes instead of leaving them out.

    Returns:
        A [`ConversionReport`][visiondata.datasets.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: ``split`` is not a plain name.
    """
    import yaml

    check_split_name(split)
    names, first, out, report, inputs = _start(dataset, out_dir, "yolo", images)
    taken: set[str] = set()
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = _Output(staging)
        for _, record in _records(dataset, progress, report, names, first):
            record = _without_crowd(record, include_crowd, report)
            # A YOLO source's paths hold images/ (and labels/) folders of their own; YOLO finds a label file by
            # turning the last "images" of an image's path into "labels", so those folders are left out.
            name = _unique_key(_safe_name(record.name, drop=("images", "labels")), taken)
            _place_image(record, output.path(f"images/{split}/{name}"), images, report)
            scale = np.array([record.width, record.height, record.width, record.height], dtype=np.float64)
            corners = record.boxes / scale
            centres = (corners[:, :2] + corners[:, 2:]) / 2
            sides = corners[:, 2:] - corners[:, :2]
            output.write_text(
                f"labels/{split}/{name.with_suffix('.txt')}",
                "".join(
                    f"{label - first} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n"
                    for label, (cx, cy), (w, h) in zip(
                        record.labels.tolist(), centres.tolist(), sides.tolist(), strict=True
                    )
                ),
            )
            report.images += 1
            report.boxes += len(record.boxes)
        spec = _data_yaml(split, names[first:])
        output.write_text("data.yaml", yaml.safe_dump(spec, sort_keys=False))
        _write_manifest(output, report, dataset, inputs)
    return report
