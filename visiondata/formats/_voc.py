"""Pascal VOC: ``VOCDetectionDataset`` reads XML annotations (a VOCdevkit tree or a folder of XML files); ``to_voc`` writes them."""

from __future__ import annotations

import math
import os
import re
import unicodedata
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from visiondata._files import (
    MAX_ANNOTATION_BYTES,
    MAX_SPEC_BYTES,
    read_regular_file,
    read_text_file,
    staged_output_dir,
)
from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import (
    DetectionFileDataset,
    DetectionIndex,
    box_problems,
)
from visiondata.datasets._index import smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError
from visiondata.formats._writing import (
    ConversionReport,
    StagedOutput,
    WriteRecord,
    check_split_name,
    mark_shapes,
    note_losses,
    note_oriented_left_out,
    place_image,
    safe_name,
    shapes_left_out,
    start_writing,
    unique_name,
    without_crowd,
    write_manifest,
    write_records,
)

#: The 20 classes of Pascal VOC, in the order of the challenge (alphabetical).
VOC_CLASSES = (
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
)


class VOCDetectionDataset(DetectionFileDataset):
    """Images and boxes annotated in Pascal VOC's XML format.

    ``root`` may be a ``VOCdevkit`` folder (pick ``year=`` when it holds
    several ``VOC20xx`` folders), one ``VOC20xx`` folder (``Annotations/``,
    ``JPEGImages/``, ``ImageSets/Main/<split>.txt``), or any folder of XML
    files with their images beside them (or in ``images_dir``). ``split``
    names the ``ImageSets/Main`` list (``"train"``, ``"val"``, ``"trainval"``,
    ``"test"``; in a folder of XML files, a ``<split>.txt`` beside them);
    ``split=None`` takes every XML file.

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels),
    "labels": int64, "image_id": index, "difficult": int64, "truncated":
    int64})``. VOC counts pixels from 1 and includes both ends, so a box
    ``xmin=1, xmax=10`` covers the first ten pixels; here it is ``x_min=0,
    x_max=10`` (0-based corners, torchvision's convention): ``x_min = xmin - 1``,
    ``x_max = xmax``, the same for y. torchvision's ``VOCDetection`` keeps the
    file's numbers, so its boxes are ours plus ``(1, 1, 0, 0)``.

    Labels index `classes`: by default ``"__background__"`` then the
    classes of a ``labelmap.txt`` beside ``Annotations/`` (beside the XML
    files in a folder of them) in its order, as datumaro, CVAT and
    [`to_voc`][visiondata.formats.to_voc] write it (``name:r,g,b:parts:actions``
    lines, ``#`` comments; its first entry ``background`` is the background
    slot); without one, the class names found, sorted (for Pascal VOC itself,
    its 20 classes in the challenge's order). ``classes=`` fixes the list,
    and an object of another class is a problem naming the known ones. A
    ``labelmap.txt`` that is not a regular UTF-8 file, or has a line of more
    than four fields or an empty name, raises
    [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError] naming the line. Problems (malformed XML,
    missing or non-numeric coordinates, boxes with no area or beyond the
    image, unknown classes, image paths leaving the root or missing, a size
    or flag that is not a whole number in range, an annotation file that is
    not a regular file: a FIFO, a device, a folder named ``*.xml``, refused
    before opening; a split-list id naming a file outside the annotations
    folder) name the file and object, and follow ``on_error`` as in
    [`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset]. A split list that is not a regular
    UTF-8 text file raises [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError].

    Args:
        root: The folder (see above).
        split: The image list to read, or ``None`` for every annotation file.
        year: The ``VOC20xx`` folder to use inside a ``VOCdevkit``.
        classes: Class names the labels index.
        keep_difficult: Keep objects marked ``difficult`` (flagged in the ``difficult`` field).
        images_dir: Where the images are (default: ``JPEGImages`` of a VOC folder, else ``root``).
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        allow_outside_root: Accept image paths leaving the images folder.
        check_files: Check at construction that every image file exists.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0.
        strict: For the default loader: ``True`` refuses an image that decodes only with a
            warning (a JPEG with corrupt data), ``False`` decodes it as libjpeg recovers it;
            ``None`` (default) follows ``visiondata.io.set_strict_decode``.
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.jpg")
        >>> _ = (root / "a.xml").write_text(
        ...     "<annotation><filename>a.jpg</filename><size><width>20</width><height>10</height></size>"
        ...     "<object><name>kiwi</name><difficult>1</difficult>"
        ...     "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>10</xmax><ymax>10</ymax></bndbox></object></annotation>")
        >>> image, target = VOCDetectionDataset(root, split=None)[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), target["difficult"].tolist()
        ([[0.0, 1.0, 10.0, 10.0]], [1], [1])
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str | None = "train",
        year: str | int | None = None,
        classes: Sequence[str] | None = None,
        keep_difficult: bool = True,
        images_dir: str | os.PathLike[str] | None = None,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        background: bool = True,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        problems: list[str] = []
        annotations_dir, default_images, files = _locate(Path(root).expanduser(), split, year, problems)
        super().__init__(
            images_dir or default_images, transform, target_transform, on_error, loader, strict, scaled_decode
        )
        self.allow_outside_root = allow_outside_root
        self.annotations_dir = str(annotations_dir)
        #: The image list read (``None``: every annotation file).
        self.split_name = split
        records = [_read_xml(path, problems) for path in files]
        found = sorted({obj[0] for record in records if record for obj in record[3]})
        labelmap = None if classes is not None else _read_labelmap(_labelmap_path(annotations_dir))
        if classes is not None:
            self.classes = class_names(classes)
        elif labelmap is not None:
            self.classes = ([BACKGROUND] if background else []) + labelmap
        else:
            known = set(found) <= set(VOC_CLASSES) and found
            names = list(VOC_CLASSES) if known else found
            self.classes = ([BACKGROUND] if background else []) + names
        #: The ``labelmap.txt`` the class order was read from, or ``None``.
        self.labelmap_file = None if labelmap is None else str(_labelmap_path(annotations_dir))
        refuse_duplicate_classes(self.classes, self.labelmap_file or self.annotations_dir)
        self.category_ids = [None] * len(self.classes)
        label_of = {name: label for label, name in enumerate(self.classes)}
        self.index = self._build(
            files, records, label_of, keep_difficult, allow_outside_root, check_files, problems
        )
        self._settle(self.annotations_dir, problems)

    def _build(
        self,
        files: list[Path],
        records: list[Any],
        label_of: dict[str, int],
        keep_difficult: bool,
        allow_outside_root: bool,
        check_files: bool,
        problems: list[str],
    ) -> DetectionIndex:
        paths, sizes, box_image, boxes, labels, difficult, truncated = [], [], [], [], [], [], []
        for file, record in zip(files, records, strict=True):
            if record is None:
                continue
            filename, height, width, objects = record
            path, problem = check_path(filename, self.root, allow_outside_root)
            if problem is None and check_files and not os.path.isfile(os.path.join(self.root, path)):
                problem = f"image file {os.path.join(self.root, path)} does not exist"
            if problem is not None:
                problems.append(f"{file.name}: {problem}")
                continue
            position = len(paths)
            object_boxes = np.array([obj[1] for obj in objects], dtype=np.float64).reshape(-1, 4)
            issues = box_problems(object_boxes, np.tile([height, width], (len(objects), 1)))
            for obj, box, issue in zip(objects, object_boxes, issues, strict=True):
                name, _, is_difficult, is_truncated, number = obj
                where = f"{file.name} object {number} ({name!r})"
                if name not in label_of:
                    problems.append(f"{where}: class {name!r} is not one of the classes {self.classes}")
                elif issue is not None:
                    problems.append(f"{where}: {issue}")
                elif keep_difficult or not is_difficult:
                    box_image.append(position)
                    boxes.append(box)
                    labels.append(label_of[name])
                    difficult.append(is_difficult)
                    truncated.append(is_truncated)
            paths.append(path)
            sizes.append((height, width))
        return DetectionIndex.build(
            paths,
            np.arange(len(paths)),
            np.asarray(sizes, dtype=np.int32).reshape(-1, 2),
            np.asarray(box_image, dtype=np.int64),
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(labels, dtype=smallest_int_type(max(len(self.classes) - 1, 0))),
            {
                "difficult": np.asarray(difficult, dtype=np.int64),
                "truncated": np.asarray(truncated, dtype=np.int64),
            },
        )


def _labelmap_path(annotations: Path) -> Path:
    """Where a ``labelmap.txt`` lies: beside ``Annotations/``, or among the XML files of a plain folder."""
    return (annotations.parent if annotations.name == "Annotations" else annotations) / "labelmap.txt"


def _read_labelmap(path: Path) -> list[str] | None:
    """The class names of datumaro's ``labelmap.txt`` at ``path`` in its order, without the background.

    Each line is ``name:color:parts:actions`` (only the name is used; a line holding just a name is
    accepted too); blank lines and ``#`` comments are skipped. A first entry named ``background``
    (datumaro's) or ``__background__`` is the background slot, left out here. ``None`` when there is
    no file.

    Raises:
        DatasetFormatError: The file is not a regular UTF-8 text file, or a line has more than four
            fields or an empty name (the message names the line).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "labelmap.txt"
        >>> lines = ["# label:color_rgb:parts:actions", "background:0,0,0::", "kiwi:128,0,0::", "fig:0,128,0::"]
        >>> _ = path.write_text("\\n".join(lines))
        >>> _read_labelmap(path)
        ['kiwi', 'fig']
    """
    if not os.path.lexists(path):
        return None
    text = read_text_file(path, "VOC labelmap.txt", MAX_SPEC_BYTES)
    names: list[str] = []
    entries = 0
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        name = fields[0].strip()
        if len(fields) > 4 or not name:
            raise DatasetFormatError(
                f"{path} line {number}: expected 'name:r,g,b:parts:actions' (datumaro's labelmap.txt), got "
                f"{line!r}; a class name may not be empty or hold ':'"
            )
        entries += 1
        if entries == 1 and name in ("background", BACKGROUND):
            continue  # the background slot: placed (or not) by background=
        names.append(name)
    return names


def _locate(
    root: Path, split: str | None, year: str | int | None, problems: list[str] | None = None
) -> tuple[Path, Path, list[Path]]:
    """The annotations folder, the default images folder and the XML files of ``split``.

    An id of the split list that would name a file outside the annotations
    folder (``../x``, an absolute path) is a problem added to ``problems``
    and left out.
    """
    problems = [] if problems is None else problems
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"{root}: expected a VOC folder, found {'a file' if root.exists() else 'nothing'}"
        )
    devkit = root / "VOCdevkit" if (root / "VOCdevkit").is_dir() else root
    years = sorted(path.name for path in devkit.glob("VOC20*") if (path / "Annotations").is_dir())
    if not (root / "Annotations").is_dir() and years:
        wanted = None if year is None else f"VOC{year}" if not str(year).startswith("VOC") else str(year)
        if wanted is None and len(years) > 1:
            raise DatasetNotFoundError(f"{devkit}: holds {', '.join(years)}; pick one with year=")
        chosen = wanted or years[0]
        if chosen not in years:
            raise DatasetNotFoundError(f"{devkit}: no {chosen} folder; found {', '.join(years)}")
        root = devkit / chosen
    if (root / "Annotations").is_dir():
        annotations, images = root / "Annotations", root / "JPEGImages"
        if split is None:
            return annotations, images, sorted(annotations.glob("*.xml"))
        listing = root / "ImageSets" / "Main" / f"{split}.txt"
        if not os.path.lexists(listing):
            available = sorted(
                path.stem for path in (root / "ImageSets" / "Main").glob("*.txt") if "_" not in path.stem
            )
            raise DatasetNotFoundError(
                f"{listing}: no such split list; splits found: {', '.join(available) or 'none'} "
                "(split=None reads every annotation file)"
            )
        return annotations, images, _listed(listing, annotations, problems)
    files = sorted(root.glob("*.xml"))
    if not files:
        raise DatasetNotFoundError(
            f"{root}: expected a VOCdevkit, a VOC20xx folder (Annotations/, JPEGImages/) or XML files, found none"
        )
    if split is not None:
        listing = root / f"{split}.txt"
        if not os.path.lexists(listing):
            raise DatasetNotFoundError(
                f"{root}: a folder of XML files has no {split!r} list ({listing.name}); pass split=None to read "
                "every XML file, or put the image names of the split in that file"
            )
        return root, root, _listed(listing, root, problems)
    return root, root, files


def _listed(listing: Path, annotations: Path, problems: list[str]) -> list[Path]:
    """The XML files a split list names, inside ``annotations`` (see `split_list_ids`)."""
    return [annotations / f"{name}.xml" for name in split_list_ids(listing, annotations, problems)]


def split_list_ids(
    listing: str | os.PathLike[str], folder: str | os.PathLike[str], problems: list[str]
) -> list[str]:
    """The image ids a VOC split list names (``ImageSets/*/<split>.txt``: one id a line, its first word).

    The list is read as a regular file of bounded size (a FIFO or a device is refused before
    opening); an id that would lead outside ``folder`` (absolute, ``..``, a NUL) is left out and
    recorded in ``problems`` with its line.

    Examples:
        >>> import pathlib, tempfile
        >>> listing = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
        >>> _ = listing.write_text("2007_000032\\n\\n../../etc/passwd\\n2007_000039 1\\n")
        >>> problems = []
        >>> split_list_ids(listing, "Annotations", problems), len(problems)
        (['2007_000032', '2007_000039'], 1)
    """
    text = read_text_file(listing, "VOC split list", MAX_ANNOTATION_BYTES)
    ids = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name = line.split()[0]
        normal = os.path.normpath(name)
        if (
            os.path.isabs(name)
            or normal == ".."
            or normal.startswith(".." + os.sep)
            or "\x00" in name
            or (os.altsep is not None and os.path.isabs(name.replace(os.altsep, os.sep)))
        ):
            problems.append(
                f"{listing} line {number}: id {name!r} names a file outside {folder}: expected an image "
                "id (a file name without its extension) inside that folder"
            )
            continue
        ids.append(name)
    return ids


def _read_xml(path: Path, problems: list[str]) -> tuple[str, int, int, list[Any]] | None:
    """``(filename, height, width, [(name, xyxy 0-based, difficult, truncated, number), ...])``, or None if
    unreadable; ``number`` is the object's place among the file's objects (from 1), which problems name.

    The file is read through `read_regular_file`: a FIFO, a device, a folder
    named ``*.xml`` or a file above `MAX_ANNOTATION_BYTES` is a problem
    naming it, never opened or read whole.
    """
    if not os.path.lexists(path):
        problems.append(f"{path}: annotation file listed in the split does not exist")
        return None
    try:
        data = read_regular_file(path, "VOC annotation", MAX_ANNOTATION_BYTES)
    except DatasetFormatError as error:
        problems.append(str(error))
        return None
    try:
        annotation = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        problems.append(f"{path.name}: not valid XML: {error}")
        return None
    except (ValueError, LookupError, RecursionError) as error:  # an unknown encoding, nesting too deep
        problems.append(f"{path.name}: not valid XML: {type(error).__name__}: {error}")
        return None
    filename = (annotation.findtext("filename") or f"{path.stem}.jpg").strip()
    try:
        height = _integer(annotation.findtext("size/height"), "size/height")
        width = _integer(annotation.findtext("size/width"), "size/width")
    except ValueError as error:
        problems.append(f"{path.name}: {error} (the image's size in pixels, or 0 when unknown)")
        return None
    objects = []
    for number, item in enumerate(annotation.findall("object"), 1):
        name = (item.findtext("name") or "").strip()
        box = item.find("bndbox")
        try:
            if box is None:
                raise ValueError("no <bndbox>")
            xmin, ymin, xmax, ymax = (
                float(box.findtext(tag) or "nan") for tag in ("xmin", "ymin", "xmax", "ymax")
            )
        except ValueError as error:
            problems.append(
                f"{path.name} object {number} ({name!r}): expected <bndbox> with numeric xmin, ymin, xmax, ymax ({error})"
            )
            continue
        try:
            flags = (
                _integer(item.findtext("difficult"), "difficult", high=1),
                _integer(item.findtext("truncated"), "truncated", high=1),
            )
        except ValueError as error:
            problems.append(f"{path.name} object {number} ({name!r}): {error}")
            continue
        # VOC's pixels are 1-based and its maxima inclusive: corners are (xmin - 1, ymin - 1, xmax, ymax).
        objects.append((name, (xmin - 1, ymin - 1, xmax, ymax), *flags, number))
    return filename, height, width, objects


def _integer(text: str | None, what: str = "value", low: int = 0, high: int = 2**31 - 1) -> int:
    """A whole number written in the XML (``"12"``, ``"12.0"``); missing or empty is 0.

    Raises:
        ValueError: Not a number, not finite or outside ``low..high``; the message names ``what``.
    """
    if text is None or not text.strip():
        return 0
    try:
        value = float(text)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
        number = int(value)
    except (ValueError, OverflowError):
        raise ValueError(f"<{what}>: expected a whole number, got {text.strip()[:40]!r}") from None
    if not low <= number <= high:
        raise ValueError(f"<{what}>: expected a whole number from {low} to {high}, got {text.strip()[:40]!r}")
    return number


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
    [`VOCDetectionDataset`][visiondata.formats.VOCDetectionDataset] reads
    back the same label ids. Crowd regions (``iscrowd=1``) are left out, as
    VOC has no crowd flag, and counted in the report's ``crowd_left_out``;
    ``include_crowd=True`` writes them as ordinary objects (the lost flag is
    counted in ``fields_left_out["iscrowd"]``). Crowd regions the source's
    reader left out (its own ``include_crowd=False``) are counted in
    ``source_crowd_left_out``.

    VOC detection XML holds boxes, ``difficult`` and ``truncated`` only: the
    report counts the rest. A box's instance mask or polygon (COCO
    ``segmentation``, CVAT/LabelMe/Label Studio/YOLO-segment polygons, the
    ``masks`` of a sample) is left out, its box written, and counted in
    ``masks_left_out`` (`to_coco` keeps them); other per-box fields (COCO
    ``area``, a tool's attributes) are counted by name in ``fields_left_out``;
    an image without boxes is written as an XML with no ``<object>`` and
    counted in ``empty_images``.

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
        A [`ConversionReport`][visiondata.formats.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: ``split`` is not a plain name, or a class name cannot be written in XML
            (a control character, surrounding spaces) or in ``labelmap.txt`` (a ``:``, a leading ``#``,
            the name ``background``): the message names the class and the character.
    """
    check_split_name(split)
    names, first, out, report, inputs = start_writing(dataset, out_dir, "voc", images)
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
        output = StagedOutput(staging)
        (staging / "Annotations").mkdir()
        for index, record in write_records(dataset, progress, report, names, first):
            mark_shapes(dataset, index, record)
            record = without_crowd(record, include_crowd, report, note=False)
            try:
                objects = _voc_objects(record, names)
            except ValueError as error:
                report.skipped.append(f"sample {index}: {error}")
                continue
            # Counted once the sample is sure to be written: VOC XML holds boxes, difficult and truncated.
            shapes_left_out(record, report)
            note_losses(record, report)
            note_oriented_left_out(dataset, index, len(record.boxes), report)
            # VOC keeps one folder of images and names annotations by stem: a/b.jpg becomes a_b.jpg, and
            # a.jpg beside a.png gets annotation a_2.xml (its <filename> still says a.png).
            safe = re.sub(r"\s", "_", safe_name(record.name).as_posix().replace("/", "_"))
            flat = unique_name(safe, taken_files, PurePosixPath(safe).suffix)
            stem = unique_name(PurePosixPath(flat).stem, taken_stems, "")
            place_image(record, output.path(f"JPEGImages/{flat}"), images, report)
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
        write_manifest(output, report, dataset, inputs)
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


def _voc_objects(record: WriteRecord, names: list[str]) -> list[str]:
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
