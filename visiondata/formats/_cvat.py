"""``CVATDataset``: CVAT's "CVAT for images 1.1" XML export (``annotations.xml``), as detection samples.

The layout, as CVAT writes it::

    <annotations>
      <version>1.1</version>
      <meta><task>...<labels><label><name>car</name>...</label></labels></task></meta>
      <image id="0" name="a.png" width="640" height="480">
        <box label="car" occluded="0" xtl="1" ytl="2" xbr="30" ybr="40" z_order="0">
          <attribute name="parked">true</attribute>
        </box>
        <polygon label="car" occluded="0" points="1,2;30,2;30,40" z_order="0"/>
        <mask label="car" rle="3, 2, ..." left="1" top="2" width="30" height="39"/>
        <polyline .../> <points .../> <tag label="..."/>
      </image>
    </annotations>

(``<meta>`` holds ``<task>``, ``<job>`` or ``<project>`` depending on what was exported.)
"""

from __future__ import annotations

import math
import os
import stat
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata._files import MAX_DATASET_FILE_BYTES, read_regular_file
from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import DetectionIndex, box_problems
from visiondata.datasets._index import smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError
from visiondata.formats._shapes import KIND_BOX, KIND_POLYGON, KIND_RLE, ShapeDetectionDataset

#: Shapes read as boxes (with a mask under ``masks=True``).
BOX_SHAPES = ("box", "polygon", "mask", "ellipse")
#: Shapes that are not boxes: counted in ``skipped_shapes``, never read as boxes.
OTHER_SHAPES = ("points", "polyline", "tag", "cuboid", "skeleton")
#: Per-box fields every sample has; an ``<attribute>`` of one of these names is stored as ``attribute_<name>``.
_RESERVED = ("boxes", "labels", "image_id", "masks", "occluded", "z_order")
_ELLIPSE_VERTICES = 64
# A <mask> region larger than this is refused before it is decoded (an image of 32768 x 32768).
_MAX_MASK_PIXELS = 1 << 30


class CVATDataset(ShapeDetectionDataset):
    """Images and shapes of a CVAT for images 1.1 XML export (``annotations.xml``).

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels),
    "labels": int64, "image_id": the ``<image id>``, "occluded": int64,
    "z_order": int64, one field per ``<attribute>`` name})``, plus
    ``"masks"`` (``N x H x W`` ``uint8``) with ``masks=True``.

    Shapes read as boxes, in file order within each image:

    - ``<box xtl ytl xbr ybr>``: as written (CVAT's corners are already 0-based pixel edges); a
      ``rotation`` other than 0 gives the axis-aligned box enclosing the rotated one;
    - ``<polygon points="x1,y1;x2,y2;...">``: its extent; its mask is the polygon rasterised;
    - ``<mask rle left top width height>``: the region ``left, top, left + width, top + height``;
      its mask is the RLE (counts alternating from background, row by row over that region);
    - ``<ellipse cx cy rx ry>``: its extent; its mask the ellipse.

    With ``masks=True`` a ``<box>``'s mask is its rectangle (filled), never an empty mask.
    ``polygons(index)`` gives one item per box, in the order of the boxes: a ``(K, 2)`` float array
    of ``x y`` pixels (a polygon; a rotated box as its 4 corners; an ellipse as 64 points), or
    ``None`` for a plain ``<box>`` and for a ``<mask>`` (an RLE has no outline: ``mask_only(index)``
    tells them apart). Shapes are kept in flat arrays, with or without ``masks=True``.
    ``<points>``, ``<polyline>``, ``<tag>``, ``<cuboid>`` and ``<skeleton>`` are not boxes: they are
    left out and counted per kind in `skipped_shapes` (a plain ``dict``), never silently; so are
    ``<track>`` elements (a video task's objects, which "CVAT for video" export holds).

    Attributes (``<attribute name="parked">true</attribute>``) become per-box fields: an attribute
    whose every value is a number or ``true``/``false`` is a ``float32`` field (``true`` is 1,
    ``false`` 0; NaN where a shape does not have it); any other attribute is an ``int64`` field of
    codes indexing ``attribute_values[name]`` (its distinct values in order of first appearance; -1
    where a shape does not have it). An attribute named like a field of the schema (``occluded``,
    ``labels``...) is stored as ``attribute_<name>``.

    Labels index `classes`: by default ``"__background__"`` then the ``<label>`` names of ``<meta>``
    in file order (labels of a skeleton's points, which have a ``<parent>``, are left out); a file
    without them takes the shape labels in order of first appearance. ``classes=`` fixes the list.

    Problems of a shape (a label not among the classes, a missing or non-numeric coordinate, a box
    with no area or beyond the image, an RLE that does not fit its region) name the image and the
    shape's position among the image's shapes, and follow ``on_error`` like
    [`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset]; so do image problems (a path
    leaving ``images_dir``, a missing file, a width or height that is not a whole number). Problems of
    the file itself raise [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError]: not a
    regular file, not well-formed XML, a ``<!DOCTYPE>`` (entity declarations are refused, so an
    entity-expansion bomb is never expanded), a root other than ``<annotations>``.

    Args:
        annotation_file: The XML file (CVAT names it ``annotations.xml``).
        images_dir: Folder the ``<image name>`` paths are relative to (default: the XML's folder, or
            ``images/`` beside it when the images are there, as CVAT's export with images lays them).
        classes: Class names the labels index.
        masks: Add instance masks from polygons, masks, ellipses and boxes.
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        allow_outside_root: Accept image paths leaving ``images_dir``.
        check_files: Check at construction that every image file exists.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0.
        strict: For the default loader (see [`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset]).
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> _ = (root / "annotations.xml").write_text(
        ...     '<annotations><version>1.1</version><meta><task><labels><label><name>kiwi</name></label>'
        ...     '</labels></task></meta><image id="5" name="a.png" width="20" height="10">'
        ...     '<box label="kiwi" occluded="1" xtl="1" ytl="2" xbr="9" ybr="8" z_order="0">'
        ...     '<attribute name="ripe">true</attribute></box><tag label="kiwi"/></image></annotations>')
        >>> dataset = CVATDataset(root / "annotations.xml")
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), target["image_id"], target["ripe"].tolist()
        ([[1.0, 2.0, 9.0, 8.0]], [1], 5, [1.0])
        >>> dataset.skipped_shapes
        {'tag': 1}
    """

    def __init__(
        self,
        annotation_file: str | os.PathLike[str],
        images_dir: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = None,
        masks: bool = False,
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
        path = Path(annotation_file).expanduser()
        if not os.path.lexists(path):
            raise DatasetNotFoundError(f"{path}: CVAT annotation file not found")
        root_element = _parse(path)
        images = root_element.findall("image")
        self._tracks = root_element.findall("track")
        if images_dir is None:
            images_dir = _default_images_dir(path, images)
        super().__init__(images_dir, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.annotation_file = str(path)
        self.allow_outside_root = allow_outside_root
        self.masks = bool(masks)
        #: Shapes that are not boxes (points, polylines, tags...), left out: kind -> count.
        self.skipped_shapes: dict[str, int] = {}
        #: Per non-numeric attribute, its distinct values: the field's codes index this list.
        self.attribute_values: dict[str, list[str]] = {}
        if classes is not None:
            self.classes = class_names(classes)
        else:
            names = _meta_labels(root_element)
            if not names:  # no <meta> labels: the shapes' own, in order of first appearance
                names = list(
                    dict.fromkeys(
                        (shape.get("label") or "").strip()
                        for image in images
                        for shape in image
                        if shape.tag in BOX_SHAPES
                    )
                )
            self.classes = ([BACKGROUND] if background else []) + names
        refuse_duplicate_classes(self.classes, self.annotation_file)
        self.category_ids = [None] * len(self.classes)
        problems: list[str] = []
        self.index = self._build(images, allow_outside_root, check_files, problems)
        del root_element, images, self._tracks
        self._settle(self.annotation_file, problems)

    def _build(
        self,
        images: list[ElementTree.Element],
        allow_outside_root: bool,
        check_files: bool,
        problems: list[str],
    ) -> DetectionIndex:
        label_of = {name: label for label, name in enumerate(self.classes)}
        paths, image_ids, sizes, box_image, boxes, labels, occluded, z_order = [], [], [], [], [], [], [], []
        attributes: list[dict[str, str]] = []
        shapes: list[tuple[int, np.ndarray | None]] = []
        skipped: Counter[str] = Counter()
        for number, image in enumerate(images):
            name = image.get("name") or ""
            where_image = f"image {image.get('id', number)} ({name!r})"
            try:
                image_id = _whole(image.get("id"), "id", default=number)
                height = _whole(image.get("height"), "height")
                width = _whole(image.get("width"), "width")
            except ValueError as error:
                problems.append(f"{where_image}: {error}")
                continue
            path, problem = check_path(name, self.root, allow_outside_root)
            if problem is None and check_files and not os.path.isfile(os.path.join(self.root, path)):
                problem = f"image file {os.path.join(self.root, path)} does not exist"
            if problem is not None:
                problems.append(f"{where_image}: {problem}")
                continue
            position = len(paths)
            found: list[
                tuple[str, tuple[float, float, float, float], tuple[int, np.ndarray] | None, Any]
            ] = []
            for shape_number, shape in enumerate(image, 1):
                kind = shape.tag
                label = (shape.get("label") or "").strip()
                where = f"{where_image} shape {shape_number} (<{kind}> {label!r})"
                if kind not in BOX_SHAPES:
                    skipped[kind] += 1
                    continue
                if label not in label_of:
                    problems.append(f"{where}: label {label!r} is not one of the classes {self.classes}")
                    continue
                try:
                    box, geometry = _geometry(shape, kind)
                    flags = (
                        _whole(shape.get("occluded"), "occluded", high=1),
                        _whole(shape.get("z_order"), "z_order", low=-(2**31)),
                    )
                except ValueError as error:
                    problems.append(f"{where}: {error}")
                    continue
                found.append((where, box, geometry, (label_of[label], *flags, shape)))
            array = np.array([item[1] for item in found], dtype=np.float64).reshape(-1, 4)
            issues = box_problems(array, np.tile([height, width], (len(found), 1)))
            for (where, _, geometry, (label, is_occluded, order, shape)), box, issue in zip(
                found, array, issues, strict=True
            ):
                if issue is not None:
                    problems.append(f"{where}: {issue}")
                    continue
                box_image.append(position)
                boxes.append(box)
                labels.append(label)
                occluded.append(is_occluded)
                z_order.append(order)
                attributes.append(
                    {
                        (item.get("name") or "").strip(): (item.text or "").strip()
                        for item in shape.iter("attribute")
                    }
                )
                shapes.append(geometry if geometry is not None else (KIND_BOX, None))
            paths.append(path)
            image_ids.append(image_id)
            sizes.append((height, width))
        # A <track> (an object followed across frames, from a video task) holds no per-image shape here.
        tracks = len(self._tracks)
        if tracks:
            skipped["track"] += tracks
        self.skipped_shapes = dict(skipped)
        fields: dict[str, np.ndarray] = {
            "occluded": np.asarray(occluded, dtype=np.int64),
            "z_order": np.asarray(z_order, dtype=np.int64),
        }
        fields.update(self._attribute_fields(attributes))
        # Boxes were appended image by image, so the index keeps this order: row j is shape j. float64: RLE
        # counts above 2**24 must stay exact.
        self._store_shapes(shapes, dtype=np.float64)
        return DetectionIndex.build(
            paths,
            np.asarray(image_ids, dtype=np.int64),
            np.asarray(sizes, dtype=np.int32).reshape(-1, 2),
            np.asarray(box_image, dtype=np.int64),
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(labels, dtype=smallest_int_type(max(len(self.classes) - 1, 0))),
            fields,
        )

    def _attribute_fields(self, attributes: list[dict[str, str]]) -> dict[str, np.ndarray]:
        """One field per attribute name: ``float32`` when every value is numeric/boolean, else codes."""
        names = list(dict.fromkeys(name for values in attributes for name in values))
        fields: dict[str, np.ndarray] = {}
        for name in names:
            values = [item.get(name) for item in attributes]
            field = f"attribute_{name}" if name in _RESERVED else name
            numbers = [_number(value) for value in values if value is not None]
            if all(number is not None for number in numbers):
                fields[field] = np.array(
                    [math.nan if value is None else _number(value) for value in values], dtype=np.float32
                )
            else:
                table = list(dict.fromkeys(value for value in values if value is not None))
                code = {value: position for position, value in enumerate(table)}
                self.attribute_values[field] = table
                fields[field] = np.array(
                    [-1 if value is None else code[value] for value in values], dtype=np.int64
                )
        return fields


def looks_like_cvat(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a CVAT for images XML file (or a folder holding ``annotations.xml``).

    Reads at most the first 4 KiB of a regular file (a FIFO or a device is never opened) and looks
    for an ``<annotations>`` root with a ``<version>`` or ``<meta>``.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "annotations.xml"
        >>> _ = path.write_text("<?xml version='1.0'?>\\n<annotations>\\n  <version>1.1</version>\\n</annotations>")
        >>> looks_like_cvat(path), looks_like_cvat(path.parent), looks_like_cvat("/dev/zero")
        (True, True, False)
    """
    path = Path(path)
    try:
        if path.is_dir():
            path = path / "annotations.xml"
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or path.suffix.lower() != ".xml":
            return False
        with open(path, "rb") as stream:
            head = stream.read(4096)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace")
    start = text.find("<annotations")
    after = text[start + len("<annotations") : start + len("<annotations") + 1]
    if start < 0 or not after or after not in "> \t\r\n":
        return False
    return "<version>" in text[start:] or "<meta>" in text[start:] or "<image " in text[start:]


class _NoDoctype(ElementTree.TreeBuilder):
    """A tree builder that refuses ``<!DOCTYPE>``: entity declarations live only there."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise _DoctypeError(name)


class _DoctypeError(Exception):
    pass


def _parse(path: Path) -> ElementTree.Element:
    """The ``<annotations>`` element of ``path``; any problem of the file is a named DatasetFormatError."""
    data = read_regular_file(path, "CVAT annotation file", MAX_DATASET_FILE_BYTES)
    parser = ElementTree.XMLParser(target=_NoDoctype())
    try:
        parser.feed(data)
        root = parser.close()
    except _DoctypeError:
        raise DatasetFormatError(
            f"{path}: CVAT annotation file: expected XML without a <!DOCTYPE>, got one; CVAT never writes one "
            "(entity declarations are refused, so an entity-expansion bomb is never expanded): remove it"
        ) from None
    except ElementTree.ParseError as error:
        raise DatasetFormatError(
            f"{path}: CVAT annotation file: expected well-formed XML, got {error}"
        ) from None
    except (ValueError, LookupError, RecursionError) as error:  # an unknown encoding, nesting too deep
        raise DatasetFormatError(
            f"{path}: CVAT annotation file: expected well-formed XML, got {type(error).__name__}: {error}"
        ) from None
    if root.tag != "annotations":
        raise DatasetFormatError(
            f"{path}: expected a CVAT for images XML file (root <annotations>), got root <{root.tag}>; "
            "export the task as 'CVAT for images 1.1' (a 'CVAT for video' export holds <track>s)"
        )
    version = (root.findtext("version") or "").strip()
    if version and not version.startswith("1."):
        raise DatasetFormatError(f"{path}: expected CVAT for images version 1.x, got <version>{version}")
    return root


def _meta_labels(root: ElementTree.Element) -> list[str]:
    """The ``<label>`` names of ``<meta>`` (task, job or project) in file order, without skeleton points."""
    meta = root.find("meta")
    if meta is None:
        return []
    names: dict[str, None] = {}
    for labels in meta.iter("labels"):
        for label in labels.findall("label"):
            name = (label.findtext("name") or "").strip()
            if name and not (label.findtext("parent") or "").strip():
                names.setdefault(name)
    return list(names)


def _default_images_dir(path: Path, images: list[ElementTree.Element]) -> Path:
    """The XML's folder, or ``images/`` beside it when the first image is there and not beside the XML."""
    folder = path.parent
    beside = folder / "images"
    first = next((image.get("name") for image in images if image.get("name")), None)
    if first and beside.is_dir() and not (folder / first).is_file() and (beside / first).is_file():
        return beside
    return folder


def _geometry(shape: ElementTree.Element, kind: str) -> tuple[tuple[float, float, float, float], Any]:
    """The ``xyxy`` extent of a shape and its mask geometry (``None`` for a plain box).

    Raises:
        ValueError: A coordinate is missing or not a number (the message names the attribute).
    """
    if kind == "box":
        x_min, y_min, x_max, y_max = (_coordinate(shape, name) for name in ("xtl", "ytl", "xbr", "ybr"))
        rotation = _coordinate(shape, "rotation", 0.0)
        if rotation % 360:
            corners = _rotated_corners(x_min, y_min, x_max, y_max, rotation)
            return _extent(corners), (KIND_POLYGON, corners.ravel())
        return (x_min, y_min, x_max, y_max), None
    if kind == "polygon":
        text = shape.get("points")
        try:
            if not text:
                raise ValueError
            points = np.array([[float(value) for value in pair.split(",")] for pair in text.split(";")])
            if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
                raise ValueError
        except ValueError:
            shown = "nothing" if text is None else repr(text[:60])
            raise ValueError(
                f"points: expected 'x1,y1;x2,y2;...' with at least 3 numeric points, got {shown}"
            ) from None
        return _extent(points), (KIND_POLYGON, points.ravel())
    if kind == "ellipse":
        cx, cy, rx, ry = (_coordinate(shape, name) for name in ("cx", "cy", "rx", "ry"))
        angle = np.linspace(0, 2 * np.pi, _ELLIPSE_VERTICES, endpoint=False)
        points = np.stack([cx + rx * np.cos(angle), cy + ry * np.sin(angle)], axis=1)
        rotation = _coordinate(shape, "rotation", 0.0)
        if rotation % 360:
            points = _rotate(points, cx, cy, rotation)
            return _extent(points), (KIND_POLYGON, points.ravel())
        return (cx - rx, cy - ry, cx + rx, cy + ry), (KIND_POLYGON, points.ravel())
    # <mask>: an RLE over the region left, top, width, height.
    left, top = _whole(shape.get("left"), "left"), _whole(shape.get("top"), "top")
    width, height = _whole(shape.get("width"), "width"), _whole(shape.get("height"), "height")
    text = shape.get("rle") or ""
    try:
        counts = np.array([int(value) for value in text.split(",") if value.strip()], dtype=np.int64)
    except ValueError:
        raise ValueError(f"rle: expected comma-separated whole numbers, got {text[:60]!r}") from None
    if width * height > _MAX_MASK_PIXELS:
        raise ValueError(f"mask region {width}x{height}: expected at most {_MAX_MASK_PIXELS:,} pixels")
    if (counts < 0).any() or int(counts.sum()) != width * height:
        raise ValueError(
            f"rle: expected counts >= 0 summing to width x height = {width}x{height} = {width * height}, "
            f"got a sum of {int(counts.sum())}"
        )
    return (left, top, left + width, top + height), (
        KIND_RLE,
        np.concatenate([[left, top, width, height], counts]),
    )


def _coordinate(shape: ElementTree.Element, name: str, default: float | None = None) -> float:
    text = shape.get(name)
    if text is None and default is not None:
        return default
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        shown = "nothing" if text is None else repr(text[:40])
        raise ValueError(f"{name}: expected a number, got {shown}") from None
    return value


def _rotate(points: np.ndarray, cx: float, cy: float, degrees: float) -> np.ndarray:
    """``points`` rotated clockwise on screen by ``degrees`` about ``(cx, cy)`` (CVAT's rotation)."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = points[:, 0] - cx, points[:, 1] - cy
    return np.stack([cx + x * cos - y * sin, cy + x * sin + y * cos], axis=1)


def _rotated_corners(x_min: float, y_min: float, x_max: float, y_max: float, degrees: float) -> np.ndarray:
    corners = np.array([[x_min, y_min], [x_max, y_min], [x_max, y_max], [x_min, y_max]], dtype=np.float64)
    return _rotate(corners, (x_min + x_max) / 2, (y_min + y_max) / 2, degrees)


def _extent(points: np.ndarray) -> tuple[float, float, float, float]:
    low, high = points.min(axis=0), points.max(axis=0)
    return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def _whole(text: str | None, what: str, default: int = 0, low: int = 0, high: int = 2**31 - 1) -> int:
    """A whole number written in an XML attribute (``"12"``, ``"12.0"``); missing or empty is ``default``.

    Raises:
        ValueError: Not a whole number or outside ``low..high``; the message names ``what``.
    """
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
        number = int(value)
        if number != value:
            raise ValueError
    except (ValueError, OverflowError):
        raise ValueError(f"{what}: expected a whole number, got {text.strip()[:40]!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{what}: expected a whole number from {low} to {high}, got {text.strip()[:40]!r}")
    return number


def _number(text: str) -> float | None:
    """An attribute value as a number (``true``/``false`` as 1/0), or ``None`` if it is not one."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return 1.0 if lowered == "true" else 0.0
    try:
        value = float(lowered)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
