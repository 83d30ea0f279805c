"""Oriented (rotated) boxes: conversions, areas, polygon intersection and clamping.

Conventions are torchvision's (``tv_tensors.BoundingBoxFormat.XYWHR``, ``CXCYWHR``
and ``XYXYXYXY``, 0.23 and later), so that boxes pass between the two unchanged:

- ``xywhr``: ``(x1, y1, w, h, r)``. ``(x1, y1)`` is the corner that is the top
  left one before rotating, ``w`` and ``h`` the side lengths and ``r`` the angle in
  degrees by which the box is turned about its centre, counter-clockwise *as
  seen on screen* (the image's y axis points down, so a positive angle lifts the
  right end of the top side: its far corner is ``(x1 + w cos r, y1 - w sin r)``).
- ``cxcywhr``: ``(cx, cy, w, h, r)``, the same box by its centre.
- ``xyxyxyxy``: the four corners ``(x1, y1, x2, y2, x3, y3, x4, y4)``, in the order
  top left, top right, bottom right, bottom left of the unrotated box. Any convex
  quadrilateral (a DOTA label) is read as its four corners by the area and IoU;
  converting it to ``xywhr`` keeps the first side and the length of the second
  (as torchvision does), which is exact for rectangles only.

Conversions run in the input's own type (tensor or array) and dtype. The polygon
work (IoU, clamping) runs in float64 numpy and returns the input's type, dtype and
device: it is exact up to rounding and needs no extra dependency. A collapsed box
(a point, a segment: no area) intersects nothing. The pipeline's corner helpers
(`polygon_area_in_image`, `clamp_corners`, `parallelogram_to_rectangle`,
`corners_inside`) live here too and take float64 ``(N, 8)`` arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: The oriented box formats, as torchvision's ``XYWHR``, ``CXCYWHR`` and ``XYXYXYXY``.
ROTATED_FORMATS = ("xywhr", "cxcywhr", "xyxyxyxy")
#: How many numbers one box of each format has.
COLUMNS = {"xywhr": 5, "cxcywhr": 5, "xyxyxyxy": 8}
#: A polygon whose area is at most this times its longest side times its coordinates' magnitude has no
#: area: it is narrower than 1e-10 of its coordinates, a hundred times the inside test's rounding allowance.
_DEGENERATE = 1e-10
#: Coordinates beyond a border by less than this many pixels are rounding, not leaving.
_BORDER_NOISE = 1e-4
#: Pairs handled at once by the polygon code: bounds the memory to a few tens of MB.
_CHUNK = 32768


def is_rotated(fmt: str) -> bool:
    """Whether canonical format ``fmt`` is an oriented one."""
    return fmt in COLUMNS


def _is_tensor(values: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(values, torch.Tensor)


def _stack(columns: list[Any], like: Any) -> Any:
    if _is_tensor(like):
        import torch

        return torch.stack(columns, dim=-1)
    return np.stack(columns, axis=-1)


def _cos_sin(degrees: Any) -> tuple[Any, Any]:
    radians = degrees * (math.pi / 180.0)
    if _is_tensor(radians):
        return radians.cos(), radians.sin()
    return np.cos(radians), np.sin(radians)


def _sqrt(values: Any) -> Any:
    return values.sqrt() if _is_tensor(values) else np.sqrt(values)


def _atan2_degrees(y: Any, x: Any) -> Any:
    if _is_tensor(y):
        import torch

        return torch.atan2(y, x) * (180.0 / math.pi)
    return np.arctan2(y, x) * (180.0 / math.pi)


def cxcywhr_to_xywhr(boxes: Any) -> Any:
    """Centre boxes ``(cx, cy, w, h, r)`` as ``(x1, y1, w, h, r)`` (torchvision's formula)."""
    cx, cy, w, h, r = (boxes[..., i] for i in range(5))
    cos, sin = _cos_sin(r)
    return _stack([cx - w / 2 * cos - h / 2 * sin, cy + w / 2 * sin - h / 2 * cos, w, h, r], boxes)


def xywhr_to_cxcywhr(boxes: Any) -> Any:
    """``(x1, y1, w, h, r)`` boxes as ``(cx, cy, w, h, r)``."""
    x1, y1, w, h, r = (boxes[..., i] for i in range(5))
    cos, sin = _cos_sin(r)
    return _stack([x1 + w / 2 * cos + h / 2 * sin, y1 - w / 2 * sin + h / 2 * cos, w, h, r], boxes)


def xywhr_to_corners(boxes: Any) -> Any:
    """``(x1, y1, w, h, r)`` boxes as their four corners ``(x1, y1, ..., x4, y4)``."""
    x1, y1, w, h, r = (boxes[..., i] for i in range(5))
    cos, sin = _cos_sin(r)
    x2, y2 = x1 + w * cos, y1 - w * sin
    return _stack([x1, y1, x2, y2, x2 + h * sin, y2 + h * cos, x1 + h * sin, y1 + h * cos], boxes)


def corners_to_xywhr(corners: Any) -> Any:
    """Four corners as ``(x1, y1, w, h, r)``: the first side gives ``w`` and the angle, the second ``h``."""
    x1, y1, x2, y2, x3, y3 = (corners[..., i] for i in range(6))
    angle = _atan2_degrees(y1 - y2, x2 - x1)
    width = _sqrt((x2 - x1) ** 2 + (y2 - y1) ** 2)
    height = _sqrt((x3 - x2) ** 2 + (y3 - y2) ** 2)
    return _stack([x1, y1, width, height, angle], corners)


def to_xywhr(boxes: Any, fmt: str) -> Any:
    """Rotated boxes of format ``fmt`` as ``xywhr`` (the hub every rotated conversion goes through)."""
    if fmt == "xywhr":
        return boxes
    if fmt == "cxcywhr":
        return cxcywhr_to_xywhr(boxes)
    return corners_to_xywhr(boxes)


def from_xywhr(boxes: Any, fmt: str) -> Any:
    """``xywhr`` boxes in rotated format ``fmt``."""
    if fmt == "xywhr":
        return boxes
    if fmt == "cxcywhr":
        return xywhr_to_cxcywhr(boxes)
    return xywhr_to_corners(boxes)


def to_corners(boxes: Any, fmt: str) -> Any:
    """Rotated boxes of format ``fmt`` as ``(..., 8)`` corners (corner boxes are returned as they are)."""
    if fmt == "xyxyxyxy":
        return boxes
    return xywhr_to_corners(to_xywhr(boxes, fmt))


def corners_to_xyxy(corners: Any) -> Any:
    """The enclosing axis-aligned ``xyxy`` box of each set of four corners."""
    xs, ys = corners[..., 0::2], corners[..., 1::2]
    if _is_tensor(corners):
        return _stack([xs.amin(-1), ys.amin(-1), xs.amax(-1), ys.amax(-1)], corners)
    return _stack([xs.min(-1), ys.min(-1), xs.max(-1), ys.max(-1)], corners)


def xyxy_to_xywhr(boxes: Any) -> Any:
    """Axis-aligned ``xyxy`` boxes as ``xywhr`` boxes at angle 0."""
    x_min, y_min, x_max, y_max = (boxes[..., i] for i in range(4))
    return _stack([x_min, y_min, x_max - x_min, y_max - y_min, x_min * 0], boxes)


def signed_area(corners: Any) -> Any:
    """Shoelace area of each quadrilateral: positive when its corners run as torchvision's do.

    With the y axis pointing down, torchvision's order (top left, top right,
    bottom right, bottom left) is clockwise on screen and gives a positive value.
    """
    xs, ys = corners[..., 0::2], corners[..., 1::2]
    total = 0
    for i in range(4):
        j = (i + 1) % 4
        total = total + xs[..., i] * ys[..., j] - xs[..., j] * ys[..., i]
    return total / 2


# ---------------------------------------------------------------- polygon intersection (float64 numpy)


def _as_float64_points(corners: Any) -> np.ndarray:
    """``(N, 8)`` corners as a float64 ``(N, 4, 2)`` array with a positive orientation."""
    if _is_tensor(corners):
        corners = corners.detach().cpu().double().numpy()
    points = np.asarray(corners, dtype=np.float64).reshape(-1, 4, 2)
    # Quadrilaterals listed the other way round are reversed: the inside tests need one orientation.
    flip = signed_area(points.reshape(-1, 8)) < 0
    points[flip] = points[flip, ::-1]
    return points


def _shoelace(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Signed area of each row's polygon through the points ``(xs[i, k], ys[i, k])``."""
    return (xs * np.roll(ys, -1, axis=1) - np.roll(xs, -1, axis=1) * ys).sum(1) / 2


def _flat(points: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Which ``(P, 4, 2)`` quadrilaterals have no area: a collapsed box (a point, a segment) or a sliver.

    A quadrilateral is flat when its area is at most `_DEGENERATE` times its
    longest side times ``scale`` (by default the magnitude of its own
    coordinates, at least 1): it is narrower than rounding can tell apart.
    """
    xs, ys = points[..., 0], points[..., 1]
    if scale is None:
        scale = np.maximum(np.abs(points).max(axis=(1, 2)), 1.0)
    longest = np.hypot(np.roll(xs, -1, axis=1) - xs, np.roll(ys, -1, axis=1) - ys).max(1)
    return np.abs(_shoelace(xs, ys)) <= _DEGENERATE * scale * longest


def _intersection_points(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate vertices of the intersection of convex quadrilaterals ``a[i]`` and ``b[i]``.

    The intersection of two convex polygons is the convex hull of the corners
    of each that lie inside the other and the points where their sides cross.
    A quadrilateral without area (a collapsed box) contains none of the
    other's corners, so that its intersection has no area either.
    x and y are kept in separate contiguous arrays: numpy is several times
    faster on those than on strided ``[..., 0]`` views.

    Args:
        a: ``(P, 4, 2)`` corners with a positive orientation.
        b: ``(P, 4, 2)`` likewise.

    Returns:
        ``(P, 24)`` x and y of the points, and a ``(P, 24)`` mask of the real ones.
    """
    ax, ay = np.ascontiguousarray(a[..., 0]), np.ascontiguousarray(a[..., 1])
    bx, by = np.ascontiguousarray(b[..., 0]), np.ascontiguousarray(b[..., 1])
    scale = np.maximum(np.maximum(np.abs(a).max(axis=(1, 2)), np.abs(b).max(axis=(1, 2))), 1.0)[:, None, None]
    # Sides as vectors: side k runs from corner k to corner k + 1.
    rx, ry = np.roll(ax, -1, axis=1) - ax, np.roll(ay, -1, axis=1) - ay
    sx, sy = np.roll(bx, -1, axis=1) - bx, np.roll(by, -1, axis=1) - by
    length_r, length_s = np.hypot(rx, ry), np.hypot(sx, sy)
    # A polygon without area (a collapsed box: one point, or a segment with sides of length 0) passes the
    # inside test below for every point on its line or everywhere: it contains no corner of the other. Its
    # own corners inside the other and the crossings still count, so its intersection is the part of it
    # inside the other (a point, a segment), of area 0.
    flat_a, flat_b = _flat(a, scale[:, 0, 0]), _flat(b, scale[:, 0, 0])
    # A point on a side (identical or touching boxes) counts as inside: rounding must not drop it. The
    # cross products below carry a rounding error of a few float steps of |side| * |coordinates|.
    tolerance_s = 1e-12 * scale * length_s[:, None, :]
    tolerance_r = 1e-12 * scale * length_r[:, :, None]
    # Offsets from the start of side j of b to corner i of a: [P, i, j].
    ox = bx[:, None, :] - ax[:, :, None]
    oy = by[:, None, :] - ay[:, :, None]
    # cross(side j of b, corner i of a - start of side j) >= 0 for every j: corner i is inside b.
    a_in_b = (sx[:, None, :] * -oy - sy[:, None, :] * -ox >= -tolerance_s).all(2) & ~flat_b[:, None]
    # cross(side i of a, corner j of b - start of side i) >= 0 for every i: corner j is inside a.
    b_in_a = (rx[:, :, None] * oy - ry[:, :, None] * ox >= -tolerance_r).all(1) & ~flat_a[:, None]
    # Side i of a (p + t r) against side j of b (q + u s), with q - p = (ox, oy).
    rxi, ryi, sxj, syj = rx[:, :, None], ry[:, :, None], sx[:, None, :], sy[:, None, :]
    denominator = rxi * syj - ryi * sxj
    parallel = np.abs(denominator) <= 1e-12 * length_r[:, :, None] * length_s[:, None, :]
    safe = np.where(parallel, 1.0, denominator)
    t = (ox * syj - oy * sxj) / safe
    u = (ox * ryi - oy * rxi) / safe
    crossing = ~parallel & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    count = len(a)
    xs = np.concatenate([ax, bx, (ax[:, :, None] + t * rxi).reshape(count, 16)], axis=1)
    ys = np.concatenate([ay, by, (ay[:, :, None] + t * ryi).reshape(count, 16)], axis=1)
    mask = np.concatenate([a_in_b, b_in_a, crossing.reshape(count, 16)], axis=1)
    return xs, ys, mask


def _hull_area(xs: np.ndarray, ys: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Area of the convex polygon through the masked points of each row (0 under three points)."""
    count = mask.sum(1)
    divisor = np.maximum(count, 1)
    centre_x = np.where(mask, xs, 0.0).sum(1) / divisor
    centre_y = np.where(mask, ys, 0.0).sum(1) / divisor
    angles = np.arctan2(ys - centre_y[:, None], xs - centre_x[:, None])
    angles[~mask] = np.inf
    order = np.argsort(angles, axis=1)
    xs, ys = np.take_along_axis(xs, order, axis=1), np.take_along_axis(ys, order, axis=1)
    real = np.take_along_axis(mask, order, axis=1)
    # Missing points become copies of the first one: a side of length 0 adds no area.
    xs, ys = np.where(real, xs, xs[:, :1]), np.where(real, ys, ys[:, :1])
    area = np.abs((xs * np.roll(ys, -1, axis=1) - np.roll(xs, -1, axis=1) * ys).sum(1)) / 2
    return np.where(count >= 3, area, 0.0)


def rotated_iou(corners1: Any, corners2: Any) -> np.ndarray:
    """``(N, M)`` float64 IoU of two sets of ``(N, 8)`` / ``(M, 8)`` corners (exact polygon intersection).

    Only pairs whose enclosing axis-aligned boxes overlap are intersected, in
    chunks, so that memory stays bounded and sparse scenes are fast.
    """
    first, second = _as_float64_points(corners1), _as_float64_points(corners2)
    area1 = np.abs(signed_area(first.reshape(-1, 8)))
    area2 = np.abs(signed_area(second.reshape(-1, 8)))
    box1, box2 = corners_to_xyxy(first.reshape(-1, 8)), corners_to_xyxy(second.reshape(-1, 8))
    with np.errstate(invalid="ignore"):
        flat1, flat2 = _flat(first), _flat(second)
    iou = np.zeros((len(first), len(second)), dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        touching = (
            (box1[:, None, 0] <= box2[None, :, 2])
            & (box2[None, :, 0] <= box1[:, None, 2])
            & (box1[:, None, 1] <= box2[None, :, 3])
            & (box2[None, :, 1] <= box1[:, None, 3])
        )
        rows, columns = np.nonzero(touching)
        for start in range(0, len(rows), _CHUNK):
            i, j = rows[start : start + _CHUNK], columns[start : start + _CHUNK]
            intersection = _hull_area(*_intersection_points(first[i], second[j]))
            # A collapsed box meets nothing (its intersection's area is only rounding).
            intersection = np.where(flat1[i] | flat2[j], 0.0, intersection)
            # Rounding can leave the intersection a hair above the smaller area: never above the union.
            intersection = np.minimum(intersection, np.minimum(area1[i], area2[j]))
            union = area1[i] + area2[j] - intersection
            iou[i, j] = np.where(union > 0, intersection / np.where(union > 0, union, 1.0), 0.0)
    return iou


def clamp_xywhr(boxes: Any, height: float, width: float) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 5)`` ``xywhr`` boxes cut to the image as torchvision's ``"soft"`` clamping mode does.

    Each box becomes the smallest box of the same angle that encloses the part
    of it inside ``[0, width] x [0, height]``; a box wholly inside is unchanged,
    and one wholly outside shrinks to a box of width and height 0.

    Returns:
        float64 ``(N, 5)`` boxes, and ``(N,)`` booleans marking the boxes that changed
        (those not wholly inside the image, NaN excepted).
    """
    if _is_tensor(boxes):
        boxes = boxes.detach().cpu().double().numpy()
    boxes = np.array(boxes, dtype=np.float64).reshape(-1, 5)
    corners = xywhr_to_corners(boxes)
    points = _as_float64_points(corners)
    canvas = np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])
    result = boxes.copy()
    xs, ys = corners[:, 0::2], corners[:, 1::2]
    inside = (xs >= 0).all(1) & (xs <= width).all(1) & (ys >= 0).all(1) & (ys <= height).all(1)
    finite = np.isfinite(boxes).all(1)
    todo = np.nonzero(~inside & finite)[0]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for start in range(0, len(todo), _CHUNK):
            index = todo[start : start + _CHUNK]
            found_x, found_y, mask = _intersection_points(
                points[index], np.broadcast_to(canvas, (len(index), 4, 2))
            )
            cos, sin = _cos_sin(boxes[index, 4])
            # The box's own axes: along its width (x2 - x1) and along its height (x4 - x1).
            along_w = np.stack([cos, -sin], -1)
            along_h = np.stack([sin, cos], -1)
            dx, dy = found_x - boxes[index, 0, None], found_y - boxes[index, 1, None]
            s = dx * along_w[:, 0, None] + dy * along_w[:, 1, None]
            t = dx * along_h[:, 0, None] + dy * along_h[:, 1, None]
            s_low, s_high = np.where(mask, s, np.inf).min(1), np.where(mask, s, -np.inf).max(1)
            t_low, t_high = np.where(mask, t, np.inf).min(1), np.where(mask, t, -np.inf).max(1)
            empty = ~mask.any(1)
            s_low, s_high = np.where(empty, 0.0, s_low), np.where(empty, 0.0, s_high)
            t_low, t_high = np.where(empty, 0.0, t_low), np.where(empty, 0.0, t_high)
            start_point = boxes[index, :2] + s_low[:, None] * along_w + t_low[:, None] * along_h
            # A box with nothing inside collapses as torchvision's does: to (0, height), size 0, angle 0.
            result[index] = np.where(
                empty[:, None],
                np.array([0.0, height, 0.0, 0.0, 0.0]),
                np.column_stack([start_point, s_high - s_low, t_high - t_low, boxes[index, 4]]),
            )
    return result, ~inside & finite


def parallelogram_to_rectangle(corners: np.ndarray) -> np.ndarray:
    """``(N, 8)`` parallelograms as rectangles, as torchvision's ``_parallelogram_to_bounding_boxes`` makes them.

    The longer diagonal stays fixed; rectangles come back as they are (up to
    rounding). torchvision applies it after every affine map, resize and crop
    of an ``XYWHR`` / ``CXCYWHR`` box; doing the same keeps results equal.

    Examples:
        >>> parallelogram_to_rectangle(np.array([[0.0, 0.0, 4.0, 0.0, 4.0, 2.0, 0.0, 2.0]])).round(6).tolist()
        [[0.0, 0.0, 4.0, 0.0, 4.0, 2.0, 0.0, 2.0]]
    """
    x1, y1, x2, y2, x3, y3, x4, y4 = (corners[:, i] for i in range(8))
    with np.errstate(invalid="ignore"):
        cx, cy = (x1 + x3) / 2, (y1 + y3) / 2
        side_w, side_h = np.hypot(x2 - x1, y2 - y1), np.hypot(x4 - x1, y4 - y1)
        r12, r14 = np.arctan2(y1 - y2, x2 - x1), np.arctan2(y1 - y4, x4 - x1)
        between = r12 - r14
        sign = np.where(between > np.pi / 2, -1.0, 1.0)
        cos, sin = np.cos(between), np.sin(between)
        w = np.where(side_w < side_h, side_w * sin, side_w + side_h * cos * sign)
        h = np.where(side_w > side_h, side_h * sin, side_h + side_w * cos * sign)
        angle = np.where(side_h > side_w, r14 + np.pi / 2, r12)
        cos, sin = np.cos(angle), np.sin(angle)
        out = np.stack(
            [
                cx - w / 2 * cos - h / 2 * sin,
                cy - h / 2 * cos + w / 2 * sin,
                cx + w / 2 * cos - h / 2 * sin,
                cy - h / 2 * cos - w / 2 * sin,
                cx + w / 2 * cos + h / 2 * sin,
                cy + h / 2 * cos - w / 2 * sin,
                cx - w / 2 * cos + h / 2 * sin,
                cy + h / 2 * cos + w / 2 * sin,
            ],
            axis=1,
        )
    # Rectangles (flips, rotations, crops, uniform resizes) keep their exact corners: no rounding added.
    rectangle = np.abs(_corner_dot(corners)) <= 1e-9 * np.maximum(side_w * side_h, 1e-300)
    return np.where(rectangle[:, None], corners, out)


def _corner_dot(corners: np.ndarray) -> np.ndarray:
    """Dot product of the two sides at the first corner: 0 for rectangles."""
    return (corners[:, 2] - corners[:, 0]) * (corners[:, 6] - corners[:, 0]) + (
        corners[:, 3] - corners[:, 1]
    ) * (corners[:, 7] - corners[:, 1])


def corners_inside(corners: np.ndarray, height: int, width: int) -> np.ndarray:
    """Which ``(N, 8)`` corner sets lie wholly in ``[0, width] x [0, height]`` (within float noise)."""
    xs, ys = corners[:, 0::2], corners[:, 1::2]
    with np.errstate(invalid="ignore"):
        return (
            (xs >= -_BORDER_NOISE).all(1)
            & (xs <= width + _BORDER_NOISE).all(1)
            & (ys >= -_BORDER_NOISE).all(1)
            & (ys <= height + _BORDER_NOISE).all(1)
        )


def polygon_area_in_image(corners: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area of each ``(N, 8)`` quadrilateral's part inside a ``height`` x ``width`` image (0 for NaN).

    A quadrilateral without area (a collapsed box) has none inside.

    Examples:
        >>> polygon_area_in_image(np.array([[-2.0, 0.0, 2.0, 0.0, 2.0, 2.0, -2.0, 2.0]]), 10, 10).tolist()
        [4.0]
    """
    if not len(corners):
        return np.zeros(0)
    finite = np.isfinite(corners).all(1)
    with np.errstate(invalid="ignore"):
        # A collapsed box's intersection with the image has no area but for rounding: exactly 0 here.
        finite &= ~_flat(np.asarray(corners, dtype=np.float64).reshape(-1, 4, 2))
    area = np.zeros(len(corners))
    if finite.any():
        points = _as_float64_points(corners[finite])
        canvas = np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]], dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            found = _intersection_points(points, np.broadcast_to(canvas, points.shape).copy())
            # Never more than the polygon itself (rounding in the hull).
            area[finite] = np.minimum(_hull_area(*found), np.abs(signed_area(corners[finite])))
    return area


def clamp_corners(corners: np.ndarray, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """``(N, 8)`` oriented boxes soft-clamped (torchvision's mode) to the region ``[x0, x1] x [y0, y1]``.

    Boxes wholly inside keep their corners; a box wholly outside becomes one without area.
    """
    offset = np.tile([x0, y0], 4).astype(np.float64)
    shifted = corners - offset
    clamped, changed = clamp_xywhr(corners_to_xywhr(shifted), max(y1 - y0, 0.0), max(x1 - x0, 0.0))
    changed &= ~corners_inside(shifted, max(y1 - y0, 0.0), max(x1 - x0, 0.0))
    return np.where(changed[:, None], xywhr_to_corners(clamped), shifted) + offset
