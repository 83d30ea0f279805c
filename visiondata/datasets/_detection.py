"""What the COCO, VOC and YOLO readers share: a flat detection index and the detection sample.

A reader parses its files once into `DetectionIndex`: image paths in a
`PathIndex`, and every box of every image in a few numpy arrays cut by
per-image offsets. Reading those arrays writes no reference counts, so a
forked DataLoader worker copies none of them (pytorch/pytorch#13246), and
pickling them for spawned workers is a few buffer copies.

Samples follow the detection schema of the catalog and
``CSVDetectionDataset``: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY,
pixels), "labels": int64, "image_id": int, per-box fields})``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional

from visiondata.boxes._validate import BORDER_TOLERANCE
from visiondata.datasets._base import ImageFileDataset
from visiondata.datasets._index import PathIndex
from visiondata.exceptions import DatasetValidationError, InvalidBoxesError, SkippedSampleWarning
from visiondata.io._plan import PlannedImage


@dataclass
class DetectionIndex:
    """Images and their boxes, flat.

    Attributes:
        paths: Image paths relative to the images root.
        image_ids: ``(N,)`` the file's image ids.
        sizes: ``(N, 2)`` ``(height, width)`` from the annotations; 0 where the format has none (YOLO).
        offsets: ``(N + 1,)``: the boxes of image ``i`` are rows ``offsets[i]:offsets[i + 1]``.
        boxes: ``(M, 4)`` ``float32``: ``xyxy`` pixels, or ``xyxyn`` when ``normalized``.
        labels: ``(M,)`` class labels (indexes of the dataset's ``classes``).
        fields: Other per-box values, name -> ``(M,)`` array.
        normalized: Whether ``boxes`` are fractions of the image size.
        corners: ``(M, 8)`` ``float32`` oriented boxes ``x1 y1 ... x4 y4`` (pixels, or fractions when
            ``normalized``), or ``None``: readers of oriented boxes (DOTA, YOLO-OBB) keep the corners
            beside ``boxes``, which then hold each quadrilateral's enclosing box (what ``check`` and the
            filters use).
        keypoints: ``(M, K, 3)`` ``float32`` ``x y visibility`` per box (pixels, or fractions when
            ``normalized``; visibility as COCO: 0 not labelled, 1 hidden, 2 visible), or ``None``.
    """

    paths: PathIndex
    image_ids: np.ndarray
    sizes: np.ndarray
    offsets: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    normalized: bool = False
    corners: np.ndarray | None = None
    keypoints: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        paths: Sequence[str],
        image_ids: Sequence[int] | np.ndarray,
        sizes: np.ndarray,
        box_image: np.ndarray,
        boxes: np.ndarray,
        labels: np.ndarray,
        fields: dict[str, np.ndarray] | None = None,
        normalized: bool = False,
        corners: np.ndarray | None = None,
        keypoints: np.ndarray | None = None,
    ) -> DetectionIndex:
        """Group boxes by image: ``box_image[j]`` is the position (in ``paths``) of box ``j``'s image.

        Boxes keep their file order within each image; ``corners`` (``(M, 8)``) and ``keypoints``
        (``(M, K, 3)``), when given, are grouped with them.
        """
        count = len(paths)
        order = np.argsort(box_image, kind="stable")
        counts = (
            np.bincount(box_image, minlength=count) if len(box_image) else np.zeros(count, dtype=np.int64)
        )
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        grouped = {name: np.ascontiguousarray(values[order]) for name, values in (fields or {}).items()}
        return cls(
            PathIndex(paths),
            np.asarray(image_ids, dtype=np.int64),
            np.asarray(sizes, dtype=np.int32).reshape(count, 2),
            offsets,
            np.ascontiguousarray(boxes[order], dtype=np.float32).reshape(-1, 4),
            np.ascontiguousarray(labels[order]),
            grouped,
            normalized,
            None
            if corners is None
            else np.ascontiguousarray(corners[order], dtype=np.float32).reshape(-1, 8),
            None if keypoints is None else np.ascontiguousarray(keypoints[order], dtype=np.float32),
        )

    def select(self, keep: np.ndarray) -> DetectionIndex:
        """Only the images marked in ``keep`` (``(N,)`` booleans), with their boxes."""
        counts = np.diff(self.offsets)
        rows = np.repeat(keep, counts)
        return DetectionIndex(
            PathIndex(path for path, kept in zip(self.paths, keep.tolist(), strict=True) if kept),
            self.image_ids[keep],
            self.sizes[keep],
            np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64),
            self.boxes[rows],
            self.labels[rows],
            {name: values[rows] for name, values in self.fields.items()},
            self.normalized,
            None if self.corners is None else self.corners[rows],
            None if self.keypoints is None else self.keypoints[rows],
        )

    def nbytes(self) -> int:
        """Memory held by the index, in bytes."""
        arrays = [self.image_ids, self.sizes, self.offsets, self.boxes, self.labels, *self.fields.values()]
        arrays += [array for array in (self.corners, self.keypoints) if array is not None]
        return self.paths.nbytes() + sum(int(array.nbytes) for array in arrays)


def release_freed_memory() -> None:
    """Hand memory freed by a large parse back to the system (glibc keeps it in its heap otherwise).

    After an annotation file of hundreds of MB is parsed and its records
    freed, glibc's allocator keeps the freed pages: the process stays that
    large, and so does every forked DataLoader worker's share of it. A no-op
    where ``malloc_trim`` does not exist.
    """
    import contextlib
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def box_problems(boxes: np.ndarray, sizes: np.ndarray | None) -> list[str | None]:
    """Per ``xyxy`` box, what is wrong with it (``None`` for nothing), against per-box ``(height, width)``.

    The boxes are rounded to float32 in place first, as the index stores
    them, and checked as stored. NaN or infinite values, values beyond
    float32's range, no area (``x_max <= x_min`` or ``y_max <= y_min``)
    and boxes beyond the image (by more than `BORDER_TOLERANCE` of its
    side; ``sizes`` of 0 are not checked) are problems. Boxes within the
    tolerance are snapped onto the border in place.
    """
    problems: list[str | None] = [None] * len(boxes)
    if len(boxes) == 0:
        return problems
    # The index stores float32: check the values it will hold, not the file's float64 ones
    # (1.00000001 becomes 1.0 and can close a box; 1e39 becomes inf).
    written = boxes.copy()
    with np.errstate(over="ignore"):
        boxes[...] = boxes.astype(np.float32)
    with np.errstate(invalid="ignore"):
        too_large = np.isfinite(written).all(axis=1) & ~np.isfinite(boxes).all(axis=1)
        finite = np.isfinite(boxes).all(axis=1)
        flat = finite & ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1]))
        # Coordinates below 0 leave any image; beyond it needs its size.
        noise = -0.5  # pixels: snapped when the size is unknown
        small = boxes < 0
        boxes[small & (boxes >= noise)] = 0
        outside = finite & (boxes < 0).any(axis=1)
        if sizes is not None:
            height, width = sizes[:, 0].astype(np.float64), sizes[:, 1].astype(np.float64)
            limits = np.stack([width, height, width, height], axis=1)
            known = (limits > 0).all(axis=1)
            tolerance = limits * BORDER_TOLERANCE
            low = boxes < 0
            high = boxes > limits
            snap_low = low & (boxes >= -tolerance) & known[:, None]
            snap_high = high & (boxes <= limits + tolerance) & known[:, None]
            boxes[snap_low] = 0
            boxes[snap_high] = limits[snap_high]
            outside |= finite & known & ((boxes < 0) | (boxes > limits)).any(axis=1)
    for index in np.flatnonzero(~finite | flat | outside).tolist():
        box = [round(float(value), 3) for value in boxes[index]]
        if too_large[index]:
            problems[index] = (
                f"box {written[index].tolist()} (xyxy): expected coordinates within float32's range "
                f"(±{float(np.finfo(np.float32).max):.3g}), as the boxes are stored"
            )
        elif not finite[index]:
            problems[index] = f"box {box} (xyxy): expected finite numbers"
        elif flat[index]:
            problems[index] = (
                f"box {box} (xyxy) has no area: expected x_max > x_min and y_max > y_min, got width "
                f"{box[2] - box[0]:g} and height {box[3] - box[1]:g}"
            )
        elif sizes is None or not (sizes[index] > 0).all():
            problems[index] = f"box {box} (xyxy) reaches below 0: expected coordinates >= 0"
        else:
            height, width = (int(side) for side in sizes[index])
            problems[index] = (
                f"box {box} (xyxy) is outside the {width}x{height} image: expected 0 <= x <= {width} and "
                f"0 <= y <= {height}"
            )
    return problems


def keypoint_problems(
    points: np.ndarray,
    sizes: np.ndarray | None,
    names: Sequence[str] | None = None,
    written: Callable[[int], np.ndarray] | None = None,
) -> list[str | None]:
    """Per row of ``(n, K, 3)`` ``x y visibility`` keypoints, its first problem (``None`` for none).

    The one keypoint check of the readers (COCO keypoints, YOLO-pose), beside `box_problems`.
    ``points`` must be ``float32``, as the index stores them: they are checked as stored (a value
    beyond float32's range is infinite) and labelled points within the tolerance are snapped onto
    the border in place. Problems, in this order: a value not finite, a visibility other than 0
    (not labelled), 1 (labelled but hidden) or 2 (visible), and a labelled point (visibility 1 or
    2) outside its image by more than `BORDER_TOLERANCE` of the side. A point exactly at the
    tolerance is snapped, not refused: the bound is rounded to float32 like the value, so float32's
    rounding of a value written at the bound never makes it a problem. Points that are not labelled
    are not checked against the image (COCO and Ultralytics write them as ``0 0 0``).

    Args:
        points: ``(n, K, 3)`` ``float32``, snapped in place.
        sizes: ``(n, 2)`` ``(height, width)`` of each row's image in pixels (0: unknown, where only
            coordinates below 0 beyond half a pixel are problems), or ``None`` for normalised points
            (fractions of the image size, checked against ``[0, 1]``).
        names: The keypoint names, for the messages (``keypoint 4 (right_ear)``).
        written: The values of row ``i`` as the file writes them, for the messages (the stored float32
            may have overflowed); the stored values by default.

    Examples:
        >>> points = np.array([[[80.05, 3, 2], [81, 3, 1], [90, 3, 0]]], dtype=np.float32)
        >>> keypoint_problems(points, np.array([[64, 80]]))
        ['keypoint 1 at (81, 3) is outside the 80x64 image: expected 0 <= x <= 80 and 0 <= y <= 64 for a labelled point (visibility 1 or 2)']
        >>> points = np.array([[[1.0005, 0.5, 2], [0.5, 0.5, 3]]], dtype=np.float32)
        >>> keypoint_problems(points, None), points[0, 0].tolist()
        (['keypoint 1: visibility 3: expected 0 (not labelled), 1 (labelled but hidden) or 2 (visible)'], [1.0, 0.5, 2.0])
    """
    problems: list[str | None] = [None] * len(points)
    if points.size == 0:
        return problems
    if points.dtype != np.float32:
        raise TypeError(f"keypoint_problems: expected float32 points (checked as stored), got {points.dtype}")
    finite = np.isfinite(points).all(axis=2)  # (n, K)
    visibility = points[..., 2]
    valid = (visibility == 0) | (visibility == 1) | (visibility == 2)
    labelled = (finite & valid & (visibility > 0))[..., None]  # (n, K, 1)
    xy = points[..., :2]
    # The bounds are rounded to float32 as the values are: a value written exactly at the tolerance passes.
    top: float | np.ndarray
    if sizes is None:  # normalised: [0, 1] for every row
        top, low, high = 1.0, np.float32(-BORDER_TOLERANCE), np.float32(1 + BORDER_TOLERANCE)
    else:
        limits = np.asarray(sizes)[:, ::-1].astype(np.float64)[:, None, :]  # (n, 1, 2) width, height
        known = (limits > 0).all(axis=2, keepdims=True)
        low = np.where(known, -limits * BORDER_TOLERANCE, -0.5).astype(np.float32)
        top = np.where(known, limits, np.inf)
        high = (top + top * BORDER_TOLERANCE).astype(np.float32)
    # NaN compares false: only finite labelled points can be outside.
    outside = labelled & ((xy < low) | (xy > high))
    under, over = xy < 0, xy > top
    if under.any() or over.any():
        # Within the tolerance: snapped onto the border, as the boxes are.
        snap = labelled & ~outside
        xy[snap & under] = 0
        beyond = snap & over
        xy[beyond] = np.broadcast_to(top, xy.shape)[beyond]
    outside_point = outside.any(axis=2)
    for row in np.flatnonzero(~(finite & valid).all(axis=1) | outside_point.any(axis=1)).tolist():
        problems[row] = _keypoint_problem(
            points[row] if written is None else np.asarray(written(row), dtype=np.float64),
            finite[row],
            valid[row],
            outside_point[row],
            None if sizes is None else sizes[row],
            names,
        )
    return problems


def _keypoint_problem(
    values: np.ndarray,
    finite: np.ndarray,
    valid: np.ndarray,
    outside: np.ndarray,
    size: np.ndarray | None,
    names: Sequence[str] | None,
) -> str:
    """The first problem of one row's keypoints (see `keypoint_problems`)."""

    def point(index: int) -> str:
        return f"keypoint {index}{f' ({names[index]})' if names is not None else ''}"

    if not finite.all():
        index = int(np.flatnonzero(~finite)[0])
        return (
            f"{point(index)}: expected finite numbers within float32's range, got {values[index].tolist()} "
            "(x, y, visibility)"
        )
    if not valid.all():
        index = int(np.flatnonzero(~valid)[0])
        return (
            f"{point(index)}: visibility {values[index, 2]:g}: expected 0 (not labelled), 1 (labelled but "
            "hidden) or 2 (visible)"
        )
    index = int(np.flatnonzero(outside)[0])
    x, y = (float(value) for value in values[index, :2])
    if size is None:
        return (
            f"{point(index)} ({x:g}, {y:g}) is outside its image: expected coordinates in [0, 1], normalised by "
            "the image size (a point that was not labelled is 0 0 with visibility 0)"
        )
    height, width = (int(side) for side in size)
    if height > 0 and width > 0:
        return (
            f"{point(index)} at ({x:g}, {y:g}) is outside the {width}x{height} image: expected "
            f"0 <= x <= {width} and 0 <= y <= {height} for a labelled point (visibility 1 or 2)"
        )
    return f"{point(index)} at ({x:g}, {y:g}) is below 0: expected coordinates >= 0"


def _fit_decoded(boxes: np.ndarray, height: int, width: int, path: str) -> np.ndarray:
    """Boxes checked against a declared image size, for the decoded size: clipped, or refused if beyond it."""
    limits = np.array([width, height, width, height], dtype=np.float32)
    beyond = ((boxes > limits * (1 + BORDER_TOLERANCE)) | (boxes < -limits * BORDER_TOLERANCE)).any(axis=1)
    if beyond.any():
        first = int(np.flatnonzero(beyond)[0])
        raise InvalidBoxesError(
            f"{path}: box {boxes[first].round(3).tolist()} (XYXY) is outside the decoded {width}x{height} image: "
            f"expected 0 <= x <= {width} and 0 <= y <= {height}; the annotation's image size or the box is wrong"
        )
    return np.clip(boxes, 0, limits)


class DetectionFileDataset(ImageFileDataset):
    """Base of the detection readers: images under ``root`` with boxes in a `DetectionIndex`.

    Subclasses parse their files into `index` and set `classes`
    (and `category_ids` where the file has ids of its own).

    An index with ``corners`` (oriented boxes) gives ``target["boxes"]`` in
    format ``XYXYXYXY`` (pixels); one with ``keypoints`` adds
    ``target["keypoints"]``: ``float32`` ``(N, K, 3)`` ``x y visibility`` in
    pixels, one row per box (`keypoint_names`, `skeleton` and `flip_pairs`
    describe them where the reader knows them).

    Annotation problems are handled by ``on_error``: ``"raise"`` raises one
    [`DatasetValidationError`][visiondata.exceptions.DatasetValidationError] listing every
    problem; ``"skip"`` leaves the bad annotation out and records it in
    `problems`; ``"warn"`` does the same and warns once with the count.
    A decoded image whose size differs from the one its annotation declares,
    with boxes beyond it, raises [`InvalidBoxesError`][visiondata.exceptions.InvalidBoxesError] under ``"raise"``;
    otherwise the boxes are clipped to the image and the problem recorded.
    A box that clipping leaves with no area (it lay at or beyond the border of
    an image whose size the annotation does not give) raises the same error
    under ``"raise"``; otherwise it is left out of the sample (with its label,
    fields and mask) and recorded in `problems`. Unreadable images follow the same policy when loaded (see
    [`ImageFileDataset`][visiondata.datasets.ImageFileDataset]).
    """

    index: DetectionIndex
    classes: list[str]
    #: The file's own id of each label (``None`` for the background), where the format has ids.
    category_ids: list[Any]
    #: Names of the keypoints (readers of keypoints that have them), in keypoint order.
    keypoint_names: list[str] | None = None
    #: Pairs of keypoint indices joined by a line when drawn, where the annotations give them.
    skeleton: list[tuple[int, int]] | None = None
    #: Pairs of keypoint indices a horizontal flip swaps (left/right), where known.
    flip_pairs: list[tuple[int, int]] | None = None

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[..., Any] | None,
        target_transform: Callable[[Any], Any] | None,
        on_error: str,
        loader: Callable[[str], Any] | None,
        strict: bool | None = None,
        scaled_decode: bool | None = None,
    ) -> None:
        super().__init__(root, transform, target_transform, on_error, loader, strict, scaled_decode)
        #: Annotation problems left out under on_error="skip"/"warn", one line each.
        self.problems: list[str] = []

    @property
    def paths(self) -> PathIndex:  # type: ignore[override]
        return self.index.paths

    @property
    def label_to_category_id(self) -> dict[int, Any]:
        """Label -> the file's own category id (COCO category ids, YOLO class indices)."""
        return {label: value for label, value in enumerate(self.category_ids) if value is not None}

    def _settle(self, source: object, problems: list[str]) -> None:
        """Apply the ``on_error`` policy to the annotation problems found while building."""
        if not problems:
            return
        if self.on_error == "raise":
            raise DatasetValidationError(source, problems)
        self.problems = problems
        if self.on_error == "warn":
            warnings.warn(
                f"{source}: skipped {len(problems)} annotation problem{'s' if len(problems) != 1 else ''} "
                f"(see .problems); the first: {problems[0]}",
                SkippedSampleWarning,
                stacklevel=3,
            )

    def _record_problem(self, problem: str, action: str = "clipped the boxes") -> None:
        """A problem found while reading (this process's `problems`), warned once under ``"warn"``.

        ``action`` says what was done about it, for the warning.
        """
        if problem in self.problems:
            return
        self.problems.append(problem)
        if self.on_error == "warn":
            warnings.warn(f"{action}: {problem}", SkippedSampleWarning, stacklevel=4)

    def boxes(self, index: int) -> np.ndarray:
        """The stored boxes of image ``index`` (``xyxy`` pixels; ``xyxyn`` for YOLO)."""
        index = self._position(index)
        return self.index.boxes[self.index.offsets[index] : self.index.offsets[index + 1]]

    def image_id(self, index: int) -> int:
        """The file's id of image ``index``."""
        return int(self.index.image_ids[self._position(index)])

    def _position(self, index: int) -> int:
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for {count} images")
        return index % count

    def target(self, index: int) -> dict[str, Any]:
        index = self._position(index)
        target = self._target(index)
        if self.index.keypoints is not None:
            target["keypoints"] = torch.from_numpy(self.keypoints(index))
        return target

    def _pixel_scale(self, index: int) -> np.ndarray | None:
        """``(width, height)`` of image ``index`` for normalised coordinates (read from its header), or None."""
        if not self.index.normalized:
            return None
        from visiondata.formats._writing import image_size

        height, width = image_size(self.path(index))
        return np.array([width, height], dtype=np.float32)

    def oriented_boxes(self, index: int) -> np.ndarray | None:
        """The oriented boxes of image ``index``: ``(N, 8)`` ``x1 y1 ... x4 y4`` pixels, or ``None``.

        ``None`` for readers of axis-aligned boxes. Corners stored normalised (YOLO-OBB) are scaled by
        the image's size, read from its file header (pixels are never decoded).
        """
        index = self._position(index)
        if self.index.corners is None:
            return None
        corners = self.index.corners[self.index.offsets[index] : self.index.offsets[index + 1]].copy()
        scale = self._pixel_scale(index) if len(corners) else None
        if scale is not None:
            corners *= np.tile(scale, 4)
        return corners

    def keypoints(self, index: int) -> np.ndarray:
        """The keypoints of image ``index``: ``(N, K, 3)`` ``float32`` ``x y visibility``, pixels.

        ``(N, 0, 3)`` for readers without keypoints. Points stored normalised (YOLO-pose) are scaled by
        the image's size, read from its file header.
        """
        index = self._position(index)
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        if self.index.keypoints is None:
            return np.zeros((end - start, 0, 3), dtype=np.float32)
        points = self.index.keypoints[start:end].copy()
        scale = self._pixel_scale(index) if len(points) else None
        if scale is not None:
            points[..., :2] *= scale
        return points

    def _target(self, index: int) -> dict[str, Any]:
        index_ = self.index
        start, end = int(index_.offsets[index]), int(index_.offsets[index + 1])
        target: dict[str, Any] = {
            "labels": torch.from_numpy(index_.labels[start:end].astype(np.int64)),
            "image_id": int(index_.image_ids[index]),
        }
        for name, values in index_.fields.items():
            target[name] = torch.from_numpy(values[start:end].copy())
        return target

    _sample_takes_planned = True

    def _sample(self, image: Any, current: int) -> tuple[Any, Any]:
        if isinstance(image, PlannedImage):
            # Decoded for the transform's plan: the target is built for the full-size image the plan
            # was drawn on, and the transform moves it with the pixels.
            height, width = image.full_size
        else:
            image = image if isinstance(image, tv_tensors.Image) else functional.to_image(image)
            height, width = image.shape[-2:]
        target = self._target(current)
        index_ = self.index
        boxes = index_.boxes[index_.offsets[current] : index_.offsets[current + 1]]
        keep: np.ndarray | None = None
        if index_.normalized:
            boxes = boxes * np.array([width, height, width, height], dtype=np.float32)
        elif len(boxes) and tuple(index_.sizes[current]) != (height, width):
            # The boxes were checked against the size the annotation declares; the decoded image differs.
            try:
                boxes = _fit_decoded(boxes, height, width, self.path(current))
            except InvalidBoxesError as error:
                if self.on_error == "raise":
                    raise
                self._record_problem(str(error))
                boxes = np.clip(boxes, 0, np.array([width, height, width, height], dtype=np.float32))
            keep = self._keep_with_area(boxes, height, width, current)
        else:
            boxes = boxes.copy()  # the sample's own: editing it must not change the index
        target["boxes"] = self._box_tensor(boxes, current, height, width)
        if index_.keypoints is not None:
            points = index_.keypoints[index_.offsets[current] : index_.offsets[current + 1]].copy()
            if index_.normalized:
                points[..., :2] *= np.array([width, height], dtype=np.float32)
            target["keypoints"] = torch.from_numpy(points)
        masks_kept = self._add_masks(target, current, height, width)
        if masks_kept is not None:
            keep = masks_kept if keep is None else keep & masks_kept
        if keep is not None and not keep.all():
            self._keep_rows(target, keep)
        if self.transform is not None:
            image, target = self.transform(image, target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _box_tensor(
        self, boxes: np.ndarray, current: int, height: int, width: int
    ) -> tv_tensors.BoundingBoxes:
        """The sample's boxes: ``boxes`` (XYXY pixels), or the oriented corners (XYXYXYXY) where the reader has them."""
        corners = self.index.corners
        if corners is None:
            return tv_tensors.BoundingBoxes(
                torch.from_numpy(boxes), format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=(height, width)
            )
        quads = corners[self.index.offsets[current] : self.index.offsets[current + 1]]
        if self.index.normalized:
            quads = quads * np.tile(np.array([width, height], dtype=np.float32), 4)
        elif len(quads) and tuple(self.index.sizes[current]) != (height, width):
            # Checked against the declared size (the enclosing boxes raised or were recorded above).
            quads = np.clip(quads, 0, np.tile(np.array([width, height], dtype=np.float32), 4))
        else:
            quads = quads.copy()
        return tv_tensors.BoundingBoxes(
            torch.from_numpy(quads), format=tv_tensors.BoundingBoxFormat.XYXYXYXY, canvas_size=(height, width)
        )

    def _keep_with_area(self, boxes: np.ndarray, height: int, width: int, current: int) -> np.ndarray | None:
        """Which boxes clipping to the decoded image left with an area; the others are problems.

        A box of an image whose size the annotation does not give (or gives
        wrongly) can lie at or beyond the decoded image's border: clipped, it
        has no area. Under ``"raise"`` that is an
        [`InvalidBoxesError`][visiondata.exceptions.InvalidBoxesError]; otherwise the box is left out of
        the sample and recorded in `problems`.
        """
        flat = (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
        if not flat.any():
            return None
        stored = self.index.boxes[self.index.offsets[current] : self.index.offsets[current + 1]]
        problem = (
            f"{self.path(current)}: box {stored[int(np.flatnonzero(flat)[0])].round(3).tolist()} (XYXY) has no "
            f"area once clipped to the decoded {width}x{height} image ({int(flat.sum())} such box"
            f"{'es' if flat.sum() != 1 else ''}): expected boxes inside 0 <= x <= {width} and 0 <= y <= "
            f"{height}; the annotation's image size or the box is wrong"
        )
        if self.on_error == "raise":
            raise InvalidBoxesError(problem)
        self._record_problem(problem, "left out boxes")
        return ~flat

    def _keep_rows(self, target: dict[str, Any], keep: np.ndarray) -> None:
        """Leave the boxes not in ``keep`` out of ``target``, with their labels, fields and masks."""
        rows = torch.from_numpy(keep)
        for name in ("boxes", "labels", "masks", "keypoints", *self.index.fields):
            value = target.get(name)
            if isinstance(value, torch.Tensor):
                target[name] = (
                    tv_tensors.wrap(value[rows], like=value)
                    if isinstance(value, tv_tensors.TVTensor)
                    else value[rows]
                )

    def _add_masks(self, target: dict[str, Any], index: int, height: int, width: int) -> np.ndarray | None:
        """Add instance masks to ``target`` (readers that have them).

        Returns:
            ``None``, or which rows to keep: a reader that finds a mask it cannot
            decode for the decoded image leaves that box out (under ``"skip"``/``"warn"``).
        """
        return None

    def split(self, fractions: Sequence[float] = (0.8, 0.2), seed: int = 0) -> list[Subset]:
        """Disjoint random subsets of images in the given fractions, reproducible for a seed."""
        return self._split(fractions, None, seed)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.root!r}, {len(self)} images, {len(self.index.boxes)} boxes, "
            f"{len(self.classes)} classes)"
        )


def rasterize_polygon(polygon: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``(height, width)`` ``uint8`` mask: 1 where a pixel's centre lies inside ``polygon`` (even-odd rule).

    ``polygon`` is ``(K, 2)`` ``x y`` in pixels, pixel ``(i, j)`` covering ``[i, i + 1) x [j, j + 1)``
    (COCO's convention), so the mask's pixel count approximates the polygon's area. Scanlines
    through the pixel centres, vectorised with numpy, a band of rows at a time to bound memory.
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    x, y = polygon[:, 0], polygon[:, 1]
    x_next, y_next = np.roll(x, -1), np.roll(y, -1)
    # Rows whose centre j + 0.5 lies within the polygon's vertical extent.
    top = max(int(np.ceil(y.min() - 0.5)), 0)
    bottom = min(int(np.floor(y.max() - 0.5)), height - 1)
    if bottom < top or len(polygon) < 3:
        return mask
    slope = np.divide(x_next - x, y_next - y, out=np.zeros_like(x), where=y_next != y)
    band = max(1, (1 << 20) // len(polygon))
    for first in range(top, bottom + 1, band):
        last = min(first + band, bottom + 1)
        centre = (np.arange(first, last, dtype=np.float64) + 0.5)[:, None]
        # Half-open on y: a vertex shared by two edges is crossed once; horizontal edges never.
        crosses = ((y <= centre) & (centre < y_next)) | ((y_next <= centre) & (centre < y))
        rows, edges = np.nonzero(crosses)
        hits = x[edges] + (centre[rows, 0] - y[edges]) * slope[edges]
        # A pixel lies inside after an odd number of crossings left of its centre i + 0.5.
        columns = np.clip(np.ceil(hits - 0.5), 0, width).astype(np.int64)
        toggles = np.zeros((last - first, width + 1), dtype=np.int32)
        np.add.at(toggles, (rows, columns), 1)
        mask[first:last] = np.cumsum(toggles, axis=1)[:, :width] & 1
    return mask
