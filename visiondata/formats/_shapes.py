"""What the annotation-tool readers share: boxes that may come from polygons and circles, kept flat and drawn
as instance masks with ``masks=True``, and one warning for the shapes the detection schema cannot hold."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from visiondata.datasets._detection import DetectionFileDataset, rasterize_polygon

#: How a stored box's mask is drawn: from its box, its polygon, or its circle (centre and a rim point).
KIND_BOX, KIND_POLYGON, KIND_CIRCLE = 0, 1, 2


class ShapeDetectionDataset(DetectionFileDataset):
    """A detection reader whose boxes may come from polygons and circles, drawn as masks with ``masks=True``.

    Subclasses call `_store_shapes` with one ``(kind, points)`` per stored box, in index order.
    """

    masks: bool = False
    _shape_kinds: np.ndarray | None = None
    _shape_points: np.ndarray | None = None
    _shape_offsets: np.ndarray | None = None

    def _store_shapes(self, shapes: list[tuple[int, list[float] | None]]) -> None:
        # One flat float32 array cut by per-box offsets: no Python object per box survives construction.
        kinds = np.array([kind for kind, _ in shapes], dtype=np.int8)
        lengths = np.array([0 if points is None else len(points) for _, points in shapes], dtype=np.int64)
        self._shape_kinds = kinds
        self._shape_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self._shape_points = np.fromiter(
            (value for _, points in shapes if points is not None for value in points),
            dtype=np.float32,
            count=int(lengths.sum()),
        )

    def polygons(self, index: int) -> list[np.ndarray | None]:
        """The polygons of image ``index``'s boxes: ``(K, 2)`` ``x y`` pixels, ``None`` for a rectangle.

        One item per stored box, in the order of `boxes`. A circle is given as its polygon of 64 points.
        """
        index = self._position(index)
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        return [self._polygon(row) for row in range(start, end)]

    def _polygon(self, row: int) -> np.ndarray | None:
        if self._shape_kinds is None or self._shape_points is None or self._shape_offsets is None:
            return None
        kind = int(self._shape_kinds[row])
        points = self._shape_points[self._shape_offsets[row] : self._shape_offsets[row + 1]]
        if kind == KIND_POLYGON:
            return points.reshape(-1, 2).copy()
        if kind == KIND_CIRCLE:
            cx, cy, radius = (float(value) for value in points)
            angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
            return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1).astype(
                np.float32
            )
        return None

    def _add_masks(self, target: dict[str, Any], index: int, height: int, width: int) -> np.ndarray | None:
        # A polygon's mask is the polygon (a pixel is inside when its centre is), a circle's the disc,
        # a rectangle's its box.
        if not self.masks:
            return None
        start, end = int(self.index.offsets[index]), int(self.index.offsets[index + 1])
        masks = np.zeros((end - start, height, width), dtype=np.uint8)
        for row in range(start, end):
            kind = KIND_BOX if self._shape_kinds is None else int(self._shape_kinds[row])
            if kind == KIND_CIRCLE:
                assert self._shape_points is not None and self._shape_offsets is not None
                cx, cy, radius = (float(v) for v in self._shape_points[self._shape_offsets[row] :][:3])
                ys = np.arange(height, dtype=np.float64)[:, None] + 0.5
                xs = np.arange(width, dtype=np.float64)[None, :] + 0.5
                masks[row - start] = ((xs - cx) ** 2 + (ys - cy) ** 2 < radius * radius).astype(np.uint8)
                continue
            polygon = self._polygon(row)
            if polygon is None:
                x0, y0, x1, y1 = self.index.boxes[row].astype(np.float64)
                polygon = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            masks[row - start] = rasterize_polygon(polygon.astype(np.float64), height, width)
        target["masks"] = tv_tensors.Mask(torch.from_numpy(masks))
        return None


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
