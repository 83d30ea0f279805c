"""YOLO: ``YOLODataset`` reads the ``images/`` + ``labels/`` layout of YOLO trainers and Ultralytics' ``data.yaml``; ``to_yolo`` writes it."""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from visiondata._files import (
    MAX_ANNOTATION_BYTES,
    MAX_SPEC_BYTES,
    decode_text,
    read_regular_file,
    read_text_file,
    staged_output_dir,
)
from visiondata.boxes._validate import BORDER_TOLERANCE
from visiondata.datasets._base import BACKGROUND, check_path, class_names, refuse_duplicate_classes
from visiondata.datasets._detection import DetectionIndex, keypoint_problems
from visiondata.datasets._index import smallest_int_type
from visiondata.datasets._walk import FolderWalk
from visiondata.exceptions import DatasetFormatError, DatasetNotFoundError, ImageReadError
from visiondata.formats._shapes import KIND_CIRCLE, KIND_POLYGON, ShapeDetectionDataset
from visiondata.formats._writing import (
    ConversionReport,
    StagedOutput,
    WriteRecord,
    check_split_name,
    count_rotated,
    has_files,
    note_losses,
    place_image,
    safe_name,
    start_writing,
    unique_key,
    without_crowd,
    write_manifest,
    write_records,
)
from visiondata.io._read import IMAGE_EXTENSIONS

#: Without class names, class ids must be below this (``max_classes=``): the reader names classes
#: ``"0"``..``"<largest id>"``, so one id of 10^9 would otherwise make a billion names.
DEFAULT_MAX_CLASSES = 10_000

# A class id as YOLO writers write it: decimal digits, optionally with a zero fraction ("3", "3.0").
# Exponents ("1e3"), signs, "nan" and "inf" are not class ids.
_CLASS_ID = re.compile(r"[0-9]+(?:\.0*)?")
# Longer digit strings are beyond any limit; converting them would only cost time.
_MAX_ID_DIGITS = 12


class YOLODataset(ShapeDetectionDataset):
    """Images with one YOLO label file each: ``class cx cy w h`` or ``class x1 y1 ... xn yn`` per line, in [0, 1].

    Give ``images_dir`` (labels in ``labels_dir``, by default the same path
    with its last ``images`` folder replaced by ``labels``, as YOLO trainers
    expect: ``data/images/train/a.jpg`` -> ``data/labels/train/a.txt``), or
    ``data_yaml``: an Ultralytics dataset file whose ``path``, ``train`` /
    ``val`` / ``test`` entries (folders, lists of image paths in a ``.txt``
    file, or lists of those) and ``names`` pick the images of ``split``.

    ``data.yaml``, as Ultralytics reads it:

    - ``path`` is the dataset root; a relative ``path`` is relative to the
      YAML's folder (Ultralytics takes it relative to its own datasets
      folder), and no ``path`` means the YAML's folder.
    - ``train`` / ``val`` / ``test`` are absolute or relative to ``path``,
      and may lie outside it (``../shared/images``; as in Ultralytics, a
      single ``../x`` entry that does not exist is read as ``x``, which is how
      Roboflow's exports write ``train: ../train/images`` beside
      ``train/``): the folder or list file
      the YAML names is read wherever it is. Image paths *inside* a list
      file, and links found in the folders, stay confined to ``path`` unless
      ``allow_outside_root=True``. In a list file, a line starting with ``./``
      is relative to the list file's folder (Ultralytics' rule), an absolute
      line is used as it is, and another relative line is relative to
      ``path`` (Ultralytics reads those against its working directory).
    - Without any ``train`` / ``val`` / ``test`` entry (supervision writes a
      ``data.yaml`` with only ``names`` and ``nc``), the ``images/`` folder
      beside it (in ``path``) is the dataset, read as ``split="train"``.
    - ``names`` is a list of names (id = position) or a mapping of the ids
      ``0..n-1`` (integers, no gaps) to names; each name is a string or a
      number. A single string, nested lists or mappings, ``yes``/``no``
      (YAML reads them as booleans: quote them) and other keys are refused.
      ``nc``, when present, must equal the number of names; without
      ``names`` it sets the number of classes (named by their ids).

    Darknet's layout (CVAT's and datumaro's "YOLO 1.1" export) is read when
    ``images_dir`` is the export's folder (holding ``obj.data``, or at least
    ``obj.names``) or its ``obj.data``: ``obj.data`` holds ``classes = N``,
    ``train = data/train.txt``, ``valid = data/valid.txt``, ``names =
    data/obj.names``; Darknet runs from the folder holding the export as
    ``data/``, so a leading ``data/`` in it and in the list files is the
    export's root. ``split`` picks the subset (``"val"`` reads CVAT's
    ``valid``); without a list file the ``obj_<split>_data/`` folder is read.
    ``obj.names`` names the classes (one a line), and each label file lies
    beside its image (``obj_train_data/a.jpg``, ``obj_train_data/a.txt``).
    A ``classes`` count that disagrees with ``obj.names`` is a
    [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError].

    A ``data.yaml`` that is not a regular UTF-8 YAML mapping of at most
    `MAX_SPEC_BYTES` (an empty file, a list, malformed YAML, a FIFO...) raises
    [`DatasetFormatError`][visiondata.exceptions.DatasetFormatError] naming it.

    Each line is a box, ``class cx cy w h``, or a polygon, ``class x1 y1 x2
    y2 ... xn yn`` with n >= 3 points (YOLO's segment format, which
    supervision writes whenever masks exist); one file may hold both. A
    polygon's box is its extent (as Ultralytics' detect task reads it), and
    its points stay available: ``polygons(index)`` gives one item per box, in
    the order of the boxes, as every reader does: a ``(K, 2)`` float array
    of ``x y`` **pixels** (the normalised points scaled by the image's size,
    read from its header without decoding it), or ``None`` for a box line.
    ``masks=True`` adds ``"masks"`` (``N x H x W`` ``uint8``) to each sample,
    rasterised from the polygons at the decoded image's size (a pixel is
    inside when its centre is); a box line's mask is its box.
    (Ultralytics, once a file holds a polygon line, reads that file's box
    lines as two-point polygons; here a box line stays a box.) The points are
    kept normalised in one flat ``float32`` array with per-box offsets.

    An image without a label file, or with an empty one, has no boxes.
    Label files are read as regular files of at most `MAX_ANNOTATION_BYTES`:
    a FIFO, a device, a folder named ``x.txt``, a broken link or a file that
    is not UTF-8 is a problem naming the file. Malformed lines, class ids
    that are not plain integers (``1e3``, ``-1``, ``nan``) or have no name,
    polygons with an odd number of coordinates or fewer than 3 points, and
    coordinates that are not finite, outside [0, 1] (by more than 0.001;
    less is snapped onto the border) or without area (a polygon whose points
    lie on one line) are problems naming the file and line. Problems follow ``on_error`` as in
    [`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset]: ``"raise"`` lists
    them all in one error, ``"skip"``/``"warn"`` leave the line (or the
    file's boxes) out and record it in `problems`.

    Labels index `classes`: ``"__background__"`` then the names, so
    YOLO class ``c`` has label ``c + 1`` (`label_to_category_id` maps
    back); ``background=False`` keeps YOLO's own ids as labels. Without
    names (``classes=``, the YAML's ``names`` or ``nc``), classes are named
    by their ids, ``"0"`` up to the largest id found, and an id of
    ``max_classes`` (10,000 by default) or more is a problem: without names
    nothing else bounds how many classes one line creates.

    Samples: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels of the
    decoded image), "labels": int64, "image_id": index})``, plus ``"masks"``
    with ``masks=True``.

    Tasks (Ultralytics' label layouts, all normalised to [0, 1]):

    - ``"detect"`` / ``"segment"``: the box and polygon lines above.
    - ``"pose"``: ``class cx cy w h`` then ``K`` keypoints ``px py`` (``kpt_shape: [K, 2]``) or
      ``px py v`` (``kpt_shape: [K, 3]``), with ``kpt_shape`` from the ``data.yaml`` (or
      ``kpt_shape=``). Samples add ``"keypoints"``: ``float32`` ``(N, K, 3)`` ``x y visibility``
      in pixels of the decoded image, visibility as COCO's (0 not labelled, 1 labelled but hidden, 2
      visible). Without a visibility column a point is visible (2) unless it is ``0 0``, which is
      how Ultralytics' converters write a point that was not labelled (it becomes ``0 0 0``). A
      visibility other than 0, 1 or 2, a line of another length, a point beyond float32's range
      (also one not labelled: the index stores float32), and a labelled point outside the image
      (beyond 0.001; within it the point is snapped onto the border) are problems naming the file,
      line (and point), found by the readers' one keypoint check (``keypoint_problems``, as COCO's);
      the keypoints are held in the index (``index.keypoints``). `keypoint_names` come
      from the YAML's ``kpt_names`` (a list, or Ultralytics' mapping ``class id: [names]``),
      `flip_pairs` from its ``flip_idx`` (the permutation a horizontal flip applies, turned into
      the pairs it swaps; ``flip_pairs=`` overrides it), `skeleton` only from ``skeleton=``.
    - ``"obb"``: ``class x1 y1 x2 y2 x3 y3 x4 y4``, an oriented box by its four corners.
      ``target["boxes"]`` is then in format ``XYXYXYXY`` (pixels); the index keeps the corners beside
      each quadrilateral's enclosing box (`boxes`, `check` and the filters use that one), and
      `oriented_boxes` gives them in pixels. A degenerate (no area) or twisted quadrilateral and a
      corner outside the image are problems naming the file and line.

    ``task=None`` guesses: ``"pose"`` when the YAML has ``kpt_shape`` (or ``kpt_shape=`` is given),
    else ``"obb"`` when every line of every label file has 9 values (``class`` and 8 coordinates), at
    least one of them is not an axis-aligned rectangle (``to_yolo`` writes boxes as rectangle segment
    lines: those stay segments) and ``masks`` is False, else ``"detect"`` (box and polygon lines both
    read; ``"segment"`` is the same reader). The task chosen is `task`; give ``task=`` when a dataset
    of 4-point segments would be guessed as oriented boxes, or the reverse.

    Args:
        images_dir: Folder of images (searched recursively), or a Darknet export (its folder or ``obj.data``).
        labels_dir: Folder of label files mirroring ``images_dir``.
        classes: Names of YOLO's class ids, in id order.
        data_yaml: An Ultralytics ``data.yaml`` (instead of the folders).
        split: ``"train"``, ``"val"`` or ``"test"``: the ``data.yaml`` entry to read.
        transform: Called as ``transform(image, target)``.
        target_transform: Applied to the target last.
        on_error: ``"raise"``, ``"skip"`` or ``"warn"``.
        allow_outside_root: Accept image paths (in a ``data.yaml`` list) leaving the dataset folder.
        check_files: Check at construction that every listed image file exists.
        loader: Reads one image path; defaults to [`visiondata.io.read_image`][visiondata.io.read_image].
        background: Put ``"__background__"`` at label 0.
        max_classes: Without class names, the number of class ids accepted (ids
            ``0..max_classes - 1``); ignored when names are given (they bound the ids).
        strict: For the default loader: ``True`` refuses an image that decodes only with a
            warning (a JPEG with corrupt data), ``False`` decodes it as libjpeg recovers it;
            ``None`` (default) follows ``visiondata.io.set_strict_decode``.
        scaled_decode: Decode each JPEG for the output when the transform offers a plan (a
            ``BoxPipeline`` starting with a resize or resized crop, ``presets.detection_train``): ``None``
            (default) follows ``visiondata.io.set_scaled_decode``, ``False`` decodes every image exactly.
        masks: Add ``"masks"`` to each sample: the polygons rasterised, the box for a box line.
        task: ``"detect"``, ``"segment"``, ``"pose"`` or ``"obb"``; ``None`` (default) guesses it
            (see "Tasks" above).
        kpt_shape: ``[K, D]`` for pose labels without a ``data.yaml`` (``D`` 2 or 3); overrides the YAML's.
        flip_pairs: Pairs of keypoint indices a horizontal flip swaps; overrides the YAML's ``flip_idx``.
        skeleton: Pairs of keypoint indices joined when drawn (YOLO files hold none).

    Examples:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> (root / "images").mkdir(); (root / "labels").mkdir()
        >>> Image.new("RGB", (20, 10)).save(root / "images" / "a.png")
        >>> _ = (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.4\\n")
        >>> dataset = YOLODataset(root / "images", classes=["cat", "dog"])
        >>> image, target = dataset[0]
        >>> target["boxes"].tolist(), target["labels"].tolist(), dataset.classes
        ([[5.0, 3.0, 15.0, 7.0]], [2], ['__background__', 'cat', 'dog'])

        A polygon line (YOLO segment format) is read as its extent, and as a mask:

        >>> _ = (root / "labels" / "a.txt").write_text("0 0.25 0.2 0.75 0.2 0.75 0.8 0.25 0.8\\n")
        >>> image, target = YOLODataset(root / "images", classes=["cat"], masks=True)[0]
        >>> target["boxes"].tolist(), target["masks"].shape, int(target["masks"].sum())
        ([[5.0, 2.0, 15.0, 8.0]], torch.Size([1, 10, 20]), 60)
    """

    def __init__(
        self,
        images_dir: str | os.PathLike[str] | None = None,
        labels_dir: str | os.PathLike[str] | None = None,
        classes: Sequence[str] | None = None,
        data_yaml: str | os.PathLike[str] | None = None,
        split: str = "train",
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        on_error: str = "raise",
        allow_outside_root: bool = False,
        check_files: bool = True,
        loader: Callable[[str], Any] | None = None,
        background: bool = True,
        max_classes: int = DEFAULT_MAX_CLASSES,
        strict: bool | None = None,
        masks: bool = False,
        task: str | None = None,
        kpt_shape: Sequence[int] | None = None,
        flip_pairs: Sequence[Sequence[int]] | None = None,
        skeleton: Sequence[Sequence[int]] | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        if not isinstance(masks, bool):
            raise TypeError(f"masks: expected True or False, got {masks!r}")
        if task is not None and task not in YOLO_TASKS:
            raise ValueError(
                f"task: expected one of {', '.join(map(repr, YOLO_TASKS))} or None, got {task!r}"
            )
        #: Whether samples carry ``"masks"`` (``masks=True``).
        self.masks = masks
        if isinstance(max_classes, bool) or not isinstance(max_classes, int) or max_classes < 1:
            raise ValueError(f"max_classes: expected a positive int, got {max_classes!r}")
        problems: list[str] = []
        # Split folders a data.yaml names outside its path: (resolved folder) images may be read from.
        self._outside_folders: tuple[str, ...] = ()
        darknet = (
            None
            if data_yaml is not None or images_dir is None
            else _darknet_file(Path(images_dir).expanduser())
        )
        spec: Mapping[str, Any] = {}
        if data_yaml is not None:
            root, images, names, self._outside_folders, spec = _from_yaml(
                Path(data_yaml), split, allow_outside_root, check_files, max_classes, problems
            )
            classes = names if classes is None else classes
        elif darknet is not None:
            root, images, names = _from_darknet(darknet, split, allow_outside_root, check_files, problems)
            classes = names if classes is None else classes
        elif images_dir is not None:
            root = Path(images_dir).expanduser()
            if not root.is_dir():
                raise DatasetNotFoundError(
                    f"{root}: expected a folder of images, found {'a file' if root.exists() else 'nothing'}"
                )
            images = _scan(root, problems)
        else:
            raise ValueError("YOLODataset: expected images_dir= or data_yaml=, got neither")
        super().__init__(root, transform, target_transform, on_error, loader, strict, scaled_decode)
        # Paths a data.yaml names are confined like annotation paths; a scanned folder follows its links.
        self.allow_outside_root = allow_outside_root or (data_yaml is None and darknet is None)
        #: The ``data.yaml`` entry read.
        self.split_name = split
        self.labels_dir = str(Path(labels_dir).expanduser()) if labels_dir is not None else None
        #: ``"darknet"`` (``obj.data``, label files beside the images) or ``"ultralytics"``.
        self.layout = "ultralytics" if darknet is None else "darknet"
        #: The Darknet ``obj.data`` read (``None`` for the Ultralytics layout).
        self.obj_data = None if darknet is None else str(darknet)
        label_files = [self._label_file(path) for path in images]
        names = None if classes is None else class_names(classes)
        limit, named = (max_classes, False) if names is None else (len(names), True)
        source = data_yaml or darknet or root
        shape = _kpt_shape(kpt_shape if kpt_shape is not None else spec.get("kpt_shape"), source, kpt_shape)
        if task is None:
            task = "pose" if shape is not None else None
        if task == "pose" and shape is None:
            raise DatasetFormatError(
                f"{source}: task='pose' needs the number of keypoints: expected kpt_shape: [K, 2] or [K, 3] in the "
                "data.yaml, or kpt_shape= (K keypoints of x y, or x y visibility)"
            )
        #: The Ultralytics task read: ``"detect"``, ``"segment"``, ``"pose"`` or ``"obb"``.
        self.task = task or "detect"
        found_polygons: list[list[float] | None] = []  # one per row, in file order
        extras: list[Any] = []  # pose: (K, 3) per row; obb: 8 corners per row
        seen: set[int] = set()  # the value counts of the rows read (task=None: 9 everywhere is obb)
        before = len(problems)
        rows = [
            _read_labels(path, limit, named, problems, found_polygons, task, shape, extras, seen)
            for path in label_files
        ]
        if task is None and not masks and seen == {8} and not _all_rectangles(found_polygons):
            # Every line is "class x1 y1 ... x4 y4": Ultralytics' OBB layout. Read again as such (the
            # corners' checks differ from a polygon's).
            task = self.task = "obb"
            del problems[before:]
            found_polygons, extras = [], []
            rows = [
                _read_labels(path, limit, named, problems, found_polygons, task, shape, extras, seen)
                for path in label_files
            ]
        self.keypoint_names, self.flip_pairs = None, None
        self.skeleton = _index_pairs(skeleton, "skeleton", source) if skeleton is not None else None
        if task == "pose":
            assert shape is not None
            self.keypoint_names = _kpt_names(spec.get("kpt_names"), shape[0], source)
            self.flip_pairs = (
                _index_pairs(flip_pairs, "flip_pairs", source, shape[0])
                if flip_pairs is not None
                else _flip_pairs(spec.get("flip_idx"), shape[0], source)
            )
        elif flip_pairs is not None:
            self.flip_pairs = _index_pairs(flip_pairs, "flip_pairs", source)
        #: ``[K, D]`` of pose labels (``None`` for the other tasks).
        self.kpt_shape = list(shape) if task == "pose" and shape is not None else None
        if names is None:
            largest = max((int(row[0]) for found in rows for row in found), default=-1)
            names = [str(index) for index in range(largest + 1)]
        self.classes = ([BACKGROUND] if background else []) + names
        refuse_duplicate_classes(self.classes, data_yaml or darknet or root)
        self.category_ids = ([None] if background else []) + list(range(len(names)))
        offset = 1 if background else 0
        counts = np.array([len(found) for found in rows], dtype=np.int64)
        table = np.array([row for found in rows for row in found], dtype=np.float64).reshape(-1, 5)
        # Rows come image by image, in file order: the index keeps that order, so row j's polygon is
        # found_polygons[j]. The shape store keeps them flat (normalised, as the file has them).
        self._store_points(found_polygons, normalized=True)
        del found_polygons
        self.index = DetectionIndex.build(
            images,
            np.arange(len(images)),
            np.zeros((len(images), 2), dtype=np.int32),
            np.repeat(np.arange(len(images)), counts),
            table[:, 1:5].clip(0, 1),
            (table[:, 0].astype(np.int64) + offset).astype(smallest_int_type(max(len(self.classes) - 1, 0))),
            normalized=True,
            corners=np.array(extras, dtype=np.float32).reshape(-1, 8) if task == "obb" else None,
            keypoints=(
                np.array(extras, dtype=np.float32).reshape(-1, shape[0], 3)
                if task == "pose" and shape is not None
                else None
            ),
        )
        self._settle(str(data_yaml or darknet or root), problems)

    def _label_file(self, image: str) -> Path:
        """The label file of ``image`` (relative to `root`)."""
        relative = Path(image).with_suffix(".txt")
        if self.labels_dir is not None:
            return Path(self.labels_dir) / relative
        full = Path(self.root) / relative
        if self.layout == "darknet":
            return full  # Darknet keeps each label file beside its image
        parts = list(full.parts)
        if "images" in parts:
            # Ultralytics' rule: the last "images" folder becomes "labels".
            last = len(parts) - 1 - parts[::-1].index("images")
            parts[last] = "labels"
            return Path(*parts)
        return full

    def _check_inside_root(self, path: str) -> None:
        # Images of a split folder the data.yaml names outside its path are allowed there; the check
        # only runs for paths the root check refused, so images under the root pay nothing more.
        try:
            super()._check_inside_root(path)
        except ImageReadError:
            real = os.path.realpath(path)
            if not any(real.startswith(folder + os.sep) for folder in self._outside_folders):
                raise


#: The Ultralytics tasks ``YOLODataset`` and ``to_yolo`` take.
YOLO_TASKS = ("detect", "segment", "pose", "obb")


def _all_rectangles(polygons: list[list[float] | None]) -> bool:
    """Whether every 4-point polygon is an axis-aligned rectangle (as ``to_yolo`` writes boxes as segments).

    Such files hold boxes written as segment lines, not oriented boxes: they stay segments.
    """
    points = np.array([polygon for polygon in polygons if polygon is not None], dtype=np.float64).reshape(
        -1, 8
    )
    rectangle = np.ones(len(points), dtype=bool)
    for values in (points[:, 0::2], points[:, 1::2]):
        low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
        rectangle &= (np.isclose(values, low, atol=1e-6) | np.isclose(values, high, atol=1e-6)).all(axis=1)
    return bool(rectangle.all())


def _kpt_shape(value: Any, source: object, given: Any = None) -> tuple[int, int] | None:
    """``kpt_shape`` (``[K, D]``, ``D`` 2 or 3) checked, or ``None`` when there is none."""
    if value is None:
        return None
    where = "kpt_shape=" if given is not None else f"{source}: kpt_shape"
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or any(isinstance(item, bool) or not isinstance(item, int) for item in value)
        or value[0] < 1
        or value[1] not in (2, 3)
    ):
        raise DatasetFormatError(
            f"{where}: expected [K, 2] or [K, 3] (K >= 1 keypoints of x y, or x y visibility), got {value!r}"
        )
    return int(value[0]), int(value[1])


def _kpt_names(value: Any, count: int, source: object) -> list[str] | None:
    """The ``kpt_names`` of a data.yaml: a list, or Ultralytics' ``{class id: [names]}`` (the first class's)."""
    if value is None:
        return None
    if isinstance(value, Mapping) and value:
        value = value[sorted(value, key=str)[0]]
    if not isinstance(value, list) or len(value) != count or not all(isinstance(name, str) for name in value):
        raise DatasetFormatError(
            f"{source}: kpt_names: expected {count} keypoint names (one per keypoint of kpt_shape), as a list or "
            f"a mapping class id: [names], got {_yaml_kind(value)}"
        )
    return list(value)


def _flip_pairs(value: Any, count: int, source: object) -> list[tuple[int, int]] | None:
    """The pairs a data.yaml's ``flip_idx`` swaps: it is the permutation of keypoints a horizontal flip applies."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != count
        or any(isinstance(item, bool) or not isinstance(item, int) for item in value)
        or sorted(value) != list(range(count))
        or any(value[value[index]] != index for index in range(count))
    ):
        raise DatasetFormatError(
            f"{source}: flip_idx: expected a permutation of 0..{count - 1} that swaps pairs (flip_idx[i] is the "
            f"keypoint i becomes under a horizontal flip, e.g. [0, 2, 1] for nose, left_eye, right_eye), got "
            f"{_yaml_kind(value)}"
        )
    return [(index, other) for index, other in enumerate(value) if index < other]


def _index_pairs(
    value: Any, argument: str, source: object, count: int | None = None
) -> list[tuple[int, int]]:
    """``flip_pairs=`` / ``skeleton=``: pairs of keypoint indices (below ``count`` when known)."""
    pairs = []
    for pair in value:
        items = list(pair) if isinstance(pair, (list, tuple)) else None
        if (
            items is None
            or len(items) != 2
            or any(
                isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 0
                for item in items
            )
            or (count is not None and max(items) >= count)
        ):
            bound = f" below {count}" if count is not None else ""
            raise ValueError(
                f"{argument}: expected pairs of keypoint indices{bound}, got {pair!r} ({source})"
            )
        pairs.append((int(items[0]), int(items[1])))
    return pairs


def _scan(folder: Path, problems: list[str]) -> list[str]:
    """Image files under ``folder`` (recursively, sorted), relative to it.

    Folders that cannot be listed are problems; links that loop back are
    not followed, with a warning.
    """
    walk = FolderWalk(str(folder))
    found = [os.path.normpath(path) for path in walk.files(str(folder), ".", IMAGE_EXTENSIONS, [])]
    problems.extend(f"{folder}: {line}" for line in walk.unlisted)
    if walk.loops:
        warnings.warn(
            f"{folder}: {len(walk.loops)} symbolic links were not followed: " + "; ".join(walk.loops[:5]),
            stacklevel=4,
        )
    return found


def _read_labels(
    path: Path,
    limit: int,
    named: bool,
    problems: list[str],
    polygons: list[list[float] | None],
    task: str | None = None,
    kpt_shape: tuple[int, int] | None = None,
    extras: list[Any] | None = None,
    seen: set[int] | None = None,
) -> list[tuple[float, ...]]:
    """The valid ``(class, x0, y0, x1, y1)`` rows (normalised) of one label file; problems are appended.

    A line is a box, ``class cx cy w h``, or a polygon, ``class x1 y1 x2 y2 ... xn yn`` (n >= 3,
    normalised; YOLO's segment format): its box is the polygon's extent. Both kinds may share a
    file. For each row returned, ``polygons`` gets the polygon's ``x1 y1 ... xn yn`` (clipped to
    [0, 1]), or ``None`` for a box line.

    Args:
        path: The label file; a missing one is an image without boxes.
        limit: Class ids must be below this: the number of names, or ``max_classes``.
        named: Whether ``limit`` is the number of names (for the message).
        problems: Where problems are appended, one line each, naming the file (and line).
        polygons: Where each returned row's polygon (or ``None``) is appended.
        task: ``"pose"``: ``class cx cy w h`` + keypoints (``kpt_shape``); ``"obb"``: ``class`` + 4 corners;
            otherwise box and polygon lines.
        kpt_shape: ``(K, D)`` of pose lines.
        extras: Pose: each returned row's ``(K, 3)`` ``float32`` keypoints; OBB: its 8 corners.
        seen: Where the value count (after the class) of each returned row is added.
    """
    try:
        # One stat before opening: a FIFO would block, /dev/zero never ends, a folder cannot be read.
        data = read_regular_file(path, "YOLO label file", MAX_ANNOTATION_BYTES)
    except DatasetFormatError as error:
        if not os.path.lexists(path):
            return []  # no label file: an image without objects
        problems.append(f"{error}; its boxes are left out")
        return []
    try:
        text = decode_text(data, path, "YOLO label file")
    except DatasetFormatError as error:
        problems.append(f"{error}; its boxes are left out")
        return []
    rows: list[tuple[float, ...]] = []
    # Problems with their line numbers: pose lines are finished after the loop (their keypoints are
    # checked in one batch per file), and the file's problems still come in line order.
    found: list[tuple[int, str]] = []
    pose: list[tuple[int, str, list[str], int, list[float]]] = []  # lines whose keypoints are to check
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        count = len(fields) - 1  # values after the class
        if task == "pose":
            assert kpt_shape is not None
            expected = 4 + kpt_shape[0] * kpt_shape[1]
            if count != expected:
                found.append(
                    (
                        number,
                        f"{where}: expected {expected + 1} values 'class cx cy w h' then {kpt_shape[0]} keypoints "
                        f"of {'x y v' if kpt_shape[1] == 3 else 'x y'} (kpt_shape {list(kpt_shape)}), got "
                        f"{count + 1}: {_shown(line)}",
                    )
                )
                continue
        elif task == "obb":
            if count != 8:
                found.append(
                    (
                        number,
                        f"{where}: expected 9 values 'class x1 y1 x2 y2 x3 y3 x4 y4' (an oriented box), got "
                        f"{count + 1}: {_shown(line)}",
                    )
                )
                continue
        elif count != 4 and (count < 6 or count % 2):
            found.append((number, f"{where}: {_shape_problem(count)}: {_shown(line)}"))
            continue
        if _CLASS_ID.fullmatch(fields[0]) is None:
            found.append(
                (
                    number,
                    f"{where}: class {_shown(fields[0])}: expected an integer id >= 0 (digits only, as in "
                    f"'3'), got {_shown(line)}",
                )
            )
            continue
        digits = fields[0].split(".")[0]
        category = int(digits) if len(digits) <= _MAX_ID_DIGITS else None  # None: beyond any limit
        if category is None or category >= limit:
            shown_id = digits if len(digits) <= 40 else f"{digits[:20]}...({len(digits)} digits)"
            found.append(
                (
                    number,
                    f"{where}: class {shown_id} is out of range: {limit} names, ids 0..{limit - 1}"
                    if named
                    else f"{where}: class {shown_id} is beyond the limit of {limit:,} classes without names: "
                    f"expected an id below {limit:,}; give the class names (classes= or the data.yaml's names) "
                    "or raise max_classes=",
                )
            )
            continue
        shape = "'class cx cy w h'" if count == 4 else "'class x1 y1 ... xn yn'"
        if task == "pose":
            shape = "'class cx cy w h px1 py1 ...'"
        try:
            values = [float(field) for field in fields[1:]]
        except ValueError:
            found.append((number, f"{where}: expected numbers {shape}, got {_shown(line)}"))
            continue
        if not all(map(math.isfinite, values)):
            found.append((number, f"{where}: expected finite numbers {shape}, got {_shown(line)}"))
            continue
        extra: Any = None
        if task == "pose":
            pose.append((number, where, fields, category, values))
            continue
        if task == "obb":
            extra, problem = _corners_of(values)
            if problem is not None:
                found.append((number, f"{where}: {problem}"))
                continue
        problem = _add_row(rows, polygons, where, fields, category, values, task, extras, extra)
        if problem is not None:
            found.append((number, problem))
        elif seen is not None:
            seen.add(count)
    if pose:
        assert kpt_shape is not None
        points, issues = _keypoints_of([values[4:] for *_, values in pose], kpt_shape)
        for (number, where, fields, category, values), point, issue in zip(pose, points, issues, strict=True):
            if issue is not None:
                found.append((number, f"{where}: {issue}"))
                continue
            problem = _add_row(rows, polygons, where, fields, category, values[:4], task, extras, point)
            if problem is not None:
                found.append((number, problem))
            elif seen is not None:
                seen.add(len(fields) - 1)
        found.sort(key=lambda item: item[0])  # stable: one problem per line, in line order
    problems.extend(problem for _, problem in found)
    return rows


def _add_row(
    rows: list[tuple[float, ...]],
    polygons: list[list[float] | None],
    where: str,
    fields: list[str],
    category: int,
    values: list[float],
    task: str | None,
    extras: list[Any] | None,
    extra: Any,
) -> str | None:
    """Check one parsed line's box (``cx cy w h``) or polygon and add its row, or return its problem.

    ``values`` are the line's numbers after the class (a pose line's box only); ``extra`` (its
    keypoints or corners) goes to ``extras`` with the row.
    """
    count = len(values)
    if task == "pose" or count == 4:
        centre_x, centre_y, width, height = values
        corners = (
            centre_x - width / 2,
            centre_y - height / 2,
            centre_x + width / 2,
            centre_y + height / 2,
        )
        stored = np.asarray(corners, dtype=np.float32)  # boxes are kept as float32
        if width <= 0 or height <= 0 or stored[2] <= stored[0] or stored[3] <= stored[1]:
            return (
                f"{where}: box {fields[1:]} has no area: expected w > 0 and h > 0 (also once stored as "
                "float32)"
            )
        if min(corners) < -BORDER_TOLERANCE or max(corners) > 1 + BORDER_TOLERANCE:
            return (
                f"{where}: box {fields[1:]} reaches {[round(c, 4) for c in corners]} (xyxy): expected "
                "coordinates in [0, 1], normalised by the image size"
            )
        polygon = None
    else:
        xs, ys = values[0::2], values[1::2]
        low, high = min(min(xs), min(ys)), max(max(xs), max(ys))
        if low < -BORDER_TOLERANCE or high > 1 + BORDER_TOLERANCE:
            return (
                f"{where}: polygon of {count // 2} points reaches {round(low if low < -BORDER_TOLERANCE else high, 4)}: "
                "expected coordinates in [0, 1], normalised by the image size"
            )
        # Within the tolerance: float noise, snapped onto the border (the box is clipped likewise).
        polygon = [min(max(value, 0.0), 1.0) for value in values]
        corners = (min(polygon[0::2]), min(polygon[1::2]), max(polygon[0::2]), max(polygon[1::2]))
        stored = np.asarray(corners, dtype=np.float32)
        if stored[2] <= stored[0] or stored[3] <= stored[1]:
            return (
                f"{where}: polygon of {count // 2} points spans {[round(c, 4) for c in corners]} (xyxy): "
                "expected an extent with area (the points lie on one line)"
            )
    if task == "obb":
        polygon = None  # an oriented box: its corners are kept apart (extras)
    rows.append((float(category), *corners))
    polygons.append(polygon)
    if extras is not None and extra is not None:
        extras.append(extra)
    return None


def _keypoints_of(
    lines: list[list[float]], kpt_shape: tuple[int, int]
) -> tuple[np.ndarray, list[str | None]]:
    """Pose lines' keypoints as ``(n, K, 3)`` ``float32`` ``x y visibility`` (normalised), and each one's problem.

    ``lines`` are the lines' keypoint values (``K * D`` each). Without a visibility column
    (``kpt_shape [K, 2]``), a point is visible (2) unless it is ``0 0``: Ultralytics' converters
    write a point that was not labelled as zeros. The points are checked by the readers' one
    keypoint check, `keypoint_problems`, in one batch (as stored, in float32; labelled points
    within the tolerance snapped onto the border).
    """
    count, dims = kpt_shape
    written = np.array(lines, dtype=np.float64).reshape(len(lines), count, dims)
    if dims == 2:
        visibility = np.where((written[..., 0] == 0) & (written[..., 1] == 0), 0.0, 2.0)
        written = np.concatenate([written, visibility[..., None]], axis=2)
    with np.errstate(over="ignore"):
        points = written.astype(np.float32)
    return points, keypoint_problems(points, None, written=written.__getitem__)


def _corners_of(values: list[float]) -> tuple[list[float] | None, str | None]:
    """An OBB line's 8 corner values (normalised, snapped onto the border within the tolerance), or a problem."""
    from visiondata.boxes import validate_boxes

    quad = np.asarray(values, dtype=np.float64).reshape(1, 8)
    result = validate_boxes(quad, "xyxyxyxy", image_size=(1.0, 1.0), policy="drop", eps=BORDER_TOLERANCE)
    if result.changes:
        reason = result.changes[0]["reason"]
        shown = [round(value, 4) for value in values]
        what = {
            "out_of_bounds": "reaches outside the image: expected corners in [0, 1], normalised by the image size",
            "inverted": "is twisted: expected its corners in order round the box (its sides cross)",
            "zero_area": "has no area: expected four corners enclosing an area",
        }.get(reason, f"is not a valid oriented box ({reason})")
        return None, f"oriented box {shown} {what}"
    return np.clip(quad, 0.0, 1.0).reshape(-1).tolist(), None


def _shape_problem(count: int) -> str:
    """What is wrong with a line of ``count`` values after the class (neither a box nor a polygon)."""
    expected = (
        "expected 5 values 'class cx cy w h' (a box) or 'class x1 y1 ... xn yn' (a polygon of n >= 3 points)"
    )
    if count % 2:
        return f"{expected}, got {count + 1} values ({count} coordinates: a polygon needs x y pairs)"
    return f"{expected}, got {count + 1} values (a polygon of {count // 2} points needs at least 3)"


def _shown(text: str, limit: int = 80) -> str:
    """``text`` for a message: stripped, quoted, and cut when long (a label line can be megabytes)."""
    text = text.strip()
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}... ({len(text):,} characters)"


def _from_yaml(
    path: Path, split: str, allow_outside_root: bool, check_files: bool, max_classes: int, problems: list[str]
) -> tuple[Path, list[str], list[str] | None, tuple[str, ...], Mapping[str, Any]]:
    """Read a ``data.yaml``: root, the images of ``split`` (relative to it), class names, outside split folders.

    The fourth item holds the resolved split folders that lie outside the root (see
    ``YOLODataset._check_inside_root``); the last is the YAML's mapping (``kpt_shape``, ``flip_idx``...).
    """
    spec = _load_yaml(path)
    location_of_root = spec.get("path")
    if location_of_root is not None and not isinstance(location_of_root, str):
        raise DatasetFormatError(
            f"{path}: path: expected the dataset folder (a string), got {_yaml_kind(location_of_root)}"
        )
    root = Path(location_of_root or ".").expanduser()
    # Absolute from here on: a list file's "./" lines are joined to the list file's folder, and a
    # relative root (data_yaml="ds/data.yaml") would make them "ds/images/a.jpg", then read again
    # relative to the root as "ds/ds/images/a.jpg".
    root = Path(os.path.abspath(root if root.is_absolute() else (path.parent / root)))
    key = {"valid": "val", "validation": "val"}.get(split, split)
    available = [name for name in ("train", "val", "test") if spec.get(name)]
    if key in spec and spec[key] not in (None, "", []):
        entries = spec[key] if isinstance(spec[key], list) else [spec[key]]
    elif not available and key == "train" and (root / "images").is_dir():
        # supervision's layout: a data.yaml with only names/nc beside images/ and labels/. The images/
        # folder is the one split there is, read as the default split (another split name is an error).
        entries = ["images"]
    else:
        hint = (
            ""
            if available
            else (
                f"; a data.yaml without train/val/test (as supervision writes it) describes the images/ "
                f"folder beside it ({root / 'images'}), read as split='train'"
            )
        )
        raise DatasetNotFoundError(f"{path}: no {key!r} entry; it has {', '.join(available) or 'none'}{hint}")
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise DatasetFormatError(
                f"{path}: {key}: expected a folder or a list file (a path, absolute or relative to path:), or a "
                f"list of those, got {_yaml_kind(entry)}"
            )
    real_root = os.path.realpath(root)
    images: list[str] = []
    outside: list[str] = []
    for entry in entries:
        # Ultralytics' rule: absolute, or relative to path: (which may leave it: ../shared/images).
        location = root / Path(entry.strip()).expanduser()
        if (
            not os.path.lexists(location)
            and entry.strip().startswith("../")
            and not isinstance(spec[key], list)
        ):
            # Ultralytics' check_det_dataset again: a single "../x" entry that is not there is read as "x"
            # (Roboflow's exports: data.yaml beside train/ valid/ test/, with train: ../train/images).
            location = root / Path(entry.strip()[3:]).expanduser()
        if location.is_dir():
            base = os.path.relpath(location, root)
            real = os.path.realpath(location)
            if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
                outside.append(real)  # named by the YAML: read there, as Ultralytics does
            images.extend(os.path.normpath(os.path.join(base, name)) for name in _scan(location, problems))
        elif location.exists():
            images.extend(_read_image_list(location, root, allow_outside_root, check_files, problems))
        else:
            raise DatasetNotFoundError(
                f"{path}: {key} entry {entry!r}: {location} is neither a folder nor a list file (nothing is "
                f"there); {key} entries are absolute or relative to the dataset folder {root}"
            )
    names = _yaml_names(path, spec, max_classes)
    return root.resolve(), images, names, tuple(outside), spec


def _darknet_file(path: Path) -> Path | None:
    """The ``obj.data`` of a Darknet / CVAT "YOLO 1.1" export at ``path`` (the file, or the folder holding it).

    A folder with ``obj.names`` but no ``obj.data`` (CVAT calls ``obj.data`` optional in spirit:
    it only names the files) is read through its ``obj.names``.
    """
    if path.is_file() and path.suffix == ".data":
        return path
    if path.is_dir():
        for name in ("obj.data", "obj.names"):
            if (path / name).is_file():
                return path / name
    return None


def _from_darknet(
    path: Path, split: str, allow_outside_root: bool, check_files: bool, problems: list[str]
) -> tuple[Path, list[str], list[str] | None]:
    """Read a Darknet layout: root, the images of ``split`` (relative to it), and the class names.

    ``obj.data`` holds ``key = value`` lines (``classes``, ``train``, ``valid``, ``names``, ``backup``;
    ``#`` starts a comment). Its paths are relative to Darknet's working folder, whose ``data/`` is
    the export's root (CVAT and datumaro write ``train = data/train.txt``): a leading ``data/``
    is dropped unless the root has a ``data/`` folder. The split's list file names one image a
    line (``data/obj_train_data/a.jpg``); without one, the ``obj_<split>_data/`` folder is read.
    """
    root = Path(os.path.abspath(path.parent))
    spec: dict[str, str] = {}
    if path.suffix == ".data":
        text = read_text_file(path, "Darknet obj.data", MAX_SPEC_BYTES)
        for number, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            key, equals, value = line.partition("=")
            if not equals or not key.strip():
                raise DatasetFormatError(
                    f"{path}:{number}: expected 'key = value' (classes = 3, train = data/train.txt, names = "
                    f"data/obj.names), got {_shown(line)}"
                )
            spec[key.strip()] = value.strip()
    names_file = _darknet_path(root, spec.get("names", "obj.names"))
    names: list[str] | None = None
    if names_file.is_file():
        names = [
            line.strip()
            for line in read_text_file(names_file, "Darknet names file", MAX_SPEC_BYTES).splitlines()
        ]
        while names and not names[-1]:
            names.pop()
        empty = [number for number, name in enumerate(names, 1) if not name]
        if empty:
            raise DatasetFormatError(
                f"{names_file}:{empty[0]}: expected one class name a line, got an empty line"
            )
    elif "names" in spec:
        raise DatasetNotFoundError(f"{path}: names = {spec['names']}: {names_file} does not exist")
    if "classes" in spec:
        count = spec["classes"]
        if not count.isdigit():
            raise DatasetFormatError(
                f"{path}: classes = {count}: expected the number of classes (a whole number)"
            )
        if names is not None and int(count) != len(names):
            raise DatasetFormatError(
                f"{path}: classes = {count} but {names_file} holds {len(names)} names: expected them to agree"
            )
        if names is None:
            names = [str(index) for index in range(int(count))]
    # CVAT's subsets are train and valid; val / validation name valid too.
    key = "valid" if split in ("val", "valid", "validation") else split
    if key in spec:
        images = _read_image_list(
            _darknet_path(root, spec[key]), root, allow_outside_root, check_files, problems, darknet=True
        )
    elif (root / f"obj_{key}_data").is_dir():
        folder = root / f"obj_{key}_data"
        images = [os.path.normpath(os.path.join(folder.name, name)) for name in _scan(folder, problems)]
    else:
        available = [
            name
            for name in ("train", "valid", "test")
            if name in spec or (root / f"obj_{name}_data").is_dir()
        ]
        raise DatasetNotFoundError(
            f"{path}: no {key!r} subset: expected '{key} = data/{key}.txt' in obj.data or a folder obj_{key}_data/; "
            f"it has {', '.join(available) or 'none'} (split='train' or split='val')"
        )
    return root.resolve(), images, names


def _darknet_path(root: Path, value: str) -> Path:
    """A path of ``obj.data`` (or a list file) in the export: Darknet's ``data/`` is the export's root."""
    value = value.strip()
    if os.path.isabs(value):
        return Path(value)
    if value.startswith("data/") and not (root / "data").is_dir():
        value = value[len("data/") :]
    return root / value


def _load_yaml(path: Path) -> Mapping[str, Any]:
    """The mapping a ``data.yaml`` holds; anything else is a named error."""
    import yaml

    if not os.path.lexists(path) or path.is_dir():
        raise DatasetNotFoundError(
            f"{path}: expected an Ultralytics data.yaml, found {'a folder' if path.is_dir() else 'nothing'}"
        )
    text = read_text_file(path, "Ultralytics data.yaml", MAX_SPEC_BYTES)
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DatasetFormatError(f"{path}: not valid YAML: {error}") from None
    except RecursionError:
        raise DatasetFormatError(f"{path}: not valid YAML: nested too deeply to read") from None
    if not isinstance(spec, Mapping):
        got = "an empty file" if spec is None else _yaml_kind(spec)
        raise DatasetFormatError(f"{path}: expected a mapping with path, train/val/test and names, got {got}")
    return spec


def _read_image_list(
    location: Path,
    root: Path,
    allow_outside_root: bool,
    check_files: bool,
    problems: list[str],
    darknet: bool = False,
) -> list[str]:
    """The images a list file names (one path a line), relative to ``root``; bad lines are problems.

    Ultralytics' rule (``get_img_files``): a line starting with ``./`` is relative to the list
    file's folder (wherever the list file lies); an absolute line is used as it is. Ultralytics
    reads other relative lines against its working directory; here they are relative to the
    dataset root (``root``, the ``path:`` of the ``data.yaml``), which does not depend on where
    the program runs.

    Args:
        location: The list file (absolute, or relative to the working directory).
        root: The dataset root, absolute.
        allow_outside_root: Accept lines naming images outside ``root``.
        check_files: Check that every listed image exists.
        problems: Where bad lines are appended, naming the list file and line.
        darknet: A Darknet list (``data/obj_train_data/a.jpg``): ``data/`` is the export's root.
    """
    if darknet and not location.is_file():
        raise DatasetNotFoundError(f"{location}: the Darknet image list obj.data names does not exist")
    text = read_text_file(location, "YOLO image list", MAX_ANNOTATION_BYTES)
    folder = Path(os.path.abspath(location)).parent
    images = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        entry_path = line.strip()
        if darknet and not os.path.isabs(entry_path):
            entry_path = str(_darknet_path(root, entry_path))
        elif entry_path.startswith("./"):  # relative to the list file's folder
            entry_path = str(folder / entry_path[2:])
        image = Path(entry_path)
        relative = os.path.relpath(image, root) if image.is_absolute() else str(image)
        normal, problem = check_path(relative, str(root), allow_outside_root)
        if problem is None and check_files and not (root / normal).is_file():
            problem = f"image file {root / normal} does not exist"
        if problem is not None:
            problems.append(f"{location}:{number}: {problem}")
            continue
        images.append(normal)
    return images


def _yaml_names(path: Path, spec: Mapping[str, Any], max_classes: int) -> list[str] | None:
    """The class names of a ``data.yaml`` in id order (``names``, checked against ``nc``), or ``None``."""
    names = spec.get("names")
    count = spec.get("nc")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise DatasetFormatError(
            f"{path}: nc: expected the number of classes (an int >= 0), got {_yaml_kind(count)}"
        )
    if names is None:
        if count is None:
            return None
        if count > max_classes:
            raise DatasetFormatError(
                f"{path}: nc: {count:,} classes without names is more than max_classes={max_classes:,}; give "
                "names: or raise max_classes="
            )
        return [str(index) for index in range(count)]
    if isinstance(names, (str, bytes)):
        raise DatasetFormatError(
            f"{path}: names: expected a list or a mapping of class names, got the string {names!r}; write "
            f"names: [{names}] for one class"
        )
    if isinstance(names, Mapping):
        by_id: dict[int, Any] = {}
        for key_, value in names.items():
            if isinstance(key_, str) and key_.strip().isdigit():
                key_ = int(key_)
            if isinstance(key_, bool) or not isinstance(key_, int):
                raise DatasetFormatError(
                    f"{path}: names: key {key_!r}: expected integer class ids 0..n-1 as keys "
                    f"(names: {{0: cat, 1: dog}}), or a list of names (names: [cat, dog])"
                )
            if key_ in by_id:
                raise DatasetFormatError(
                    f"{path}: names: class id {key_} appears twice: expected one name per id"
                )
            by_id[key_] = value
        ids = sorted(by_id)
        if ids != list(range(len(ids))):
            shown = ids if len(ids) <= 20 else [*ids[:20], "..."]
            raise DatasetFormatError(
                f"{path}: names: expected class ids 0..{len(ids) - 1} without gaps (YOLO's ids index the names), "
                f"got {shown}"
            )
        values = [(f"names[{index}]", by_id[index]) for index in ids]
    elif isinstance(names, list):
        values = [(f"names[{index}]", value) for index, value in enumerate(names)]
    else:
        raise DatasetFormatError(
            f"{path}: names: expected a list or a mapping of class names, got {_yaml_kind(names)}"
        )
    checked = []
    for where, value in values:
        if isinstance(value, bool):
            raise DatasetFormatError(
                f"{path}: {where}: expected a class name, got {value!r} (YAML reads yes/no/on/off/true/false as "
                f"booleans); quote it: '{'yes' if value else 'no'}'"
            )
        if not isinstance(value, (str, int, float)) or (isinstance(value, str) and not value.strip()):
            raise DatasetFormatError(
                f"{path}: {where}: expected a class name (a string or a number), got {_yaml_kind(value)}"
            )
        checked.append(str(value))
    if count is not None and count != len(checked):
        raise DatasetFormatError(
            f"{path}: nc is {count} but names holds {len(checked)} names: expected them to agree; fix nc or names"
        )
    return checked


def _yaml_kind(value: Any) -> str:
    """A YAML value described for a message: its kind and a short form of it."""
    kinds = {
        bool: "the boolean",
        int: "the number",
        float: "the number",
        str: "the string",
        list: "a list",
        Mapping: "a mapping",
        type(None): "nothing",
    }
    kind = next(
        (name for type_, name in kinds.items() if isinstance(value, type_)), f"a {type(value).__name__}"
    )
    if value is None:
        return kind
    text = repr(value)
    return f"{kind} {text if len(text) <= 60 else text[:60] + '...'}"


def _data_yaml(split: str, names: list[str], pose: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``data.yaml`` mapping of a YOLO folder holding the one split ``split`` (see ``to_yolo``).

    Examples:
        >>> _data_yaml("val", ["kiwi", "fig"])
        {'train': 'images/val', 'val': 'images/val', 'nc': 2, 'names': {0: 'kiwi', 1: 'fig'}}
    """
    folder = f"images/{split}"
    spec: dict[str, Any] = {"train": folder, "val": folder}
    if split not in spec:
        spec[split] = folder
    return {**spec, "nc": len(names), "names": dict(enumerate(names)), **(pose or {})}


def to_yolo(
    dataset: Any,
    out_dir: str | os.PathLike[str],
    images: str = "copy",
    split: str = "train",
    progress: bool = False,
    overwrite: bool = False,
    include_crowd: bool = False,
    segments: bool | None = None,
    layout: str = "ultralytics",
    task: str | None = None,
) -> ConversionReport:
    """Write a detection dataset as YOLO: Ultralytics' ``images/`` + ``labels/`` + ``data.yaml``, or Darknet's.

    One label file per image, a line ``class cx cy w h`` per box, normalised
    with 6 decimals (within 1e-6 of the side, well under a pixel); class ids
    count from 0 (label 0 is the first class when it is not the background).
    YOLO finds a label file by the image's path without its suffix, so of
    ``a.png`` and ``a.jpg`` the second is written as ``a_2.jpg`` with
    ``a_2.txt``. Crowd regions (``iscrowd=1``) are left out, as YOLO has no
    crowd flag (datumaro and Ultralytics leave them out too), and counted in
    the report's ``crowd_left_out``; ``include_crowd=True`` writes them as
    ordinary boxes.

    Segments: when the source has polygons (its ``polygons(index)``: the
    shapes of YOLO segment lines, CVAT, LabelMe, Label Studio), every box is
    written as a segment line ``class x1 y1 x2 y2 ... xn yn`` (normalised, 6
    decimals, clipped to [0, 1]), and a box without a polygon as its 4
    corners. Ultralytics reads a label file as segments as soon as one line
    has more than 5 values, and then reads *every* line as a polygon (a
    ``cx cy w h`` line would become a 2-point polygon), and drops all
    segments of a dataset where some boxes have none: so no 5-value line is
    written beside segment lines, in any file. ``segments=False`` writes boxes
    only, ``segments=True`` segment lines even for a source without polygons.
    Shapes that are not written as they are count in the report's
    ``masks_left_out``: polygons under ``segments=False`` (and in the Darknet
    layout, which holds boxes only), raster masks without an outline (CVAT
    ``<mask>``, masks in the samples of a source without files): their box is
    written.

    ``layout="ultralytics"`` (default): ``images/<split>/``, ``labels/<split>/``
    and ``data.yaml``, which follows Ultralytics' rules (``check_det_dataset``),
    which supervision's ``DetectionDataset.from_yolo`` reads too (it takes only
    ``names``): ``train`` and ``val`` are both required, so both are written,
    and when one split is written they name the same folder
    (``images/<split>``; a ``test`` split is also written as ``test:``);
    ``nc`` and ``names`` (a mapping ``id: name`` in id order) name the
    classes. No ``path`` is written: Ultralytics then takes the YAML's own
    folder as the dataset root, wherever the folder is moved, whereas a
    relative ``path`` (``path: .``) is resolved against the working directory
    (or Ultralytics' datasets folder) and an absolute one breaks when the
    folder is moved or copied to another machine.

    ``layout="darknet"``: CVAT's and datumaro's "YOLO 1.1" export, which
    Darknet trains on: ``obj.data`` (``classes = N``, ``<subset> =
    data/<subset>.txt``, ``names = data/obj.names``, ``backup = backup/``),
    ``obj.names`` (one class a line), ``obj_<subset>_data/`` (each image and
    its ``.txt`` side by side) and ``<subset>.txt`` listing
    ``data/obj_<subset>_data/<image>`` (Darknet runs from the folder holding
    the export as ``data/``). The subset is ``split``, with ``val`` written as
    CVAT's ``valid``. Boxes only: polygons count in ``masks_left_out``.

    Tasks (``task``; Ultralytics' label layouts):

    - ``"detect"``: box lines, or segment lines as ``segments`` says (above).
    - ``"segment"``: segment lines (``segments=True``).
    - ``"pose"``: ``class cx cy w h`` then the source's ``K`` keypoints ``px py v`` (normalised, 6
      decimals; visibility 0, 1 or 2 as in COCO), with ``kpt_shape: [K, 3]`` in ``data.yaml``,
      ``flip_idx`` (the permutation a horizontal flip applies, from the source's ``flip_pairs``;
      without them the identity) and ``kpt_names`` (Ultralytics' ``{class id: [names]}``) when the
      source names its keypoints. The keypoints come from the samples' ``"keypoints"`` (``(N, K, 3)``
      pixels); a source without keypoints is refused. Polygons and masks are counted in
      ``masks_left_out``.
    - ``"obb"``: ``class x1 y1 x2 y2 x3 y3 x4 y4`` (normalised, 6 decimals): the source's oriented
      boxes (its ``oriented_boxes(index)``: DOTA, YOLO-OBB) in their corner order, an axis-aligned box
      as its 4 corners (top left, top right, bottom right, bottom left).
    - ``None`` (default): ``"obb"`` for a source of oriented boxes, ``"pose"`` for one with
      keypoints, else ``"detect"``.

    What a task cannot hold is counted in the report and its box written: keypoints under
    ``"detect"``, ``"segment"`` and ``"obb"`` (``fields_left_out["keypoints"]``), oriented boxes
    under ``"detect"`` (box lines) and ``"pose"`` (their enclosing box is written;
    ``fields_left_out["oriented_boxes"]`` counts those not already axis-aligned); segment lines hold an
    oriented box's four corners as its polygon.

    The output is built beside ``out_dir`` and renamed into place when complete, with
    ``visiondata-conversion.json`` written last (see the module's description).

    Args:
        dataset: Detection samples with a ``classes`` list.
        out_dir: Output folder: new or empty, apart from the source's files and folders.
        images: ``"copy"``, ``"link"`` or ``"symlink"``.
        split: The sub-folder, and the ``data.yaml`` entry (Darknet: the subset): a plain name.
        progress: Show a progress bar.
        overwrite: Replace an ``out_dir`` that holds files (whole, once the new output is complete).
        include_crowd: Write crowd regions as ordinary boxes instead of leaving them out.
        segments: ``None``: segment lines when the source has polygons; ``False``: boxes only;
            ``True``: segment lines always (rectangles as their 4 corners).
        layout: ``"ultralytics"`` or ``"darknet"``.
        task: ``"detect"``, ``"segment"``, ``"pose"``, ``"obb"`` or ``None`` (see "Tasks" above).

    Returns:
        A [`ConversionReport`][visiondata.formats.ConversionReport].

    Raises:
        OutputConflictError: ``out_dir`` is, holds or lies inside an input, is not a folder, or holds
            files and ``overwrite`` is false. Nothing is written.
        DatasetFormatError: ``split`` is not a plain name.
        ValueError: ``layout``, ``segments`` or ``task`` is not one of the values above (``segments=True``
            with ``layout="darknet"``, which holds boxes only; ``task="pose"``/``"obb"`` with the Darknet
            layout or with ``segments``; ``task="pose"`` for a source without keypoints).
    """
    import yaml

    check_split_name(split)
    if layout not in ("ultralytics", "darknet"):
        raise ValueError(f"layout: expected 'ultralytics' or 'darknet', got {layout!r}")
    if segments is not None and not isinstance(segments, bool):
        raise TypeError(f"segments: expected True, False or None, got {segments!r}")
    if layout == "darknet" and segments:
        raise ValueError(
            "segments=True: the Darknet layout holds boxes only (class cx cy w h); write segments with "
            "layout='ultralytics'"
        )
    if task is not None and task not in YOLO_TASKS:
        raise ValueError(f"task: expected one of {', '.join(map(repr, YOLO_TASKS))} or None, got {task!r}")
    if task is None:
        task = _source_task(dataset) if segments is None else "detect"
        if task != "detect" and layout == "darknet":
            task = "detect"  # the Darknet layout holds boxes: write them (what is lost is counted)
    if task == "segment":
        if segments is False:
            raise ValueError("task='segment' writes segment lines: leave segments out (or True)")
        segments = True
    if task in ("pose", "obb"):
        if layout == "darknet":
            raise ValueError(
                f"task={task!r}: the Darknet layout holds boxes only; write it with layout='ultralytics'"
            )
        if segments:
            raise ValueError(f"task={task!r} writes {task} lines, not segments: leave segments out")
    kpt_count = _keypoint_count(dataset) if task == "pose" else 0
    if task == "pose" and kpt_count is None:
        raise ValueError(
            f"task='pose': {type(dataset).__name__} has no keypoints (expected samples with \"keypoints\" "
            "(N, K, 3), as YOLODataset(task='pose') and COCO keypoint files give)"
        )
    names, first, out, report, inputs = start_writing(dataset, out_dir, "yolo", images)
    write_segments = task in ("detect", "segment") and (
        bool(segments) if segments is not None else layout == "ultralytics" and _has_polygons(dataset)
    )
    oriented_of = getattr(dataset, "oriented_boxes", None) if has_files(dataset) else None
    polygons_of = getattr(dataset, "polygons", None) if has_files(dataset) else None
    mask_only_of = getattr(dataset, "mask_only", None) if has_files(dataset) else None
    subset = "valid" if layout == "darknet" and split == "val" else split
    folder = f"obj_{subset}_data" if layout == "darknet" else None
    taken: set[str] = set()
    listed: list[str] = []
    with staged_output_dir(out, inputs, overwrite) as staging:
        output = StagedOutput(staging)
        for index, source_record in write_records(dataset, progress, report, names, first):
            count = len(source_record.boxes)
            polygons = list(polygons_of(index)) if callable(polygons_of) else [None] * count
            raster = list(mask_only_of(index)) if callable(mask_only_of) else [False] * count
            masks = source_record.fields.get("masks")
            if masks is not None and getattr(masks, "ndim", 0) == 3 and len(masks) == count:
                raster = [True] * count  # masks in the samples: no outline to write
            quads = oriented_of(index) if callable(oriented_of) else None
            if quads is not None and len(quads) != count:
                quads = None
            record = without_crowd(source_record, include_crowd, report, note=False)
            if record is not source_record:  # crowd regions left out: keep the shapes of the boxes kept
                keep = np.asarray(source_record.fields["iscrowd"]).reshape(-1) == 0
                polygons = [value for value, kept in zip(polygons, keep, strict=True) if kept]
                raster = [value for value, kept in zip(raster, keep, strict=True) if kept]
                quads = None if quads is None else quads[keep]
            keypoints = record.fields.pop("keypoints", None) if task == "pose" else None
            note_losses(record, report)
            if quads is not None and write_segments:
                # A segment line holds the quadrilateral itself: nothing is lost.
                polygons = [
                    np.asarray(quad, dtype=np.float64).reshape(4, 2) if polygon is None else polygon
                    for quad, polygon in zip(quads, polygons, strict=True)
                ]
            elif quads is not None and task != "obb":
                report.fields_left_out["oriented_boxes"] = report.fields_left_out.get(
                    "oriented_boxes", 0
                ) + count_rotated(quads)
            # A YOLO source's paths hold images/ (and labels/) folders of their own; YOLO finds a label file by
            # turning the last "images" of an image's path into "labels", so those folders are left out.
            name = unique_key(safe_name(record.name, drop=("images", "labels")), taken)
            if folder is None:
                image_path, label_path = (
                    f"images/{split}/{name}",
                    f"labels/{split}/{name.with_suffix('.txt')}",
                )
            else:
                image_path, label_path = f"{folder}/{name}", f"{folder}/{name.with_suffix('.txt')}"
                listed.append(f"data/{folder}/{name.as_posix()}")
            place_image(record, output.path(image_path), images, report)
            if task == "pose":
                assert kpt_count is not None
                lines = _pose_lines(record, first, keypoints, kpt_count, polygons, raster, report)
            elif task == "obb":
                lines = _obb_lines(record, first, quads, polygons, raster, report)
            else:
                lines = _label_lines(record, first, polygons, raster, write_segments, report)
            output.write_text(label_path, "".join(lines))
            report.images += 1
            report.boxes += len(record.boxes)
        if layout == "darknet":
            output.write_text("obj.names", "".join(f"{name}\n" for name in names[first:]))
            output.write_text(f"{subset}.txt", "".join(f"{line}\n" for line in listed))
            output.write_text(
                "obj.data",
                f"classes = {len(names) - first}\n{subset} = data/{subset}.txt\nnames = data/obj.names\n"
                "backup = backup/\n",
            )
        else:
            spec = _data_yaml(
                split,
                names[first:],
                _pose_spec(dataset, kpt_count, len(names) - first) if task == "pose" else None,
            )
            output.write_text("data.yaml", yaml.safe_dump(spec, sort_keys=False))
        write_manifest(output, report, dataset, inputs)
    return report


def _source_task(dataset: Any) -> str:
    """The task a source's labels fit: ``"obb"`` (oriented boxes), ``"pose"`` (keypoints) or ``"detect"``."""
    index = getattr(dataset, "index", None)
    if isinstance(index, DetectionIndex) and index.corners is not None:
        return "obb"
    if _keypoint_count(dataset) is not None:
        return "pose"
    return "detect"


def _keypoint_count(dataset: Any) -> int | None:
    """K, the number of keypoints per box of a source, or ``None`` when it has none."""
    index = getattr(dataset, "index", None)
    if isinstance(index, DetectionIndex) and index.keypoints is not None:
        return int(index.keypoints.shape[1])
    names = getattr(dataset, "keypoint_names", None)
    if names:
        return len(names)
    if not has_files(dataset):
        # Samples without files (a transformed or in-memory dataset): the first one tells.
        target = dataset[0][1] if len(dataset) else None
        points = target.get("keypoints") if isinstance(target, dict) else None
        if points is not None and getattr(points, "ndim", 0) == 3:
            return int(points.shape[1])
    return None


def _pose_spec(dataset: Any, count: int | None, classes: int) -> dict[str, Any]:
    """``kpt_shape``, ``flip_idx`` and ``kpt_names`` of a pose ``data.yaml``, from the source."""
    assert count is not None
    flip = list(range(count))
    for first, second in getattr(dataset, "flip_pairs", None) or []:
        if max(first, second) < count:
            flip[first], flip[second] = second, first
    spec: dict[str, Any] = {"kpt_shape": [count, 3], "flip_idx": flip}
    names = getattr(dataset, "keypoint_names", None)
    if names and len(names) == count:
        spec["kpt_names"] = {label: [str(name) for name in names] for label in range(max(classes, 1))}
    return spec


def _pose_lines(
    record: WriteRecord,
    first: int,
    keypoints: np.ndarray | None,
    count: int,
    polygons: list[np.ndarray | None],
    raster: list[bool],
    report: ConversionReport,
) -> list[str]:
    """Pose lines: ``class cx cy w h`` then ``count`` keypoints ``px py v``, normalised."""
    report.masks_left_out += sum(
        1 for polygon, mask in zip(polygons, raster, strict=True) if polygon is not None or mask
    )
    boxes = len(record.boxes)
    size = np.array([record.width, record.height], dtype=np.float64)
    points = np.zeros((boxes, count, 3), dtype=np.float64)
    if keypoints is not None and len(keypoints) == boxes:
        given = np.asarray(keypoints, dtype=np.float64).reshape(boxes, -1, 3)[:, :count]
        points[:, : given.shape[1]] = given
    xy = np.clip(points[..., :2] / size, 0.0, 1.0)
    visibility = np.clip(np.rint(points[..., 2]), 0, 2).astype(np.int64)
    scale = np.array([record.width, record.height, record.width, record.height], dtype=np.float64)
    corners = record.boxes / scale
    centres = (corners[:, :2] + corners[:, 2:]) / 2
    sides = corners[:, 2:] - corners[:, :2]
    lines = []
    for row, label in enumerate((record.labels - first).tolist()):
        values = [*centres[row].tolist(), *sides[row].tolist()]
        text = " ".join(f"{value:.6f}" for value in values)
        text += "".join(
            f" {x:.6f} {y:.6f} {v}"
            for (x, y), v in zip(xy[row].tolist(), visibility[row].tolist(), strict=True)
        )
        lines.append(f"{label} {text}\n")
    return lines


def _obb_lines(
    record: WriteRecord,
    first: int,
    quads: np.ndarray | None,
    polygons: list[np.ndarray | None],
    raster: list[bool],
    report: ConversionReport,
) -> list[str]:
    """OBB lines: ``class x1 y1 x2 y2 x3 y3 x4 y4`` normalised (axis-aligned boxes as their 4 corners)."""
    from visiondata.formats._dota import box_corners

    report.masks_left_out += sum(
        1 for polygon, mask in zip(polygons, raster, strict=True) if polygon is not None or mask
    )
    corners = box_corners(record.boxes) if quads is None else np.asarray(quads, dtype=np.float64)
    values = np.clip(corners / np.tile([record.width, record.height], 4), 0.0, 1.0)
    return [
        f"{label} " + " ".join(f"{value:.6f}" for value in row) + "\n"
        for label, row in zip((record.labels - first).tolist(), values.tolist(), strict=True)
    ]


def _has_polygons(dataset: Any) -> bool:
    """Whether a source has at least one polygon (from its shape store, or by asking ``polygons``)."""
    if isinstance(dataset, ShapeDetectionDataset):
        kinds = dataset._shape_kinds
        return kinds is not None and bool(np.isin(kinds, (KIND_POLYGON, KIND_CIRCLE)).any())
    polygons = getattr(dataset, "polygons", None)
    if not callable(polygons) or not has_files(dataset):
        return False
    return any(value is not None for index in range(len(dataset)) for value in polygons(index))


def _label_lines(
    record: WriteRecord,
    first: int,
    polygons: list[np.ndarray | None],
    raster: list[bool],
    write_segments: bool,
    report: ConversionReport,
) -> list[str]:
    """The label lines of one image: ``class cx cy w h``, or segment lines (every box, see `to_yolo`)."""
    scale = np.array([record.width, record.height, record.width, record.height], dtype=np.float64)
    corners = record.boxes / scale
    classes = (record.labels - first).tolist()
    if not write_segments:
        report.masks_left_out += sum(
            1 for polygon, mask in zip(polygons, raster, strict=True) if polygon is not None or mask
        )
        centres = (corners[:, :2] + corners[:, 2:]) / 2
        sides = corners[:, 2:] - corners[:, :2]
        return [
            f"{label} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n"
            for label, (cx, cy), (w, h) in zip(classes, centres.tolist(), sides.tolist(), strict=True)
        ]
    lines = []
    size = np.array([record.width, record.height], dtype=np.float64)
    for row, label in enumerate(classes):
        polygon = polygons[row]
        if polygon is None or len(polygon) < 3:
            report.masks_left_out += int(raster[row])
            x0, y0, x1, y1 = corners[row].tolist()
            points = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        else:
            points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2) / size
        values = np.clip(points, 0.0, 1.0).reshape(-1).tolist()
        lines.append(f"{label} " + " ".join(f"{value:.6f}" for value in values) + "\n")
    return lines
