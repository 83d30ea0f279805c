"""Box formats and conversion between them, on ``(..., 4)`` tensors and arrays alike.

Every function here takes a ``torch.Tensor`` (``tv_tensors.BoundingBoxes``
included) or a ``numpy.ndarray`` and returns the same type, so that dataset
code (numpy) and training code (torch) share one implementation. The
arithmetic only uses indexing and the four operators, which both libraries
spell the same way.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from visiondata.exceptions import InvalidBoxesError

#: Every box format visiondata reads and writes. Pixel formats: ``xyxy`` (Pascal VOC,
#: torchvision), ``xywh`` (COCO), ``cxcywh``. Normalised formats (coordinates as
#: fractions of the image's width and height): ``xyxyn`` (albumentations),
#: ``xywhn``, ``cxcywhn`` (YOLO).
BOX_FORMATS = ("xyxy", "xywh", "cxcywh", "xyxyn", "xywhn", "cxcywhn")

#: torchvision's ``BoundingBoxFormat`` names of the axis-aligned formats, and ours.
TORCHVISION_FORMATS = {"XYXY": "xyxy", "XYWH": "xywh", "CXCYWH": "cxcywh"}

#: Other names people use for the same formats.
FORMAT_ALIASES = {
    "pascal_voc": "xyxy",
    "coco": "xywh",
    "albumentations": "xyxyn",
    "yolo": "cxcywhn",
}

Boxes = TypeVar("Boxes")


def check_format(fmt: str, argument: str = "fmt") -> str:
    """The canonical name of box format ``fmt`` (aliases such as ``"coco"`` accepted).

    Raises:
        ValueError: Not a known format; the message lists them.

    Examples:
        >>> check_format("yolo")
        'cxcywhn'
    """
    if isinstance(fmt, str):
        name = fmt.lower()
        name = FORMAT_ALIASES.get(name, name)
        if name in BOX_FORMATS:
            return name
    known = ", ".join(map(repr, BOX_FORMATS))
    aliases = ", ".join(f"{alias!r} ({name})" for alias, name in FORMAT_ALIASES.items())
    raise ValueError(f"{argument}: expected a box format, one of {known} or an alias {aliases}; got {fmt!r}")


def is_normalized(fmt: str) -> bool:
    """Whether canonical format ``fmt`` holds fractions of the image size."""
    return fmt.endswith("n")


def is_tensor(value: object) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch when nobody has)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def as_boxes(boxes: Any, argument: str = "boxes") -> Any:
    """``boxes`` as a floating-point tensor or array of shape ``(..., 4)``.

    Tensors stay tensors (a ``BoundingBoxes`` becomes a plain tensor) and
    arrays stay arrays; integer input becomes floating point; nested lists
    become a numpy array.

    Raises:
        InvalidBoxesError: The last dimension is not 4.
    """
    if is_tensor(boxes):
        import torch

        boxes = boxes.as_subclass(torch.Tensor)
        if not boxes.is_floating_point():
            boxes = boxes.to(torch.get_default_dtype())
    else:
        boxes = np.asarray(boxes)
        if boxes.dtype.kind not in "fc":
            try:
                boxes = boxes.astype(np.float64)
            except (TypeError, ValueError) as error:
                raise InvalidBoxesError(
                    f"{argument}: expected numbers, got an array of {boxes.dtype} ({error})"
                ) from None
    if boxes.ndim == 1 and boxes.shape[0] == 0:
        boxes = boxes.reshape(0, 4)  # [] is no boxes
    if boxes.ndim < 2 or boxes.shape[-1] != 4:
        hint = "; a single box is boxes[None]" if tuple(boxes.shape) == (4,) else ""
        raise InvalidBoxesError(f"{argument}: expected shape (N, 4), got {tuple(boxes.shape)}{hint}")
    return boxes


def stack_columns(columns: Sequence[Any], like: Any) -> Any:
    """Stack four ``(...)`` columns into ``(..., 4)``, as a tensor or an array like ``like``."""
    if is_tensor(like):
        import torch

        return torch.stack(list(columns), dim=-1)
    return np.stack(columns, axis=-1)


def image_height_width(image_size: Any, argument: str = "image_size") -> tuple[float, float]:
    """``(height, width)`` from ``image_size``, checked to be two positive numbers."""
    try:
        height, width = (float(side) for side in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: expected (height, width), got {image_size!r}") from None
    if not (height > 0 and width > 0):
        raise ValueError(f"{argument}: expected a positive (height, width), got {image_size!r}")
    return height, width


def to_xyxy(boxes: Any, layout: str) -> Any:
    """``boxes`` of layout ``xyxy``, ``xywh`` or ``cxcywh`` (normalised or not) as corners, same units."""
    if layout == "xyxy":
        return boxes
    a, b, c, d = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    if layout == "xywh":
        return stack_columns([a, b, a + c, b + d], boxes)
    half_width, half_height = c / 2, d / 2
    return stack_columns([a - half_width, b - half_height, a + half_width, b + half_height], boxes)


def from_xyxy(boxes: Any, layout: str) -> Any:
    """Corner boxes in layout ``xyxy``, ``xywh`` or ``cxcywh``, same units."""
    if layout == "xyxy":
        return boxes
    x_min, y_min, x_max, y_max = boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]
    width, height = x_max - x_min, y_max - y_min
    if layout == "xywh":
        return stack_columns([x_min, y_min, width, height], boxes)
    return stack_columns([(x_min + x_max) / 2, (y_min + y_max) / 2, width, height], boxes)


def denormalize(boxes: Any, height: float, width: float) -> Any:
    """Normalised corner boxes in pixels."""
    return stack_columns(
        [boxes[..., 0] * width, boxes[..., 1] * height, boxes[..., 2] * width, boxes[..., 3] * height], boxes
    )


def normalize(boxes: Any, height: float, width: float) -> Any:
    """Pixel corner boxes as fractions of the image size."""
    return stack_columns(
        [boxes[..., 0] / width, boxes[..., 1] / height, boxes[..., 2] / width, boxes[..., 3] / height], boxes
    )


def convert_boxes(boxes: Boxes, src: str, dst: str, image_size: tuple[float, float] | None = None) -> Boxes:
    """Convert boxes from format ``src`` to format ``dst``.

    Pixel and normalised formats convert into each other with ``image_size``;
    between two pixel (or two normalised) formats it is not needed. Boxes
    keep their type (tensor or numpy array) and floating-point dtype;
    integers become floats. Conversions are exact up to floating-point
    rounding: a round trip through any format returns the boxes to 1e-4
    pixel in float64 (float32 carries about 7 significant digits).

    Args:
        boxes: ``(..., 4)`` tensor or array (nested lists become an array).
        src: Format of ``boxes``, one of `BOX_FORMATS` (or an alias:
            ``"pascal_voc"``, ``"coco"``, ``"albumentations"``, ``"yolo"``).
        dst: Format to return.
        image_size: ``(height, width)`` in pixels, required when exactly one
            of ``src`` and ``dst`` is normalised.

    Returns:
        The boxes in format ``dst``, same type as ``boxes``.

    Raises:
        ValueError: Unknown format, or ``image_size`` missing where needed.
        InvalidBoxesError: ``boxes`` is not of shape ``(..., 4)``.

    Examples:
        >>> import numpy as np
        >>> convert_boxes(np.array([[10, 20, 30, 40]]), "xywh", "xyxy")
        array([[10., 20., 40., 60.]])
        >>> convert_boxes(np.array([[0.5, 0.5, 0.2, 0.4]]), "yolo", "xyxy", image_size=(100, 200)).tolist()
        [[80.0, 30.0, 120.0, 70.0]]
    """
    src, dst = check_format(src, "src"), check_format(dst, "dst")
    array = as_boxes(boxes)
    if src == dst:
        # A copy, as every other conversion returns: the result never shares memory with the input.
        return array.clone() if is_tensor(array) else array.copy()
    # Arithmetic only: NaN and infinity pass through as values (validate_boxes reports them), unwarned.
    with np.errstate(invalid="ignore", over="ignore"):
        return _convert(array, src, dst, image_size)


def _convert(array: Any, src: str, dst: str, image_size: tuple[float, float] | None) -> Any:
    corners = to_xyxy(array, src.rstrip("n"))
    if is_normalized(src) != is_normalized(dst):
        if image_size is None:
            raise ValueError(
                f"image_size: converting {src!r} to {dst!r} needs the image's (height, width) in pixels, "
                "got None; pass image_size=(height, width)"
            )
        height, width = image_height_width(image_size)
        corners = (
            denormalize(corners, height, width) if is_normalized(src) else normalize(corners, height, width)
        )
    return from_xyxy(corners, dst.rstrip("n"))
