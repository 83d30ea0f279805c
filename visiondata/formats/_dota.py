"""DOTA: ``DOTADataset`` reads the ``images/`` + ``labelTxt/`` layout of the DOTA aerial dataset; ``to_dota`` writes it.

A DOTA label file (one per image, ``labelTxt/P0001.txt`` for ``images/P0001.png``) holds one oriented
box a line, ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult``: the four corners in pixels (DOTA v1.0 writes
integers, v1.5 and v2.0 floats such as ``2753.0``), clockwise on screen from the object's "head"
corner, then the class name and ``difficult`` (1 for objects hard to recognise, 0 otherwise). DOTA
v1.0's files start with two header lines, ``imagesource:GoogleEarth`` and ``gsd:0.146``, which later
versions may leave out.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata._files import MAX_ANNOTATION_BYTES, decode_text, read_regular_file, staged_output_dir
from visiondata.datasets._base import BACKGROUND, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import BORDER_TOLERANCE, DetectionFileDataset, DetectionIndex
from visiondata.datasets._index import smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError
from visiondata.formats._writing import (
    ConversionReport,
    StagedOutput,
    mark_shapes,
    note_losses,
    place_image,
    safe_name,
    shapes_left_out,
    start_writing,
    unique_key,
    without_crowd,
    write_manifest,
    write_records,
)

#: DOTA v1.0's 15 classes, in the DOTA devkit's order.
DOTA_V1_CLASSES = (
    "plane",
    "ship",
    "storage-tank",
    "baseball-diamond",
    "tennis-court",
    "basketball-court",
    "ground-track-field",
    "harbor",
    "bridge",
    "large-vehicle",
    "small-vehicle",
    "helicopter",
    "roundabout",
    "soccer-ball-field",
    "swimming-pool",
)
#: The classes DOTA v1.5 (``container-crane``) and v2.0 (``airport``, ``helipad``) add, in that order.
DOTA_ADDED_CLASSES = ("container-crane", "airport", "helipad")

# Header lines of DOTA v1.0 label files (key:value, no spaces), before the boxes.
_HEADER_KEYS = ("imagesource", "gsd")


class DOTADataset(DetectionFileDataset):
    """Images with one DOTA label file each: ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` per line, in pixels.

    ``images_dir`` is searched recursively for images; the label file of
    ``images_dir/a/P0001.png`` is ``labels_dir/a/P0001.txt``. Without
    ``labels_dir``, the ``labelTxt`` folder beside ``images_dir`` is used
    (the DOTA devkit's layout: ``train/images/``, ``train/labelTxt/``). The
    ``imagesource:`` and ``gsd:`` header lines are skipped; a line without
    its ``difficult`` value (9 values) reads as ``difficult`` 0, as the devkit
    reads it.

    Classes: ``classes=None`` takes DOTA's own: v1.0's 15 classes
    (`DOTA_V1_CLASSES`, the devkit's order), followed by those of v1.5 and
    v2.0 (``container-crane``, ``airport``, ``helipad``) that occur in the
    files, so label ids of the v1.0 classes do not depend on the version. A
    dataset in DOTA's layout with other classes gives them as ``classes=``
    (names in label order). A class name outside the list is a problem naming
    the file and line, as are malformed lines (values that are not numbers,
    ``difficult`` other than 0 or 1), a degenerate (no area) or twisted
    quadrilateral (its sides cross: the corners are not in order round it),
    and a corner outside its image by more than 0.1 % of its side (the image
    size is read from each image file's header; within that, corners are
    clipped onto the border). Problems follow ``on_error``: ``"raise"``
    lists them all in one
    [`DatasetValidationError`][visiondata.exceptions.DatasetValidationError],
    ``"skip"``/``"warn"`` leave the line (or the file) out and record it in
    `problems`. A missing label file is an image without objects.

    The index is flat: the ``(M, 8)`` corners beside each box's enclosing
    ``xyxy`` box (`boxes`, which ``check`` and the filters use), the labels
    and ``difficult`` as numpy arrays cut by per-image offsets.

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXYXYXY, pixels),
    "labels": int64, "image_id": index, "difficult": uint8})``.

    Args:
        images_dir: Folder of images (searched recursively).
        labels_dir: Folder of label files mirroring ``images_dir`` (default: ``labelTxt`` beside it).
        classes: Class names, in label order (default: DOTA's, see above).
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0.
        strict: For the default loader, as in [`YOLODataset`][visiondata.formats.YOLODataset].
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "labelTxt").mkdir()
        >>> Image.new("RGB", (40, 30)).save(root / "images" / "P0001.png")
        >>> _ = (root / "labelTxt" / "P0001.txt").write_text(
        ...     "imagesource:GoogleEarth\\ngsd:0.5\\n10 5 30 5 30 20 10 20 small-vehicle 1\\n")
        >>> dataset = DOTADataset(root / "images")
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), dataset.classes[int(target["labels"][0])], target["difficult"].tolist()
        ([[10.0, 5.0, 30.0, 5.0, 30.0, 20.0, 10.0, 20.0]], 'small-vehicle', [1])
    """

    def __init__(
        self,
        images_dir: str | os.PathLike[str],
        labels_dir: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = None,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        loader: Callable[[str], Any] | None = None,
        background: bool = True,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        from visiondata.formats._yolo import _scan

        root = Path(images_dir).expanduser()
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"{root}: expected a folder of images, found {'a file' if root.exists() else 'nothing'}"
            )
        super().__init__(root, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.labels_dir = str(
            Path(labels_dir).expanduser() if labels_dir is not None else root.parent / "labelTxt"
        )
        problems: list[str] = []
        images = _scan(root, problems)
        known = None if classes is None else class_names(classes)
        allowed = set(known) if known is not None else set(DOTA_V1_CLASSES) | set(DOTA_ADDED_CLASSES)
        sizes = np.zeros((len(images), 2), dtype=np.int32)
        found: list[tuple[int, str, int, list[float]]] = []  # image position, class, difficult, corners
        for position, image in enumerate(images):
            label_file = self._label_file(image)
            lines = _read_lines(label_file, problems)
            if not lines:
                continue
            size = _header_size(os.path.join(str(root), image))
            if size is not None:
                sizes[position] = size
            found.extend(
                (position, *row) for row in _parse(label_file, lines, allowed, known is None, size, problems)
            )
        if known is None:
            present = {name for _, name, _, _ in found}
            known = list(DOTA_V1_CLASSES) + [name for name in DOTA_ADDED_CLASSES if name in present]
        self.classes = ([BACKGROUND] if background else []) + known
        refuse_duplicate_classes(self.classes, root)
        self.category_ids = ([None] if background else []) + list(known)
        label_of = {name: label for label, name in enumerate(self.classes)}
        corners = np.array([row[3] for row in found], dtype=np.float64).reshape(-1, 8)
        enclosing = np.concatenate(
            [
                corners[:, 0::2].min(1, keepdims=True),
                corners[:, 1::2].min(1, keepdims=True),
                corners[:, 0::2].max(1, keepdims=True),
                corners[:, 1::2].max(1, keepdims=True),
            ],
            axis=1,
        )
        self.index = DetectionIndex.build(
            images,
            np.arange(len(images)),
            sizes,
            np.array([row[0] for row in found], dtype=np.int64),
            enclosing,
            np.array([label_of[row[1]] for row in found], dtype=np.int64).astype(
                smallest_int_type(max(len(self.classes) - 1, 0))
            ),
            fields={"difficult": np.array([row[2] for row in found], dtype=np.uint8)},
            corners=corners,
        )
        self._settle(str(root), problems)

    def _label_file(self, image: str) -> Path:
        """The label file of ``image`` (relative to `root`): ``labels_dir/<same path>.txt``."""
        return Path(self.labels_dir) / Path(image).with_suffix(".txt")


def _read_lines(path: Path, problems: list[str]) -> list[str]:
    """The lines of a label file (none when it does not exist); an unreadable one is a problem."""
    try:
        data = read_regular_file(path, "DOTA label file", MAX_ANNOTATION_BYTES)
        return decode_text(data, path, "DOTA label file").splitlines()
    except DatasetFormatError as error:
        if os.path.lexists(path):
            problems.append(f"{error}; its boxes are left out")
        return []


def _header_size(path: str) -> tuple[int, int] | None:
    """``(height, width)`` from the image file's header, or ``None`` when it cannot be read (checked on load)."""
    from PIL import Image

    from visiondata.formats._writing import image_size

    try:
        return image_size(path)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _parse(
    path: Path,
    lines: list[str],
    allowed: set[str],
    default_classes: bool,
    size: tuple[int, int] | None,
    problems: list[str],
) -> list[tuple[str, int, list[float]]]:
    """The valid ``(class, difficult, corners)`` of one label file; problems name the file and line."""
    from visiondata.boxes import validate_boxes

    candidates: list[tuple[int, str, int, list[float]]] = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        if len(fields) == 1 and fields[0].partition(":")[0] in _HEADER_KEYS:
            continue  # imagesource:GoogleEarth, gsd:0.146...
        if len(fields) not in (9, 10):
            problems.append(
                f"{where}: expected 'x1 y1 x2 y2 x3 y3 x4 y4 class difficult' (10 values), got {len(fields)} "
                f"values: {_shown(line)}"
            )
            continue
        try:
            values = [float(field) for field in fields[:8]]
        except ValueError:
            problems.append(f"{where}: expected 8 corner coordinates (numbers) first, got {_shown(line)}")
            continue
        if not all(map(math.isfinite, values)):
            problems.append(f"{where}: expected finite corner coordinates, got {_shown(line)}")
            continue
        name = fields[8]
        if name not in allowed:
            hint = (
                "DOTA's classes (v1.0, plus v1.5/v2.0's container-crane, airport, helipad); pass classes= for "
                "a dataset with classes of its own"
                if default_classes
                else "the classes given"
            )
            problems.append(f"{where}: unknown class {name!r}: expected one of {hint}")
            continue
        difficult = fields[9] if len(fields) == 10 else "0"
        if difficult not in ("0", "1"):
            problems.append(f"{where}: difficult {difficult!r}: expected 0 or 1, got {_shown(line)}")
            continue
        candidates.append((number, name, int(difficult), values))
    if not candidates:
        return []
    quads = np.array([row[3] for row in candidates], dtype=np.float64)
    result = validate_boxes(quads, "xyxyxyxy", image_size=size, policy="drop", eps=BORDER_TOLERANCE)
    reasons = {change["index"]: change["reason"] for change in result.changes}
    rows = []
    for position, (number, name, difficult, values) in enumerate(candidates):
        reason = reasons.get(position)
        if reason is not None:
            shown = [round(value, 2) for value in values]
            if reason == "out_of_bounds" and size is not None:
                what = (
                    f"has a corner outside the {size[1]}x{size[0]} image: expected 0 <= x <= {size[1]} and "
                    f"0 <= y <= {size[0]}"
                )
            else:
                what = {
                    "inverted": "is twisted: expected its corners in order round the box (its sides cross)",
                    "zero_area": "has no area: expected four corners enclosing an area",
                    "non_finite": "has coordinates that are not finite numbers",
                }.get(reason, f"is not a valid oriented box ({reason})")
            problems.append(f"{path}:{number}: box {shown} (x1 y1 ... x4 y4) {what}")
            continue
        if size is not None:  # within the tolerance: float noise, clipped onto the border
            values = np.clip(np.asarray(values), 0, np.tile([size[1], size[0]], 4)).tolist()
        rows.append((name, difficult, values))
    return rows


def _shown(text: str, limit: int = 80) -> str:
    text = text.strip()
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"


def to_dota(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    progress: bool = False,
    overwrite: bool = False,
    include_crowd: bool = False,
) -> ConversionReport:
    """Write a detection dataset as DOTA: ``images/`` and ``labelTxt/`` (one ``.txt`` per image).

    Each box is a line ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult``: the
    corners in pixels with one decimal (as DOTA v1.5 and v2.0 write them; a
    round trip moves a corner by at most 0.05 pixel), the class name, and the
    source's ``difficult`` (0 where it has none). Oriented boxes (a source
    with ``oriented_boxes``: DOTA, YOLO-OBB) keep their corners in their
    order; an axis-aligned box is written as its four corners, clockwise on
    screen from the top left, as DOTA orders them. No ``imagesource:`` /
    ``gsd:`` header is written (the DOTA devkit and Ultralytics' converter
    skip lines with fewer than 9 values). Crowd regions (``iscrowd=1``) are
    left out and counted in ``crowd_left_out`` (DOTA has no crowd flag) unless
    ``include_crowd=True``; keypoints, polygons and masks, which DOTA cannot
    hold, are counted in the report (``fields_left_out["keypoints"]``,
    ``masks_left_out``): the box is written.

    The output is built beside ``out_dir`` and renamed into place when complete, with
    ``visiondata-conversion.json`` written last, as by the other writers.

    Args:
        dataset: Detection samples with a ``classes`` list; class names may not hold spaces (DOTA's
            values are separated by spaces).
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"``, ``"link"`` or ``"symlink"``.
        progress: Show a progress bar.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).
        include_crowd: Write crowd regions as ordinary boxes instead of leaving them out.

    Returns:
        A [`ConversionReport`][visiondata.formats.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: A class name is empty or holds white space. Nothing is written.
    """
    names, first, out, report, inputs = start_writing(dataset, out_dir, "dota", images)
    for name in names[first:]:
        if not name or any(character.isspace() for character in name):
            raise DatasetFormatError(
                f"class {name!r}: DOTA separates a line's values by spaces, so a class name may not be empty or "
                "hold white space; rename the class (e.g. 'small-vehicle')"
            )
    oriented_of = getattr(dataset, "oriented_boxes", None)
    taken: set[str] = set()
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = StagedOutput(staging)
        for index, source_record in write_records(dataset, progress, report, names, first):
            quads = oriented_of(index) if callable(oriented_of) and hasattr(dataset, "path") else None
            if quads is None or len(quads) != len(source_record.boxes):
                quads = box_corners(source_record.boxes)
            mark_shapes(dataset, index, source_record)
            record = without_crowd(source_record, include_crowd, report, note=False)
            if record is not source_record:
                quads = quads[np.asarray(source_record.fields["iscrowd"]).reshape(-1) == 0]
            shapes_left_out(record, report)
            note_losses(record, report)
            difficult = record.fields.get("difficult")
            flags = (
                np.zeros(len(record.boxes), dtype=np.int64)
                if difficult is None
                else (np.asarray(difficult).reshape(-1) != 0).astype(np.int64)
            )
            name = unique_key(safe_name(record.name, drop=("images", "labelTxt")), taken)
            place_image(record, output.path(f"images/{name}"), images, report)
            lines = [
                " ".join(f"{value:.1f}" for value in quad) + f" {names[label]} {flag}\n"
                for quad, label, flag in zip(
                    np.asarray(quads, dtype=np.float64).tolist(),
                    record.labels.tolist(),
                    flags.tolist(),
                    strict=True,
                )
            ]
            output.write_text(f"labelTxt/{name.with_suffix('.txt')}", "".join(lines))
            report.images += 1
            report.boxes += len(record.boxes)
        write_manifest(output, report, dataset, inputs)
    return report


def box_corners(boxes: np.ndarray) -> np.ndarray:
    """``(N, 8)`` corners of ``xyxy`` boxes: top left, top right, bottom right, bottom left (DOTA's order)."""
    from visiondata.boxes import convert_boxes

    return np.asarray(convert_boxes(np.asarray(boxes, dtype=np.float64).reshape(-1, 4), "xyxy", "xyxyxyxy"))
