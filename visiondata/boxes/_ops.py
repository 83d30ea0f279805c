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

    An inverted box (``x_max < x_min`` or ``y_max < y_min``) has area 0.

    Args:
        boxes: ``(..., 4)`` tensor or array.
        fmt: Box format, one of `BOX_FORMATS`; ``None`` takes a ``BoundingBoxes``' own format
            (``"xyxy"`` for plain boxes), and a format that disagrees with it is an error.

    Returns:
        ``(...)`` areas, same type as ``boxes``.

    Examples:
        >>> import torch
        >>> box_area(torch.tensor([[0.0, 0.0, 4.0, 3.0], [5.0, 5.0, 2.0, 2.0]]))
        tensor([12.,  0.])
    """
    fmt, _ = resolve_format(boxes, fmt, default="xyxy")
    corners = to_xyxy(as_boxes(boxes), fmt.rstrip("n"))
    width = clamp(corners[..., 2] - corners[..., 0], 0)
    height = clamp(corners[..., 3] - corners[..., 1], 0)
    return width * height


def box_iou(boxes1: Boxes, boxes2: Boxes, fmt: str | None = None) -> Boxes:
    """Intersection over union of every pair: ``(N, M)`` for ``N`` and ``M`` boxes.

    Pairs whose union is empty (two boxes without area) have IoU 0.

    Args:
        boxes1: ``(N, 4)`` tensor or array.
        boxes2: ``(M, 4)``, of the same type as ``boxes1``.
        fmt: Format of both, one of `BOX_FORMATS`; ``None`` reads each ``BoundingBoxes`` in its own
            format (``"xyxy"`` for plain boxes), and a format that disagrees with one is an error.

    Returns:
        ``(N, M)`` IoU values in ``[0, 1]``, same type as ``boxes1``.

    Examples:
        >>> import numpy as np
        >>> box_iou(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3], [0, 0, 2, 2]]))
        array([[0.14285714, 1.        ]])
    """
    # Each BoundingBoxes is read in its own declared format (they may differ); plain boxes in fmt.
    layout1 = resolve_format(boxes1, fmt, default="xyxy")[0].rstrip("n")
    layout2 = resolve_format(boxes2, fmt, default="xyxy")[0].rstrip("n")
    first, second = as_boxes(boxes1, "boxes1"), as_boxes(boxes2, "boxes2")
    if is_tensor(first) != is_tensor(second):
        raise TypeError("box_iou: expected boxes1 and boxes2 of the same type (two tensors or two arrays)")
    if first.ndim != 2 or second.ndim != 2:
        raise ValueError(
            f"box_iou: expected (N, 4) and (M, 4), got {tuple(first.shape)} and {tuple(second.shape)}"
        )
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


def clip_boxes(boxes: Boxes, fmt: str | None = None, image_size: tuple[float, float] | None = None) -> Boxes:
    """Boxes cut to the image: every coordinate moved inside ``[0, width] x [0, height]``.

    A box entirely outside the image becomes a box without area on the
    border; [`validate_boxes`][visiondata.boxes.validate_boxes] with ``policy="clip"`` also removes those
    and reports what it changed.

    Args:
        boxes: ``(..., 4)`` tensor or array.
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
    """
    fmt, canvas = resolve_format(boxes, fmt, default="xyxy")
    image_size = resolve_image_size(image_size, canvas)
    if is_normalized(fmt):
        height = width = 1.0
    elif image_size is None:
        raise ValueError(f"image_size: clipping {fmt!r} boxes needs the image's (height, width), got None")
    else:
        height, width = image_height_width(image_size)
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
