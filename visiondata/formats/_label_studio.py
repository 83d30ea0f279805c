"""``LabelStudioDataset``: Label Studio's JSON export (a list of tasks), rectangles and polygons in percent.

One task of the export (``Export -> JSON``)::

    {"id": 7, "data": {"image": "/data/upload/1/3a7f2c1d-cat.png"},
     "annotations": [{"id": 3, "was_cancelled": false, "result": [
        {"type": "rectanglelabels", "original_width": 640, "original_height": 480, "image_rotation": 0,
         "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0, "rectanglelabels": ["cat"]}},
        {"type": "polygonlabels", "original_width": 640, "original_height": 480,
         "value": {"points": [[10, 10], [50, 10], [30, 40]], "polygonlabels": ["dog"]}}]}]}

``x``, ``width`` (and each point's x) are percent of ``original_width``; ``y``, ``height`` percent of
``original_height``; ``rotation`` is degrees clockwise about the rectangle's top-left corner ``(x, y)``.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from visiondata._arguments import check_bool, is_finite_number, is_int
from visiondata._files import MAX_DATASET_FILE_BYTES, read_regular_file
from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import DetectionIndex, box_problems
from visiondata.datasets._index import smallest_int_type
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError
from visiondata.formats._shapes import KIND_BOX, KIND_POLYGON, ShapeDetectionDataset, warn_skipped

#: Result types read as boxes; the others (keypointlabels, brushlabels, choices...) are counted in
#: ``skipped_shapes``.
LABEL_STUDIO_BOX_TYPES = ("rectanglelabels", "polygonlabels")

# Label Studio prefixes uploaded files with 8 hex digits and a dash: "3a7f2c1d-cat.png".
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")


class LabelStudioDataset(ShapeDetectionDataset):
    """Images and boxes of a Label Studio JSON export.

    ``annotation_file`` is the export (``Export -> JSON``: a list of tasks). A task's image is
    ``data[image_key]`` (``data.image`` by default), a URL or path of any form Label Studio writes
    (``/data/upload/1/3a7f2c1d-cat.png``, ``/data/local-files/?d=photos/cat.png``,
    ``s3://bucket/cat.png``, ``https://host/cat.png?token``): it is mapped to
    ``images_dir / <file name>`` (default ``images_dir``: the export's folder), the file name being the
    last component of the path (of the ``d=`` parameter for local files), URL-unquoted. When that file
    does not exist but the name carries Label Studio's upload prefix (``3a7f2c1d-cat.png``) and the
    original name (``cat.png``) does exist, that one is read (checked only with ``check_files=True``).

    Annotations: the first annotation of a task that is not cancelled (``was_cancelled``) is read
    (``completions``, the name of Label Studio before 1.0, too); a task with none is left out and its
    id listed in `unannotated_tasks`. ``rectanglelabels`` results are boxes: ``x``, ``y``, ``width``,
    ``height`` in percent of ``original_width``/``original_height`` become pixels; a rectangle with a
    ``rotation`` other than 0 becomes the axis-aligned box around the rotated rectangle (rotated
    clockwise about its top-left corner, in pixels), and its mask (``masks=True``) is the rotated
    rectangle itself. ``polygonlabels`` results are their extent as the box and the polygon as the mask.
    Other result types (keypoints, brushes, choices, text...) are left out, counted by type in
    `skipped_shapes` and announced by one ``UserWarning``.

    Labels index `classes`: by default ``"__background__"`` then the label names found, sorted;
    ``classes=`` fixes the list. Image ids are the task ids.

    A file that is not a regular file, not JSON or not a list of tasks raises
    [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError] naming it. Problems of a task (no
    image, an image path leaving ``images_dir``, a missing image) or of a result (no
    ``original_width``/``original_height``, non-numeric values, not exactly one label, an unknown
    label, a box with no area or beyond the image) name the task and the result's index and follow
    ``on_error`` as in the other detection readers.

    Args:
        annotation_file: The JSON export.
        images_dir: Folder of the images (default: the export's folder).
        classes: Class names the labels index (without the background).
        masks: Add ``"masks"`` (``N x H x W`` ``uint8``) to each sample.
        image_key: The key of ``data`` holding the image (the ``$name`` of the labelling config's
            ``<Image value="$name">``).
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        allow_outside_root: Accept image paths (``d=`` of local files) leaving ``images_dir``.
        check_files: Check at construction that every image file exists.
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
        >>> Image.new("RGB", (200, 100)).save(root / "cat.png")
        >>> result = {"type": "rectanglelabels", "original_width": 200, "original_height": 100,
        ...     "value": {"x": 10, "y": 20, "width": 50, "height": 30, "rotation": 0, "rectanglelabels": ["cat"]}}
        >>> task = {"id": 1, "data": {"image": "/data/upload/1/cat.png"},
        ...     "annotations": [{"was_cancelled": False, "result": [result]}]}
        >>> _ = (root / "export.json").write_text(json.dumps([task]))
        >>> image, target = LabelStudioDataset(root / "export.json")[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), target["image_id"]
        ([[20.0, 20.0, 120.0, 50.0]], [1], 1)
    """

    def __init__(
        self,
        annotation_file: str | os.PathLike[str],
        images_dir: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = None,
        masks: bool = False,
        image_key: str = "image",
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
        annotation_file = Path(annotation_file).expanduser()
        if not os.path.lexists(annotation_file):
            raise DatasetNotFoundError(
                f"{annotation_file}: expected a Label Studio JSON export, found nothing"
            )
        images = Path(images_dir).expanduser() if images_dir is not None else annotation_file.parent
        super().__init__(images, transform, target_transform, on_error, loader, strict, scaled_decode)
        self.masks = masks
        self.allow_outside_root = allow_outside_root
        self.annotation_file = str(annotation_file)
        tasks = _read_export(annotation_file)
        problems: list[str] = []
        #: Result types left out because they are not boxes: type -> count.
        self.skipped_shapes: Counter[str] = Counter()
        #: Ids of tasks left out because they have no annotation that is not cancelled.
        self.unannotated_tasks: list[Any] = []
        parsed = [self._parse_task(number, task, image_key, problems) for number, task in enumerate(tasks)]
        if classes is not None:
            names = class_names(classes)
        else:
            names = sorted({item[1] for task in parsed if task for item in task[3]})
        self.classes = ([BACKGROUND] if background else []) + names
        refuse_duplicate_classes(self.classes, annotation_file)
        self.category_ids = [None] * len(self.classes)
        self.index = self._build(parsed, check_files, problems)
        warn_skipped(annotation_file, self.skipped_shapes, "results")
        self._settle(self.annotation_file, problems)

    def _parse_task(
        self, number: int, task: Any, image_key: str, problems: list[str]
    ) -> tuple[str, Any, tuple[int, int], list[Any]] | None:
        """``(image name, task id, (height, width), [(where, label, xyxy, kind, points)])`` or None."""
        if not isinstance(task, dict):
            problems.append(
                f"{self.annotation_file} task {number}: expected a task object, got {str(task)[:40]}"
            )
            return None
        task_id = task.get("id", number)
        where = f"{self.annotation_file} task {task_id}"
        data = task.get("data")
        url = data.get(image_key) if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.strip():
            found = sorted(data) if isinstance(data, dict) else data
            problems.append(
                f"{where}: expected data.{image_key} naming the image, got data {str(found)[:60]} "
                "(pass image_key= for another key)"
            )
            return None
        annotations = task.get("annotations", task.get("completions"))
        chosen = next(
            (
                item
                for item in (annotations if isinstance(annotations, list) else [])
                if isinstance(item, dict) and not item.get("was_cancelled")
            ),
            None,
        )
        if chosen is None:
            self.unannotated_tasks.append(task_id)
            return None
        results = chosen.get("result")
        if not isinstance(results, list):
            problems.append(f"{where}: expected annotations[].result to be a list, got {str(results)[:40]}")
            return None
        height = width = 0
        shapes = []
        for index, result in enumerate(results):
            spot = f"{where} result {index}"
            if not isinstance(result, dict):
                problems.append(f"{spot}: expected a result object, got {str(result)[:40]}")
                continue
            kind = result.get("type")
            if kind not in LABEL_STUDIO_BOX_TYPES:
                self.skipped_shapes[str(kind)] += 1
                continue
            try:
                shape, size = _result_shape(result, kind)
            except ValueError as error:
                problems.append(f"{spot}: {error}")
                continue
            if height == 0:
                height, width = size
            shapes.append((spot, *shape))
        return _image_name(url), task_id, (height, width), shapes

    def _build(self, parsed: list[Any], check_files: bool, problems: list[str]) -> DetectionIndex:
        label_of = {name: label for label, name in enumerate(self.classes)}
        paths, ids, sizes, box_image, boxes, labels = [], [], [], [], [], []
        shapes_kept: list[tuple[int, list[float] | None]] = []
        for task in parsed:
            if task is None:
                continue
            name, task_id, (height, width), shapes = task
            path, problem = check_path(name, self.root, self.allow_outside_root)
            if problem is None and check_files and not os.path.isfile(os.path.join(self.root, path)):
                original = _UPLOAD_PREFIX.match(os.path.basename(path))
                alternative = (
                    os.path.join(os.path.dirname(path), original.group(1)) if original is not None else None
                )
                if alternative is not None and os.path.isfile(os.path.join(self.root, alternative)):
                    path = alternative
                else:
                    problem = (
                        f"image file {os.path.join(self.root, path)} does not exist: expected the task's image "
                        "in images_dir under its file name"
                    )
            if problem is not None:
                problems.append(f"{self.annotation_file} task {task_id}: {problem}")
                continue
            position = len(paths)
            table = np.array([shape[2] for shape in shapes], dtype=np.float64).reshape(-1, 4)
            issues = box_problems(table, np.tile([height, width], (len(shapes), 1)))
            for (spot, label, _, kind, points), box, issue in zip(shapes, table, issues, strict=True):
                if label not in label_of:
                    problems.append(f"{spot}: label {label!r} is not one of the classes {self.classes}")
                elif issue is not None:
                    problems.append(f"{spot} ({label!r}): {issue}")
                else:
                    box_image.append(position)
                    boxes.append(box)
                    labels.append(label_of[label])
                    shapes_kept.append((kind, points))
            paths.append(path)
            ids.append(task_id if is_int(task_id) else position)
            sizes.append((height, width))
        index = DetectionIndex.build(
            paths,
            np.asarray(ids, dtype=np.int64),
            np.asarray(sizes, dtype=np.int32).reshape(-1, 2),
            np.asarray(box_image, dtype=np.int64),
            np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            np.asarray(labels, dtype=smallest_int_type(max(len(self.classes) - 1, 0))),
        )
        self._store_shapes(shapes_kept)
        return index


def _number(value: Any, what: str) -> float:
    if not is_finite_number(value):
        raise ValueError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


def _result_shape(
    result: dict[str, Any], kind: str
) -> tuple[tuple[str, list[float], int, Any], tuple[int, int]]:
    """``((label, xyxy pixels, mask kind, polygon points), (height, width))`` of one result."""
    width = _number(result.get("original_width"), "original_width")
    height = _number(result.get("original_height"), "original_height")
    if width <= 0 or height <= 0 or width != int(width) or height != int(height):
        raise ValueError(
            f"original_width/original_height: expected whole numbers of pixels, got {width:g}x{height:g}"
        )
    value = result.get("value")
    if not isinstance(value, dict):
        raise ValueError(f"expected a 'value' object, got {str(value)[:40]}")
    names = value.get(kind)
    if not isinstance(names, list) or len(names) != 1 or not isinstance(names[0], str):
        raise ValueError(f"value.{kind}: expected one label name, got {str(names)[:60]}")
    if kind == "rectanglelabels":
        x = _number(value.get("x"), "value.x") * width / 100
        y = _number(value.get("y"), "value.y") * height / 100
        w = _number(value.get("width"), "value.width") * width / 100
        h = _number(value.get("height"), "value.height") * height / 100
        rotation = _number(value.get("rotation", 0) or 0, "value.rotation")
        if rotation % 360 == 0:
            return (names[0], [x, y, x + w, y + h], KIND_BOX, None), (int(height), int(width))
        # Clockwise on screen (y down) about the top-left corner, as Label Studio draws it.
        angle = math.radians(rotation)
        cos, sin = math.cos(angle), math.sin(angle)
        corners = [
            (x + dx * cos - dy * sin, y + dx * sin + dy * cos) for dx, dy in ((0, 0), (w, 0), (w, h), (0, h))
        ]
        polygon = [coordinate for corner in corners for coordinate in corner]
    else:
        points = value.get("points")
        if not isinstance(points, list) or len(points) < 3:
            raise ValueError(
                f"value.points: expected at least 3 [x, y] points in percent, got {str(points)[:60]}"
            )
        polygon = []
        for point in points:
            if not isinstance(point, list) or len(point) != 2:
                raise ValueError(f"value.points: expected [x, y] points, got {str(point)[:40]}")
            polygon += [
                _number(point[0], "point x") * width / 100,
                _number(point[1], "point y") * height / 100,
            ]
    xs, ys = polygon[0::2], polygon[1::2]
    return (names[0], [min(xs), min(ys), max(xs), max(ys)], KIND_POLYGON, polygon), (int(height), int(width))


def _image_name(url: str) -> str:
    """The file name of a task's image URL/path (the ``d=`` path of a local-files URL), unquoted.

    Examples:
        >>> _image_name("/data/upload/1/3a7f2c1d-cat%20one.png")
        '3a7f2c1d-cat one.png'
        >>> _image_name("/data/local-files/?d=photos/dog.jpg")
        'dog.jpg'
        >>> _image_name("s3://bucket/set/fig.jpg?X-Amz=1")
        'fig.jpg'
    """
    parts = urlsplit(url.strip())
    local = parse_qs(parts.query).get("d")
    path = local[0] if local and "local-files" in parts.path else unquote(parts.path)
    return PurePosixPath(path.replace("\\", "/")).name


def _read_export(path: Path) -> list[Any]:
    """The tasks of an export; a named DatasetFormatError if it is not a regular JSON file of a list."""
    import json

    data = read_regular_file(path, "Label Studio export", MAX_DATASET_FILE_BYTES)
    try:
        tasks = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise DatasetFormatError(
            f"{path}: Label Studio export: expected JSON, got invalid JSON ({error}); export the project "
            "again with Export -> JSON"
        ) from None
    if isinstance(tasks, dict) and "data" in tasks:
        tasks = [tasks]  # one task, as the API returns it
    if not isinstance(tasks, list):
        raise DatasetFormatError(
            f"{path}: Label Studio export: expected a list of tasks (Export -> JSON), got a "
            f"{type(tasks).__name__}{' with keys ' + str(sorted(tasks)[:6]) if isinstance(tasks, dict) else ''}"
        )
    return tasks


def looks_like_label_studio(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a Label Studio JSON export: a list of tasks with ``data`` and annotations.

    Reads the first MiB only; never raises.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as stream:
            head = stream.read(1 << 20)
    except OSError:
        return False
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    return (
        text.startswith("[")
        and text[1:].lstrip().startswith("{")
        and '"data"' in text
        and ('"annotations"' in text or '"completions"' in text)
    )
