"""``to_coco``, ``to_voc``, ``to_yolo``: write any detection dataset in a standard on-disk format.

The source is any dataset of detection samples ``(image, {"boxes", "labels",
...})`` with a ``classes`` list. Datasets of image files (the COCO, VOC, YOLO
and CSV readers) are written without decoding a pixel: the files are copied
(or linked) byte for byte and the boxes come from their index. Other
datasets (the catalog's) are read sample by sample and their images written
as PNG.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from visiondata.datasets._base import BACKGROUND

IMAGE_MODES = ("copy", "link", "symlink")


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
    """

    out_dir: str
    format: str
    images: int = 0
    boxes: int = 0
    classes: list[str] = field(default_factory=list)
    encoded: int = 0
    skipped: list[str] = field(default_factory=list)
    source_problems: list[str] = field(default_factory=list)

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


def _records(dataset: Any, progress: bool, report: ConversionReport) -> Iterator[_Record]:
    from tqdm.auto import tqdm

    report.source_problems = list(getattr(dataset, "problems", []) or [])
    has_files = hasattr(dataset, "path") and hasattr(dataset, "target") and hasattr(dataset, "boxes")
    if has_files and getattr(dataset, "transform", None) is not None:
        raise ValueError(
            f"{type(dataset).__name__} has a transform: the files are copied as they are, so their boxes must be "
            "too; build the dataset without transform= to convert it"
        )
    for index in tqdm(
        range(len(dataset)), desc="converting", unit="image", disable=not progress, file=sys.stderr
    ):
        try:
            yield _file_record(dataset, index) if has_files else _decoded_record(dataset, index)
        except (OSError, ValueError) as error:
            report.skipped.append(f"sample {index}: {error}")


def _file_record(dataset: Any, index: int) -> _Record:
    source = dataset.path(index)
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
        if key not in ("labels", "boxes", "image_id", "masks")
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
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists() or destination.is_symlink():
        destination.unlink()
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


def to_coco(
    dataset: Any, out_dir: str | os.PathLike[str], images: str = "copy", progress: bool = False
) -> ConversionReport:
    """Write a detection dataset as COCO: ``out_dir/images/...`` and ``out_dir/annotations.json``.

    Category ids: a COCO source's own, else the labels themselves when
    label 0 is the background, else label + 1 (COCO ids start at 1). Image
    ids: a COCO source's, else 1, 2, 3...
    Boxes are written as ``[x, y, w, h]`` floats; ``iscrowd`` and ``area``
    come from the source's fields when it has them.

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder (created).
        images: ``"copy"`` the image files, hard-``"link"`` them, or ``"symlink"`` them.
        progress: Show a progress bar.

    Returns:
        A [`ConversionReport`][visiondata.datasets.ConversionReport].

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> from visiondata.datasets import CSVDetectionDataset
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "boxes.csv").write_text("image,x_min,y_min,x_max,y_max,label\\na.png,1,2,5,6,cat\\n")
        >>> report = to_coco(CSVDetectionDataset(root / "boxes.csv", root), root / "coco")
        >>> json.loads((root / "coco" / "annotations.json").read_text())["annotations"][0]["bbox"]
        [1.0, 2.0, 4.0, 4.0]
    """
    from visiondata.datasets._coco import CocoDetectionDataset

    _check_images_mode(images)
    names, first = _class_names(dataset)
    out = Path(out_dir)
    # Only a COCO source has COCO ids to keep (YOLO's class ids start at 0, COCO's at 1).
    keep_ids = isinstance(dataset, CocoDetectionDataset)
    category_of = {
        label: (
            dataset.category_ids[label]
            if keep_ids and dataset.category_ids[label] is not None
            else label + 1 - first
        )
        for label in range(first, len(names))
    }
    report = ConversionReport(str(out), "coco", classes=names[first:])
    coco_images, annotations = [], []
    for position, record in enumerate(_records(dataset, progress, report)):
        image_id = record.image_id if keep_ids else position + 1
        _place_image(record, out / "images" / record.name, images, report)
        coco_images.append(
            {
                "id": image_id,
                "file_name": Path(record.name).as_posix(),
                "width": record.width,
                "height": record.height,
            }
        )
        widths = record.boxes[:, 2] - record.boxes[:, 0]
        heights = record.boxes[:, 3] - record.boxes[:, 1]
        crowd = record.fields.get("iscrowd", np.zeros(len(record.boxes), dtype=np.int64))
        area = record.fields.get("area", widths * heights)
        for row, (box, label) in enumerate(zip(record.boxes.tolist(), record.labels.tolist(), strict=True)):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": category_of[label],
                    "bbox": [box[0], box[1], float(widths[row]), float(heights[row])],
                    "area": float(area[row]),
                    "iscrowd": int(crowd[row]),
                }
            )
        report.images += 1
        report.boxes += len(record.boxes)
    categories = [{"id": category_of[label], "name": names[label]} for label in range(first, len(names))]
    out.mkdir(parents=True, exist_ok=True)
    (out / "annotations.json").write_text(
        json.dumps({"images": coco_images, "annotations": annotations, "categories": categories}),
        encoding="utf-8",
    )
    return report


def to_voc(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    split: str = "train",
    progress: bool = False,
) -> ConversionReport:
    """Write a detection dataset as Pascal VOC: ``Annotations/``, ``JPEGImages/``, ``ImageSets/Main/<split>.txt``.

    Coordinates are VOC's 1-based inclusive integers: ``xmin = round(x_min) + 1``,
    ``xmax = round(x_max)``, so reading back gives the boxes to 0.5 pixel.
    ``difficult`` and ``truncated`` come from the source's fields when it has
    them. Nested image paths are flattened (``a/b.jpg`` -> ``a_b.jpg``), as VOC
    keeps one folder of images.

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder (created).
        images: ``"copy"``, ``"link"`` or ``"symlink"``.
        split: Name of the image list written to ``ImageSets/Main``.
        progress: Show a progress bar.

    Returns:
        A [`ConversionReport`][visiondata.datasets.ConversionReport].
    """
    _check_images_mode(images)
    names, first = _class_names(dataset)
    out = Path(out_dir)
    report = ConversionReport(str(out), "voc", classes=names[first:])
    (out / "Annotations").mkdir(parents=True, exist_ok=True)
    (out / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    stems: list[str] = []
    taken_stems: set[str] = set()
    taken_files: set[str] = set()
    for record in _records(dataset, progress, report):
        # VOC keeps one folder of images and names annotations by stem: a/b.jpg becomes a_b.jpg, and
        # a.jpg beside a.png gets annotation a_2.xml (its <filename> still says a.png).
        flat = _unique(Path(record.name).as_posix().replace("/", "_"), taken_files, Path(record.name).suffix)
        stem = _unique(Path(flat).stem, taken_stems, "")
        _place_image(record, out / "JPEGImages" / flat, images, report)
        difficult = record.fields.get("difficult", np.zeros(len(record.boxes), dtype=np.int64))
        truncated = record.fields.get("truncated", np.zeros(len(record.boxes), dtype=np.int64))
        objects = []
        for row, (box, label) in enumerate(zip(record.boxes.tolist(), record.labels.tolist(), strict=True)):
            x_min, y_min = round(box[0]) + 1, round(box[1]) + 1
            x_max, y_max = max(round(box[2]), x_min), max(round(box[3]), y_min)
            objects.append(
                f"  <object>\n    <name>{escape(names[label])}</name>\n    <truncated>{int(truncated[row])}</truncated>\n"
                f"    <difficult>{int(difficult[row])}</difficult>\n    <bndbox>\n      <xmin>{x_min}</xmin>\n"
                f"      <ymin>{y_min}</ymin>\n      <xmax>{x_max}</xmax>\n      <ymax>{y_max}</ymax>\n"
                "    </bndbox>\n  </object>\n"
            )
        (out / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation>\n  <filename>{escape(flat)}</filename>\n  <size>\n    <width>{record.width}</width>\n"
            f"    <height>{record.height}</height>\n    <depth>3</depth>\n  </size>\n{''.join(objects)}</annotation>\n",
            encoding="utf-8",
        )
        stems.append(stem)
        report.images += 1
        report.boxes += len(record.boxes)
    (out / "ImageSets" / "Main" / f"{split}.txt").write_text("".join(f"{stem}\n" for stem in stems))
    return report


def to_yolo(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    split: str = "train",
    progress: bool = False,
) -> ConversionReport:
    """Write a detection dataset as YOLO: ``images/<split>/``, ``labels/<split>/`` and ``data.yaml``.

    One label file per image, a line ``class cx cy w h`` per box, normalised
    with 6 decimals (within 1e-6 of the side, well under a pixel); class ids
    count from 0 (label 0 is the first class when it is not the background).
    ``data.yaml`` names the classes in id order.

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder (created).
        images: ``"copy"``, ``"link"`` or ``"symlink"``.
        split: The sub-folder, and the ``data.yaml`` entry.
        progress: Show a progress bar.

    Returns:
        A [`ConversionReport`][visiondata.datasets.ConversionReport].
    """
    import yaml

    _check_images_mode(images)
    names, first = _class_names(dataset)
    out = Path(out_dir)
    report = ConversionReport(str(out), "yolo", classes=names[first:])
    for record in _records(dataset, progress, report):
        # A YOLO source's paths hold images/ (and labels/) folders of their own; YOLO finds a label file by
        # turning the last "images" of an image's path into "labels", so those folders are left out.
        name = Path(*[part for part in Path(record.name).parts if part not in ("images", "labels")])
        _place_image(record, out / "images" / split / name, images, report)
        label_file = (out / "labels" / split / name).with_suffix(".txt")
        label_file.parent.mkdir(parents=True, exist_ok=True)
        scale = np.array([record.width, record.height, record.width, record.height], dtype=np.float64)
        corners = record.boxes / scale
        centres = (corners[:, :2] + corners[:, 2:]) / 2
        sides = corners[:, 2:] - corners[:, :2]
        label_file.write_text(
            "".join(
                f"{label - first} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n"
                for label, (cx, cy), (w, h) in zip(
                    record.labels.tolist(), centres.tolist(), sides.tolist(), strict=True
                )
            )
        )
        report.images += 1
        report.boxes += len(record.boxes)
    out.mkdir(parents=True, exist_ok=True)
    spec = {"path": ".", split: f"images/{split}", "names": dict(enumerate(names[first:]))}
    (out / "data.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return report
