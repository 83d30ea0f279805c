"""``LabelMeDataset``: LabelMe JSON annotations, one file per image.

LabelMe (wkentaro/labelme) saves one JSON file per image::

    {"version": "5.4.1", "flags": {}, "imagePath": "cat.png", "imageData": "<base64 or null>",
     "imageHeight": 480, "imageWidth": 640,
     "shapes": [{"label": "cat", "points": [[x, y], ...], "group_id": null,
                 "shape_type": "rectangle", "flags": {}}, ...]}

``imagePath`` is relative to the JSON file; ``points`` are pixels (x to the right, y down).
The shape machinery here (boxes plus optional polygon masks) is shared with the Label Studio reader.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import stat
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata._arguments import check_bool, check_int, is_finite_number, is_int
from visiondata._files import MAX_ANNOTATION_BYTES, read_regular_file
from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import DetectionIndex, box_problems
from visiondata.datasets._index import smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, ImageReadError
from visiondata.formats._shapes import (
    KIND_BOX,
    KIND_CIRCLE,
    KIND_POLYGON,
    ShapeDetectionDataset,
    warn_skipped,
)
from visiondata.io import read_image, read_planned

#: LabelMe shape types read as boxes; the others (point, line, linestrip, points, mask...) are counted
#: in ``skipped_shapes``.
LABELME_BOX_SHAPES = ("rectangle", "polygon", "circle")


class LabelMeDataset(ShapeDetectionDataset):
    """Images and boxes annotated with LabelMe: one JSON file per image.

    ``root`` is a folder: every ``*.json`` file under it (recursively, sorted) is a LabelMe
    annotation; a single LabelMe JSON file may be passed too (its folder is then the root). The image
    of a file is its ``imagePath``, relative to the JSON file (LabelMe's own rule; backslashes
    written on Windows are read as separators); a path leaving ``root`` is a problem unless
    ``allow_outside_root=True``.

    Shapes: a ``rectangle`` (two corners in any order; four corners are accepted too) is its box; a
    ``polygon`` (three points or more; also a shape with no ``shape_type``, LabelMe's default) is its
    extent as the box and, with ``masks=True``, the polygon as the mask; a ``circle`` (its centre and
    a point on its rim) is the box around the circle, clipped to the image when its size is known
    (a circle may reach beyond the border), and with ``masks=True`` the disc. ``point``, ``points``,
    ``line``, ``linestrip`` and ``mask`` shapes have no box: they are left out, counted by type in
    `skipped_shapes` and announced by one ``UserWarning``, never silently dropped. ``group_id`` is the
    per-box field ``"group_id"`` (``-1`` where null).

    Images: the file at ``imagePath`` is read when it exists; when it does not and the JSON embeds the
    image (``imageData``, base64, as LabelMe saves by default), the embedded bytes are decoded by
    [`read_image`][visiondata.io.read_image] (a custom ``loader`` receives only file paths, so it is not
    called for those). With neither, the image is a problem (``check_files=True``) or an unreadable
    file when loaded.

    Labels index `classes`: by default ``"__background__"`` then the label names found, sorted;
    ``classes=`` fixes the list, and a shape of another label is a problem naming the known ones.

    Problems follow ``on_error`` as in the other detection readers (see
    [`DetectionFileDataset`][visiondata.datasets.DetectionFileDataset]): a file that is not a regular
    file or not valid JSON, or has no ``shapes`` list, is a problem of that image (the image is left
    out under ``"skip"``/``"warn"``); a shape with malformed points, no area, beyond the image or of an
    unknown label is a problem naming the file and the shape's index (that box is left out).

    Args:
        root: The folder of LabelMe JSON files (or one such file).
        classes: Class names the labels index (without the background).
        masks: Add ``"masks"`` (``N x H x W`` ``uint8``) to each sample.
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        allow_outside_root: Accept ``imagePath`` values leaving ``root``.
        check_files: Check at construction that every image exists (or is embedded).
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0.
        strict: Strict decoding for the default loader (see ``VOCDetectionDataset``).
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.

    Examples:
        >>> import json, tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.new("RGB", (20, 10)).save(root / "a.png")
        >>> shapes = [{"label": "kiwi", "points": [[12, 8], [2, 1]], "shape_type": "rectangle", "group_id": None},
        ...           {"label": "kiwi", "points": [[5, 5]], "shape_type": "point", "group_id": None}]
        >>> _ = (root / "a.json").write_text(json.dumps({"version": "5.4.1", "flags": {}, "shapes": shapes,
        ...     "imagePath": "a.png", "imageData": None, "imageHeight": 10, "imageWidth": 20}))
        >>> import warnings
        >>> with warnings.catch_warnings(record=True):
        ...     dataset = LabelMeDataset(root)
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), dict(dataset.skipped_shapes)
        ([[2.0, 1.0, 12.0, 8.0]], [1], {'point': 1})
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
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
        check_bool("masks", masks, expected="True or False", error=TypeError)
        given = Path(root).expanduser()
        if given.is_file():
            folder, files = given.parent, [given]
        elif given.is_dir():
            folder = given
            files = sorted(path for path in given.rglob("*.json") if not path.name.startswith("."))
            if not files:
                raise DatasetNotFoundError(
                    f"{given}: expected LabelMe JSON files (one per image), found no *.json file"
                )
        else:
            raise DatasetNotFoundError(f"{given}: expected a folder of LabelMe JSON files, found nothing")
        super().__init__(folder, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.masks = masks
        self.allow_outside_root = allow_outside_root
        problems: list[str] = []
        #: Shapes left out because they are not boxes: shape type -> count.
        self.skipped_shapes: Counter[str] = Counter()
        records = [_read_labelme(path, problems) for path in files]
        if classes is not None:
            names = class_names(classes)
        else:
            names = sorted({shape[0] for record in records if record for shape in record[4]})
        self.classes = ([BACKGROUND] if background else []) + names
        refuse_duplicate_classes(self.classes, folder)
        self.category_ids = [None] * len(self.classes)
        #: The JSON file of each image, relative to the root.
        self.annotation_files: list[str] = []
        self._embedded: dict[str, str] = {}  # image path -> JSON file embedding it (imageData)
        self.index = self._build(files, records, check_files, problems)
        warn_skipped(folder, self.skipped_shapes, "shapes")
        self._settle(str(folder), problems)

    def _build(
        self, files: list[Path], records: list[Any], check_files: bool, problems: list[str]
    ) -> DetectionIndex:
        label_of = {name: label for label, name in enumerate(self.classes)}
        paths, sizes, box_image, boxes, labels, group_ids = [], [], [], [], [], []
        shapes_kept: list[tuple[int, list[float] | None]] = []
        for file, record in zip(files, records, strict=True):
            if record is None:
                continue
            image_path, has_data, height, width, shapes = record
            where_json = os.path.relpath(file, self.root)
            joined = os.path.join(os.path.dirname(where_json), image_path.replace("\\", "/"))
            path, problem = check_path(joined, self.root, self.allow_outside_root)
            missing = check_files and not has_data and not os.path.isfile(os.path.join(self.root, path))
            if problem is None and missing:
                problem = (
                    f"image file {os.path.join(self.root, path)} does not exist and the JSON embeds no "
                    "imageData: expected the image at imagePath, relative to the JSON file"
                )
            if problem is not None:
                problems.append(f"{file}: {problem}")
                continue
            position = len(paths)
            candidates: list[tuple[str, list[float], int, list[float] | None, int, int]] = []
            for number, (label, kind, corners, group_id, points) in enumerate(shapes):
                if kind is None:
                    self.skipped_shapes[str(points)] += 1  # the shape type, for a skipped shape
                    continue
                where = f"{file} shape {number} ({label!r})"
                if isinstance(corners, str):
                    problems.append(f"{where}: {corners}")
                    continue
                if label not in label_of:
                    problems.append(f"{where}: label {label!r} is not one of the classes {self.classes}")
                    continue
                if kind == KIND_CIRCLE and height > 0 and width > 0:
                    corners = [
                        min(max(corners[0], 0.0), width),
                        min(max(corners[1], 0.0), height),
                        min(max(corners[2], 0.0), width),
                        min(max(corners[3], 0.0), height),
                    ]
                group = -1 if group_id is None else group_id
                candidates.append((where, corners, label_of[label], points, kind, group))
            table = np.array([item[1] for item in candidates], dtype=np.float64).reshape(-1, 4)
            issues = box_problems(table, np.tile([height, width], (len(candidates), 1)))
            for (where, _, label, points, kind, group), box, issue in zip(
                candidates, table, issues, strict=True
            ):
                if issue is not None:
                    problems.append(f"{where}: {issue}")
                    continue
                box_image.append(position)
                boxes.append(box)
                labels.append(label)
                group_ids.append(group)
                shapes_kept.append((kind, points))
            paths.append(path)
            sizes.append((height, width))
            self.annotation_files.append(where_json)
            if has_data:
                self._embedded[os.path.join(self.root, path)] = str(file)
        index = DetectionIndex.build(
            paths,
            np.arange(len(paths)),
            np.asarray(sizes, dtype=np.int32).reshape(-1, 2),
            np.asarray(box_image, dtype=np.int64),
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(labels, dtype=smallest_int_type(max(len(self.classes) - 1, 0))),
            {"group_id": np.asarray(group_ids, dtype=np.int64)},
        )
        # Boxes are appended image by image, so build()'s stable grouping keeps this order.
        self._store_shapes(shapes_kept)
        return index

    # load_image reads the file as the default reader does, or the embedded imageData: both can be
    # decoded for a transform's plan (see ImageFileDataset._planner).
    _load_image_plans = True

    def load_image(self, path: str) -> Any:
        """Read the image file, or decode the JSON's embedded ``imageData`` when the file does not exist."""
        source = self._image_source(path)
        return super().load_image(path) if isinstance(source, str) else read_image(source, strict=self.strict)

    def _load(self, index: int, path: str, planner: Any) -> Any:
        if planner is None:
            return self.load_image(path)
        return read_planned(self._image_source(path), planner, strict=self.strict)

    def _image_source(self, path: str) -> str | bytes:
        """``path``, or the embedded ``imageData``'s bytes when the file does not exist and the JSON has them."""
        source = self._embedded.get(path)
        if source is None or os.path.lexists(path):
            return path
        try:
            document = json.loads(read_regular_file(source, "LabelMe annotation", MAX_ANNOTATION_BYTES))
            return base64.b64decode(document["imageData"], validate=True)
        except (DatasetFormatError, ValueError, TypeError, KeyError, binascii.Error) as error:
            raise ImageReadError(
                path, "embedded imageData unreadable", f"{source}: {type(error).__name__}: {error}"
            ) from error


def _number(value: Any) -> float:
    # Finite only: Python's json reads NaN and Infinity, and min()/max() of the points skip a NaN that
    # is not first, so the box would look whole while the polygon kept a NaN vertex.
    if not is_finite_number(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _points(value: Any, minimum: int) -> list[tuple[float, float]]:
    """``[[x, y], ...]`` as float pairs; ValueError naming what is wrong."""
    if not isinstance(value, list) or len(value) < minimum:
        raise ValueError(f"expected a list of at least {minimum} [x, y] points, got {str(value)[:60]}")
    pairs = []
    for point in value:
        if not isinstance(point, list) or len(point) != 2:
            raise ValueError(f"expected [x, y] points, got {str(point)[:40]}")
        pairs.append((_number(point[0]), _number(point[1])))
    return pairs


def labelme_shape(shape: Any) -> tuple[str, int | None, list[float] | str, int | None, Any]:
    """One LabelMe shape as ``(label, kind, xyxy or problem text, group_id, stored points)``.

    ``kind`` is ``None`` for a shape that is not a box (then the last item is its type).
    """
    if not isinstance(shape, dict):
        return "", KIND_BOX, f"expected a shape object, got {str(shape)[:40]}", None, None
    label = shape.get("label")
    label = label if isinstance(label, str) else str(label)
    shape_type = shape.get("shape_type") or "polygon"  # LabelMe's default
    group_id = shape.get("group_id")
    if group_id is not None and not is_int(group_id):
        return label, KIND_BOX, f"group_id: expected a whole number or null, got {group_id!r}", None, None
    if shape_type not in LABELME_BOX_SHAPES:
        return label, None, "", None, str(shape_type)
    try:
        if shape_type == "rectangle":
            pairs = _points(shape.get("points"), 2)
            if len(pairs) not in (2, 4):
                raise ValueError(f"a rectangle has 2 corners (or 4), got {len(pairs)} points")
            kind, stored = KIND_BOX, None
        elif shape_type == "polygon":
            pairs = _points(shape.get("points"), 3)
            kind, stored = KIND_POLYGON, [value for pair in pairs for value in pair]
        else:
            pairs = _points(shape.get("points"), 2)
            if len(pairs) != 2:
                raise ValueError(f"a circle has its centre and one rim point, got {len(pairs)} points")
            (cx, cy), (rx, ry) = pairs
            radius = math.hypot(rx - cx, ry - cy)
            pairs = [(cx - radius, cy - radius), (cx + radius, cy + radius)]
            kind, stored = KIND_CIRCLE, [cx, cy, radius]
    except ValueError as error:
        return label, KIND_BOX, f"{shape_type} points: {error}", group_id, None
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    return label, kind, [min(xs), min(ys), max(xs), max(ys)], group_id, stored


def _read_labelme(path: Path, problems: list[str]) -> tuple[str, bool, int, int, list[Any]] | None:
    """``(imagePath, has imageData, height, width, shapes)`` of one file, or None (a problem) if unreadable."""
    try:
        data = read_regular_file(path, "LabelMe annotation", MAX_ANNOTATION_BYTES)
    except DatasetFormatError as error:
        problems.append(str(error))
        return None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        problems.append(f"{path}: LabelMe annotation: expected JSON, got invalid JSON ({error})")
        return None
    if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
        problems.append(
            f"{path}: LabelMe annotation: expected an object with a 'shapes' list and an 'imagePath', got "
            f"{type(document).__name__ if not isinstance(document, dict) else 'keys ' + str(sorted(document)[:8])}"
        )
        return None
    image_path = document.get("imagePath")
    if not isinstance(image_path, str) or not image_path.strip():
        problems.append(
            f"{path}: LabelMe annotation: expected 'imagePath' naming the image, got {image_path!r}"
        )
        return None
    sizes = []
    for key in ("imageHeight", "imageWidth"):
        value = document.get(key)
        if value is None:
            value = 0  # unknown: boxes are checked against the decoded image
        try:
            sizes.append(
                check_int(
                    f"{path}: LabelMe annotation: {key}",
                    value,
                    minimum=0,
                    maximum=2**31 - 1,
                    expected="a whole number of pixels",
                )
            )
        except ValueError as error:
            problems.append(str(error))
            return None
    image_data = document.get("imageData")
    has_data = isinstance(image_data, str) and bool(image_data)
    shapes = [labelme_shape(shape) for shape in document["shapes"]]
    return image_path.strip(), has_data, sizes[0], sizes[1], shapes


def looks_like_labelme(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a LabelMe JSON file or a folder whose first JSON files are LabelMe's.

    Reads at most three files of at most `MAX_ANNOTATION_BYTES`; never raises.
    """
    path = Path(path)
    try:
        if path.is_dir():
            candidates = sorted(item for item in path.glob("*.json") if not item.name.startswith("."))[:3]
        else:
            candidates = [path] if path.suffix.lower() == ".json" else []
        if not candidates:
            return False
        for candidate in candidates:
            if not stat.S_ISREG(os.stat(candidate).st_mode):
                return False
            document = json.loads(read_regular_file(candidate, "LabelMe annotation", MAX_ANNOTATION_BYTES))
            if not (
                isinstance(document, dict)
                and isinstance(document.get("shapes"), list)
                and "imagePath" in document
            ):
                return False
        return True
    except (OSError, ValueError, RecursionError):
        return False
