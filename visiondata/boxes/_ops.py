"""Box arithmetic: area, pairwise IoU and clipping, on tensors and arrays alike."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from visiondata.boxes._convert import (
    as_boxes,
    from_xyxy,
    image_height_width,
    is_normalized,
    is_tensor,
    resolve_format,
    resolve_image_size,
    rewrap,
    stack_columns,
    to_xyxy,
)
from visiondata.boxes._rotated import (
    clamp_xywhr,
    from_xywhr,
    is_rotated,
    rotated_iou,
    signed_area,
    to_xywhr,
)

Boxes = TypeVar("Boxes")


def clamp(values: Any, low: Any = None, high: Any = None) -> Any:
    """``values`` limited to ``[low, high]`` (either bound may be ``None``), tensor or array."""
    if is_tensor(values):
        return values.clamp(low, high)
    return np.clip(values, low, high)


def maximum(a: Any, b: Any) -> Any:
    """Element-wise maximum of two tensors or two arrays."""
    return a.maximum(b) if is_tensor(a) else np.maximum(a, b)


def minimum(a: Any, b: Any) -> Any:
    """Element-wise minimum of two tensors or two arrays."""
    return a.minimum(b) if is_tensor(a) else np.minimum(a, b)


def box_area(boxes: Boxes, fmt: str | None = None) -> Boxes:
    """Area of each box, in the units of ``fmt`` (pixels, or fractions of the image for normalised formats).

    An inverted box (``x_max < x_min`` or ``y_max < y_min``) has area 0. An
    oriented box's area is ``w * h`` (0 when a side is negative), and a
    ``xyxyxyxy`` box's the area of its quadrilateral (shoelace formula, whichever
    way round its corners run); converting between formats keeps it.

    Args:
        boxes: ``(..., 4)`` tensor or array (``(..., 5)`` / ``(..., 8)`` for oriented formats).
        fmt: Box format, one of `BOX_FORMATS`; ``None`` takes a ``BoundingBoxes``' own format
            (``"xyxy"`` for plain boxes), and a format that disagrees with it is an error.

    Returns:
        ``(...)`` areas, same type as ``boxes``.

    Examples:
        >>> import torch
        >>> box_area(torch.tensor([[0.0, 0.0, 4.0, 3.0], [5.0, 5.0, 2.0, 2.0]]))
        tensor([12.,  0.])
        >>> box_area(torch.tensor([[10.0, 10.0, 4.0, 3.0, 30.0]]), "cxcywhr")
        tensor([12.])
        >>> box_area(np.array([[0, 1, 1, 0, 2, 1, 1, 2]]), "xyxyxyxy")  # a square on its corner
        array([2.])
    """
    fmt, _ = resolve_format(boxes, fmt, default="xyxy")
    if is_rotated(fmt):
        array = as_boxes(boxes, fmt=fmt)
        if fmt == "xyxyxyxy":
            return abs(signed_area(array))
        return clamp(array[..., 2], 0) * clamp(array[..., 3], 0)
    corners = to_xyxy(as_boxes(boxes), fmt.rstrip("n"))
    width = clamp(corners[..., 2] - corners[..., 0], 0)
    height = clamp(corners[..., 3] - corners[..., 1], 0)
    return width * height


def box_iou(boxes1: Boxes, boxes2: Boxes, fmt: str | None = None, fmt2: str | None = None) -> Boxes:
    """Intersection over union of every pair: ``(N, M)`` for ``N`` and ``M`` boxes.

    Pairs whose union is empty (two boxes without area) have IoU 0. Oriented
    boxes are intersected exactly as convex polygons (vectorised over the pairs,
    in float64, in chunks; pairs whose enclosing boxes do not touch are skipped),
    and an axis-aligned set compared with an oriented one is read as oriented
    boxes at angle 0. ``xyxyxyxy`` boxes may be any convex quadrilaterals.

    Args:
        boxes1: ``(N, 4)`` tensor or array (``(N, 5)`` / ``(N, 8)`` for oriented formats).
        boxes2: ``(M, 4)`` (or 5 or 8 columns), of the same type as ``boxes1``.
        fmt: Format of ``boxes1`` (and of ``boxes2`` unless ``fmt2`` is given), one of
            `BOX_FORMATS`; ``None`` reads each ``BoundingBoxes`` in its own format
            (``"xyxy"`` for plain boxes), and a format that disagrees with one is an error.
        fmt2: Format of ``boxes2`` when it differs from ``fmt`` (oriented boxes against
            axis-aligned ones); ``None`` means ``fmt``.

    Returns:
        ``(N, M)`` IoU values in ``[0, 1]``, same type as ``boxes1`` (same dtype and device for tensors).

    Raises:
        ValueError: A normalised set against an oriented one (oriented boxes are in pixels:
            convert the normalised ones with ``image_size`` first).

    Examples:
        >>> import numpy as np
        >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [0, 0, 2, 2]]))
        array([[0.14285714, 1.        ]])

        Two unit squares about the same centre, one turned by 45 degrees: they share a regular
        octagon of area 2 (sqrt(2) - 1), so the IoU is 2 (sqrt(2) - 1) / (2 - 2 (sqrt(2) - 1)) = 1 / sqrt(2).

        >>> iou = box_iou(np.array([[0.0, 0.0, 1.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0, 1.0, 45.0]]), "cxcywhr")
        >>> round(float(iou[0, 0]), 6), round(2**-0.5, 6)
        (0.707107, 0.707107)
    """
    # Each BoundingBoxes is read in its own declared format (they may differ); plain boxes in fmt.
    format1 = resolve_format(boxes1, fmt, "fmt", default="xyxy")[0]
    format2 = resolve_format(boxes2, fmt if fmt2 is None else fmt2, "fmt2", default="xyxy")[0]
    first, second = as_boxes(boxes1, "boxes1", format1), as_boxes(boxes2, "boxes2", format2)
    if is_tensor(first) != is_tensor(second):
        raise TypeError("box_iou: expected boxes1 and boxes2 of the same type (two tensors or two arrays)")
    if first.ndim != 2 or second.ndim != 2:
        raise ValueError(
            f"box_iou: expected (N, {first.shape[-1]}) and (M, {second.shape[-1]}) boxes, "
            f"got {tuple(first.shape)} and {tuple(second.shape)}"
        )
    if is_rotated(format1) or is_rotated(format2):
        return _rotated_iou(first, format1, second, format2)
    layout1, layout2 = format1.rstrip("n"), format2.rstrip("n")
    if is_tensor(first):
        second = second.to(first.dtype)
    first, second = to_xyxy(first, layout1), to_xyxy(second, layout2)
    top_left = maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = minimum(first[:, None, 2:], second[None, :, 2:])
    sides = clamp(bottom_right - top_left, 0)
    intersection = sides[..., 0] * sides[..., 1]
    union = box_area(first)[:, None] + box_area(second)[None, :] - intersection
    # Where the union is empty the intersection is too: divide by 1 there instead of 0.
    return intersection / (union + (union <= 0))


def _rotated_iou(first: Any, format1: str, second: Any, format2: str) -> Any:
    from visiondata.boxes._convert import convert_boxes

    for name, layout in (("fmt", format1), ("fmt2", format2)):
        if is_normalized(layout):
            raise ValueError(
                f"{name}: expected a pixel format to compare with oriented boxes, got {layout!r}; "
                "convert the normalised boxes to pixels with convert_boxes(..., image_size=(height, width))"
            )
    like = first
    # Axis-aligned sets become oriented boxes at angle 0; everything becomes corners.
    first = convert_boxes(first, format1, "xyxyxyxy")
    second = convert_boxes(second, format2, "xyxyxyxy")
    iou = rotated_iou(first, second)
    if is_tensor(like):
        import torch

        return torch.from_numpy(iou).to(dtype=like.dtype, device=like.device)
    return iou.astype(like.dtype, copy=False)


def clip_boxes(boxes: Boxes, fmt: str | None = None, image_size: tuple[float, float] | None = None) -> Boxes:
    """Boxes cut to the image: every coordinate moved inside ``[0, width] x [0, height]``.

    A box entirely outside the image becomes a box without area on the
    border; [`validate_boxes`][visiondata.boxes.validate_boxes] with ``policy="clip"`` also removes those
    and reports what it changed.

    Oriented boxes are clamped as torchvision 0.29's ``clamp_bounding_boxes``
    does in its default ``"soft"`` mode: each becomes the smallest box *of the
    same angle* that encloses the part of it inside the image, so its corners may
    still reach past the border (a box turned by 45 degrees in a corner of the
    image keeps its angle, and its enclosing box pokes out). A box wholly inside
    is unchanged; one wholly outside becomes a box of width and height 0. The
    angle is kept: the result of a ``xyxyxyxy`` box is a rectangle along its
    first side (a DOTA quadrilateral that is not a rectangle is squared off).

    Args:
        boxes: ``(..., 4)`` tensor or array (``(..., 5)`` / ``(..., 8)`` for oriented formats).
        fmt: Box format, one of `BOX_FORMATS`; ``None`` takes a ``BoundingBoxes``' own format
            (``"xyxy"`` for plain boxes), and a format that disagrees with it is an error.
        image_size: ``(height, width)`` in pixels; required for pixel formats
            (normalised ones are clipped to ``[0, 1]``).

    Returns:
        The clipped boxes in format ``fmt``, same type as ``boxes``.

    Examples:
        >>> import torch
        >>> clip_boxes(torch.tensor([[-5.0, 2.0, 30.0, 8.0]]), "xyxy", image_size=(10, 20))
        tensor([[ 0.,  2., 20.,  8.]])
        >>> clip_boxes(torch.tensor([[0.75, 0.5, 1.0, 0.25]]), "cxcywhn").tolist()  # cut at x = 1
        [[0.625, 0.5, 0.75, 0.25]]
        >>> clip_boxes(np.array([[-2.0, 1.0, 4.0, 2.0, 0.0]]), "xywhr", image_size=(10, 10)).tolist()
        [[0.0, 1.0, 2.0, 2.0, 0.0]]
    """
    fmt, canvas = resolve_format(boxes, fmt, default="xyxy")
    image_size = resolve_image_size(image_size, canvas)
    if is_normalized(fmt):
        height = width = 1.0
    elif image_size is None:
        raise ValueError(f"image_size: clipping {fmt!r} boxes needs the image's (height, width), got None")
    else:
        height, width = image_height_width(image_size)
    if is_rotated(fmt):
        return rewrap(_clip_rotated(as_boxes(boxes, fmt=fmt), fmt, height, width), boxes, fmt, canvas)
    layout = fmt.rstrip("n")
    corners = to_xyxy(as_boxes(boxes), layout)
    clipped = stack_columns(
        [
            clamp(corners[..., 0], 0, width),
            clamp(corners[..., 1], 0, height),
            clamp(corners[..., 2], 0, width),
            clamp(corners[..., 3], 0, height),
        ],
        corners,
    )
    return rewrap(from_xyxy(clipped, layout), boxes, fmt, canvas)


def _clip_rotated(array: Any, fmt: str, height: float, width: float) -> Any:
    """Oriented boxes clamped to the image (torchvision's soft mode), in the input's type and dtype."""
    shape = array.shape
    flat = array.reshape(-1, shape[-1])
    clamped, changed = clamp_xywhr(to_xywhr(flat, fmt), height, width)
    if is_tensor(array):
        import torch

        changed = torch.from_numpy(changed).to(array.device)
        moved = from_xywhr(torch.from_numpy(clamped).to(dtype=array.dtype, device=array.device), fmt)
        # Boxes inside the image keep their numbers bit for bit (no round trip through xywhr).
        return torch.where(changed[:, None], moved, flat).reshape(shape)
    moved = from_xywhr(clamped.astype(array.dtype, copy=False), fmt)
    return np.where(changed[:, None], moved, flat).reshape(shape)
