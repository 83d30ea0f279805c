"""The one per-box shape store of the detection readers: boxes that may come from polygons, circles or
raster masks, kept flat and drawn as instance masks with ``masks=True``, and one warning for the shapes the
detection schema cannot hold.

YOLO (normalised polygons), CVAT (polygons, rotated boxes, ellipses, RLE masks), LabelMe and Label Studio
(polygons, circles) all keep their shapes here, so `polygons` means the same for every reader.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from visiondata.datasets._detection import DetectionFileDataset, rasterize_polygon

#: How a stored box's mask is drawn: from its box, its polygon, its circle (centre and radius), or a raster
#: mask (CVAT's ``<mask>``: ``left top width height`` then run lengths alternating from background).
KIND_BOX, KIND_POLYGON, KIND_CIRCLE, KIND_RLE = 0, 1, 2, 3
#: Points of the polygon a circle is given as.
CIRCLE_VERTICES = 64

ShapePoints = Sequence[float] | np.ndarray | None


class ShapeDetectionDataset(DetectionFileDataset):
    """A detection reader whose boxes may come from polygons, circles and masks, drawn as masks with ``masks=True``.

    Subclasses call `_store_shapes` with one ``(kind, points)`` per stored box, in index order. The
    store is three flat arrays (kinds, points, offsets): no Python object per box survives
    construction. Points are pixels, or fractions of the image size when the subclass stores them
    ``normalized`` (YOLO): `polygons` then scales them by the image's size, read from its header.
    """

    masks: bool = False
    _shape_kinds: np.ndarray | None = None
    _shape_points: np.ndarray | None = None
    _shape_offsets: np.ndarray | None = None
    _shape_normalized: bool = False

    def _store_shapes(
        self,
        shapes: Sequence[tuple[int, ShapePoints]],
        normalized: bool = False,
        dtype: type = np.float32,
    ) -> None:
        """Keep one ``(kind, points)`` per stored box, in index order.

        Args:
            shapes: ``points`` is ``None`` for `KIND_BOX`, ``x1 y1 x2 y2 ...`` for `KIND_POLYGON`,
                ``cx cy radius`` for `KIND_CIRCLE`, ``left top width height counts...`` for `KIND_RLE`.
            normalized: The points are fractions of the image's width and height (YOLO).
            dtype: Of the flat points: ``float64`` where whole numbers above 2**24 must stay exact (RLE counts).
        """
        self._store_points([points for _, points in shapes], [kind for kind, _ in shapes], normalized, dtype)

    def _store_points(
        self,
        points: Sequence[ShapePoints],
        kinds: Sequence[int] | None = None,
        normalized: bool = False,
        dtype: type = np.float32,
    ) -> None:
        """Like `_store_shapes`, from parallel lists; without ``kinds``, a box with points is a polygon.

        When no box has points, nothing is kept: a detect-only dataset pays no memory for the store.
        """
        self._shape_normalized = normalized
        lengths = np.fromiter((0 if value is None else len(value) for value in points), np.int64, len(points))
        if not lengths.any() and (kinds is None or not any(kinds)):
            self._shape_kinds = self._shape_points = self._shape_offsets = None
            return
        # One flat array cut by per-box offsets: no Python object per box survives construction.
        self._shape_kinds = (
            np.asarray(kinds, dtype=np.int8)
            if kinds is not None
            else (lengths > 0).astype(np.int8) * KIND_POLYGON
        )
        self._shape_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        present = [value for value in points if value is not None and len(value)]
        if any(isinstance(value, np.ndarray) for value in present):
            self._shape_points = np.concatenate([np.asarray(value, dtype=dtype) for value in present])
        else:
            self._shape_points = np.fromiter(chain.from_iterable(present), dtype, int(lengths.sum()))

    def polygons(self, index: int) -> list[np.ndarray | None]:
        """The polygons of image ``index``'s boxes: ``(K, 2)`` ``x y`` pixels, ``None`` for a rectangle.

        One item per stored box, in the order of `boxes`. A circle is given as its polygon of 64
        points. ``None`` is a plain rectangle (its box is the whole shape), or a raster mask
        without an outline (CVAT's ``<mask>``; see `mask_only`). Points stored normalised (YOLO)
        are scaled by the image's size, read from its file header (EXIF orientation applied, as
        the image decodes); pixels are never decoded.
        """
        index = self._position(index)
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        if self._shape_kinds is None:
            return [None] * (end - start)
        scale = None
        if self._shape_normalized and self._shape_kinds[start:end].any():
            from visiondata.formats._writing import image_size

            height, width = image_size(self.path(index))
            scale = np.array([width, height], dtype=np.float64)
        return [self._polygon(row, scale) for row in range(start, end)]

    def mask_only(self, index: int) -> list[bool]:
        """Per box of image ``index``: whether its shape is a raster mask with no polygon (CVAT ``<mask>``).

        Writers of polygon formats (YOLO segments) count those as masks left out.
        """
        index = self._position(index)
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        if self._shape_kinds is None:
            return [False] * (end - start)
        return (self._shape_kinds[start:end] == KIND_RLE).tolist()

    def _polygon(self, row: int, scale: np.ndarray | None = None) -> np.ndarray | None:
        """Row ``row``'s polygon in pixels (``scale``: the image's ``width, height`` for normalised points)."""
        if self._shape_kinds is None or self._shape_points is None or self._shape_offsets is None:
            return None
        kind = int(self._shape_kinds[row])
        points = self._shape_points[self._shape_offsets[row] : self._shape_offsets[row + 1]]
        if kind == KIND_POLYGON:
            polygon = points.reshape(-1, 2)
            return polygon * scale if scale is not None else polygon.copy()
        if kind == KIND_CIRCLE:
            cx, cy, radius = (float(value) for value in points)
            angles = np.linspace(0, 2 * np.pi, CIRCLE_VERTICES, endpoint=False)
            return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1).astype(
                np.float32
            )
        return None

    def _add_masks(self, target: dict[str, Any], index: int, height: int, width: int) -> np.ndarray | None:
        # A polygon's mask is the polygon (a pixel is inside when its centre is), a circle's the disc,
        # a raster mask its runs, a rectangle's its box. Normalised points are scaled by the decoded size.
        if not self.masks:
            return None
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        masks = np.zeros((end - start, height, width), dtype=np.uint8)
        scale = np.array([width, height], dtype=np.float64) if self._shape_normalized else None
        for row in range(start, end):
            kind = KIND_BOX if self._shape_kinds is None else int(self._shape_kinds[row])
            if kind in (KIND_CIRCLE, KIND_RLE):
                assert self._shape_points is not None and self._shape_offsets is not None
                data = self._shape_points[self._shape_offsets[row] : self._shape_offsets[row + 1]]
                masks[row - start] = (
                    _circle(data, height, width) if kind == KIND_CIRCLE else _rle(data, height, width)
                )
                continue
            polygon = self._polygon(row, scale)
            if polygon is None:
                x0, y0, x1, y1 = self.index.boxes[row].astype(np.float64)
                if self.index.normalized:
                    x0, x1, y0, y1 = x0 * width, x1 * width, y0 * height, y1 * height
                polygon = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            masks[row - start] = rasterize_polygon(polygon.astype(np.float64), height, width)
        target["masks"] = tv_tensors.Mask(torch.from_numpy(masks))
        return None


def _circle(data: np.ndarray, height: int, width: int) -> np.ndarray:
    """The disc ``cx cy radius`` as a mask (a pixel is inside when its centre is)."""
    cx, cy, radius = (float(value) for value in data[:3])
    ys = np.arange(height, dtype=np.float64)[:, None] + 0.5
    xs = np.arange(width, dtype=np.float64)[None, :] + 0.5
    return ((xs - cx) ** 2 + (ys - cy) ** 2 < radius * radius).astype(np.uint8)


def decode_rle(counts: np.ndarray, height: int, width: int) -> np.ndarray:
    """CVAT's mask RLE: run lengths alternating from background (0), row by row over the region."""
    values = np.zeros(len(counts), dtype=np.uint8)
    values[1::2] = 1
    return np.repeat(values, counts.astype(np.int64)).reshape(height, width)


def _rle(data: np.ndarray, height: int, width: int) -> np.ndarray:
    """A ``left top width height counts...`` region drawn on an image of ``height x width``."""
    mask = np.zeros((height, width), dtype=np.uint8)
    left, top, region_width, region_height = (int(value) for value in data[:4])
    region = decode_rle(data[4:], region_height, region_width)
    # The region as declared may reach past a decoded image of another size: clip it.
    bottom, right = min(top + region_height, height), min(left + region_width, width)
    if bottom > top and right > left:
        mask[top:bottom, left:right] = region[: bottom - top, : right - left]
    return mask


def warn_skipped(source: object, skipped: Counter[str], what: str) -> None:
    """Say once which shapes/results the detection schema cannot hold were left out (never silently)."""
    if skipped:
        counts = ", ".join(f"{count} {name}" for name, count in sorted(skipped.items()))
        warnings.warn(
            f"{source}: left out {sum(skipped.values())} {what} that are not boxes ({counts}); "
            "see .skipped_shapes",
            UserWarning,
            stacklevel=3,
        )
