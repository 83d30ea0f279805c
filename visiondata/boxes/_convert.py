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

from visiondata.boxes._rotated import (
    COLUMNS,
    ROTATED_FORMATS,
    corners_to_xyxy,
    from_xywhr,
    is_rotated,
    to_corners,
    to_xywhr,
    xyxy_to_xywhr,
)
from visiondata.exceptions import InvalidBoxesError

#: The axis-aligned box formats, ``(..., 4)``. Pixel formats: ``xyxy`` (Pascal VOC,
#: torchvision), ``xywh`` (COCO), ``cxcywh``. Normalised formats (coordinates as
#: fractions of the image's width and height): ``xyxyn`` (albumentations),
#: ``xywhn``, ``cxcywhn`` (YOLO).
AXIS_ALIGNED_FORMATS = ("xyxy", "xywh", "cxcywh", "xyxyn", "xywhn", "cxcywhn")

#: Every box format visiondata reads and writes: the axis-aligned ones, then the oriented
#: (rotated) ones in pixels, as torchvision's: ``xywhr`` and ``cxcywhr`` ``(..., 5)`` (angle in
#: degrees, counter-clockwise on screen) and ``xyxyxyxy`` ``(..., 8)`` (the four corners).
BOX_FORMATS = AXIS_ALIGNED_FORMATS + ROTATED_FORMATS

#: torchvision's ``BoundingBoxFormat`` names of the axis-aligned formats, and ours.
TORCHVISION_FORMATS = {"XYXY": "xyxy", "XYWH": "xywh", "CXCYWH": "cxcywh"}

#: torchvision's ``BoundingBoxFormat`` names of the rotated formats (torchvision 0.23 and later), and ours.
ROTATED_TORCHVISION_FORMATS = {"XYWHR": "xywhr", "CXCYWHR": "cxcywhr", "XYXYXYXY": "xyxyxyxy"}

#: Other names people use for the same formats.
FORMAT_ALIASES = {
    "pascal_voc": "xyxy",
    "coco": "xywh",
    "albumentations": "xyxyn",
    "yolo": "cxcywhn",
}

Boxes = TypeVar("Boxes")


def check_format(fmt: str, argument: str = "fmt", formats: Sequence[str] = AXIS_ALIGNED_FORMATS) -> str:
    """The canonical name of box format ``fmt`` (aliases such as ``"coco"`` accepted).

    Args:
        fmt: A format name or alias, in any case.
        argument: The argument's name, for the message.
        formats: The formats the caller handles. The default is the axis-aligned
            ones: code that moves boxes (the pipeline, drawing, writers) must opt in
            to oriented boxes with ``BOX_FORMATS``, so that none silently turns a
            rotated box into its enclosing box. A known format outside them is
            refused by name.

    Raises:
        ValueError: Not a known format, or one the caller does not handle; the message lists them.

    Examples:
        >>> check_format("yolo")
        'cxcywhn'
        >>> check_format("XYWHR", formats=BOX_FORMATS)
        'xywhr'
        >>> check_format("xywhr", "box_format")
        Traceback (most recent call last):
        ...
        ValueError: box_format: expected one of 'xyxy', 'xywh', 'cxcywh', 'xyxyn', 'xywhn', 'cxcywhn' here, got 'xywhr'; oriented boxes are not supported here: convert them with visiondata.boxes.convert_boxes first
    """
    if isinstance(fmt, str):
        name = fmt.lower()
        name = FORMAT_ALIASES.get(name, name)
        if name in formats:
            return name
        if name in BOX_FORMATS:
            known = ", ".join(map(repr, formats))
            raise ValueError(
                f"{argument}: expected one of {known} here, got {fmt!r}; "
                f"{'oriented' if is_rotated(name) else 'axis-aligned'} boxes are not supported here: "
                "convert them with visiondata.boxes.convert_boxes first"
            )
    known = ", ".join(map(repr, formats))
    aliases = ", ".join(f"{alias!r} ({name})" for alias, name in FORMAT_ALIASES.items() if name in formats)
    alias_text = f" or an alias {aliases}" if aliases else ""
    raise ValueError(f"{argument}: expected a box format, one of {known}{alias_text}; got {fmt!r}")


def is_normalized(fmt: str) -> bool:
    """Whether canonical format ``fmt`` holds fractions of the image size."""
    return fmt.endswith("n")


def is_tensor(value: object) -> bool:
    """Whether ``value`` is a torch tensor (without importing torch when nobody has)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def as_boxes(boxes: Any, argument: str = "boxes", fmt: str | None = None) -> Any:
    """``boxes`` as a floating-point tensor or array of shape ``(..., C)``.

    ``C`` is 4, or the width of canonical format ``fmt`` (5 for ``xywhr`` and
    ``cxcywhr``, 8 for ``xyxyxyxy``). Tensors stay tensors (a ``BoundingBoxes``
    becomes a plain tensor) and arrays stay arrays; integer input becomes
    floating point; nested lists become a numpy array.

    Raises:
        InvalidBoxesError: The last dimension is not ``C``.
    """
    columns = COLUMNS.get(fmt or "", 4)
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
        boxes = boxes.reshape(0, columns)  # [] is no boxes
    if boxes.ndim < 2 or boxes.shape[-1] != columns:
        hint = "; a single box is boxes[None]" if tuple(boxes.shape) == (columns,) else ""
        of = f" for {fmt!r} boxes" if fmt is not None else ""
        raise InvalidBoxesError(
            f"{argument}: expected shape (N, {columns}){of}, got {tuple(boxes.shape)}{hint}"
        )
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


def declared_format(boxes: Any) -> tuple[str, tuple[int, int]] | None:
    """``(format, canvas_size)`` that a ``tv_tensors.BoundingBoxes`` declares, or ``None`` for other input.

    Rotated formats (``XYWHR``, ``CXCYWHR``, ``XYXYXYXY``) map to ``xywhr``, ``cxcywhr``, ``xyxyxyxy``.
    """
    # Only a module that is already imported can have made a BoundingBoxes: never import torchvision here.
    tv_tensors = sys.modules.get("torchvision.tv_tensors")
    if tv_tensors is None or not isinstance(boxes, tv_tensors.BoundingBoxes):
        return None
    name = boxes.format.name
    fmt = TORCHVISION_FORMATS.get(name) or ROTATED_TORCHVISION_FORMATS.get(name)
    if fmt is None:
        known = ", ".join([*TORCHVISION_FORMATS, *ROTATED_TORCHVISION_FORMATS])
        raise InvalidBoxesError(f"boxes: expected BoundingBoxes in one of the formats {known}, got {name}")
    height, width = boxes.canvas_size
    return fmt, (int(height), int(width))


def resolve_format(
    boxes: Any, fmt: str | None, argument: str = "fmt", default: str | None = None
) -> tuple[str, tuple[int, int] | None]:
    """The canonical format of ``boxes`` and their canvas ``(height, width)`` if they declare one.

    A ``tv_tensors.BoundingBoxes`` carries its own format: it is the source of
    truth, and an ``fmt`` that names another one is a mistake (converting
    XYXY numbers as XYWH is a silently wrong result), not an override. Other
    input takes ``fmt``, or ``default`` when ``fmt`` is ``None``.

    Raises:
        InvalidBoxesError: ``fmt`` disagrees with the BoundingBoxes' format
            (a normalised format always does: BoundingBoxes hold pixels).
        ValueError: ``fmt`` is unknown, or ``None`` without a default for plain input.
    """
    declared = declared_format(boxes)
    if declared is None:
        if fmt is None:
            if default is not None:
                return default, None
            try:
                check_format(fmt, argument, BOX_FORMATS)
            except ValueError as error:
                raise ValueError(
                    f"{error}; None is for a tv_tensors.BoundingBoxes, which carries its own format"
                ) from None
        return check_format(fmt, argument, BOX_FORMATS), None
    own, canvas = declared
    if fmt is not None and check_format(fmt, argument, BOX_FORMATS) != own:
        raise InvalidBoxesError(
            f"{argument}: expected the format the BoundingBoxes declare, {own!r} "
            f"({own.upper()}, in pixels), or None, got {fmt!r}; a BoundingBoxes' own format is used: if its "
            f"numbers really are {fmt!r}, pass a plain tensor (boxes.as_subclass(torch.Tensor)) or build the "
            "BoundingBoxes with the right format"
        )
    return own, canvas


def resolve_image_size(image_size: Any, canvas: tuple[int, int] | None, argument: str = "image_size") -> Any:
    """``image_size``, or the BoundingBoxes' canvas when it is ``None``; the two must agree when both are given.

    Raises:
        InvalidBoxesError: ``image_size`` differs from the canvas size.
    """
    if canvas is None:
        return image_size
    if image_size is None:
        return canvas
    if image_height_width(image_size, argument) != (float(canvas[0]), float(canvas[1])):
        raise InvalidBoxesError(
            f"{argument}: expected the BoundingBoxes' canvas_size {canvas} (height, width) or None, "
            f"got {image_size!r}; fix the canvas_size of the BoundingBoxes or leave {argument} out"
        )
    return image_size


def rewrap(result: Any, like: Any, fmt: str, canvas: tuple[int, int] | None) -> Any:
    """``result`` as a BoundingBoxes of pixel format ``fmt`` like ``like``, when ``like`` is one.

    Normalised formats have no BoundingBoxes counterpart: those results stay plain tensors.
    """
    if canvas is None or is_normalized(fmt):
        return result
    from torchvision import tv_tensors

    return tv_tensors.wrap(result, like=like, format=fmt.upper(), canvas_size=canvas)


def convert_boxes(
    boxes: Boxes, src: str | None, dst: str, image_size: tuple[float, float] | None = None
) -> Boxes:
    """Convert boxes from format ``src`` to format ``dst``.

    Pixel and normalised formats convert into each other with ``image_size``;
    between two pixel (or two normalised) formats it is not needed. Boxes
    keep their type (tensor or numpy array) and floating-point dtype;
    integers become floats. Conversions are exact up to floating-point
    rounding: a round trip through any format returns the boxes to 1e-4
    pixel in float64 (float32 carries about 7 significant digits).

    Oriented boxes (``xywhr``, ``cxcywhr``, ``xyxyxyxy``) follow torchvision's
    ``BoundingBoxFormat.XYWHR`` / ``CXCYWHR`` / ``XYXYXYXY`` exactly, and give
    the same numbers as its ``convert_bounding_box_format``: ``(x1, y1)`` of
    ``xywhr`` is the corner that is the top left one before rotating, the angle
    ``r`` is in degrees and turns the box about its centre counter-clockwise as
    seen on screen (the y axis points down: the top side's far end is at
    ``(x1 + w cos r, y1 - w sin r)``), and the corners of ``xyxyxyxy`` run top
    left, top right, bottom right, bottom left of the unrotated box. A rotated
    box converted to an axis-aligned format is its *enclosing* box (the angle is
    gone: the smallest axis-aligned box holding its four corners); an
    axis-aligned box converted to a rotated format has angle 0. Corner boxes
    that are not rectangles (DOTA quadrilaterals) keep their first side and the
    length of their second in ``xywhr``, as in torchvision.

    Args:
        boxes: ``(..., 4)`` tensor or array, ``(..., 5)`` for ``xywhr`` and
            ``cxcywhr``, ``(..., 8)`` for ``xyxyxyxy`` (nested lists become an array).
            A ``tv_tensors.BoundingBoxes`` declares its own format and canvas:
            those are used, and ``src`` / ``image_size`` may be ``None``.
        src: Format of ``boxes``, one of `BOX_FORMATS` (or an alias:
            ``"pascal_voc"``, ``"coco"``, ``"albumentations"``, ``"yolo"``);
            ``None`` for a BoundingBoxes (its declared format). Given with a
            BoundingBoxes, it must name the declared format.
        dst: Format to return.
        image_size: ``(height, width)`` in pixels, required when exactly one
            of ``src`` and ``dst`` is normalised (a BoundingBoxes' canvas
            size serves when it is ``None``).

    Returns:
        The boxes in format ``dst``, same type as ``boxes``. A BoundingBoxes
        stays a BoundingBoxes (format ``dst``, same canvas size) when ``dst``
        is a pixel format; normalised boxes, which torchvision has no format
        for, come back as a plain tensor.

    Raises:
        ValueError: Unknown format, or ``image_size`` missing where needed.
        InvalidBoxesError: ``boxes`` does not have the columns of ``src``; or a
            BoundingBoxes whose declared format disagrees with ``src``, or
            whose canvas size disagrees with ``image_size``.

    Examples:
        >>> import numpy as np
        >>> convert_boxes(np.array([[10, 20, 30, 40]]), "xywh", "xyxy")
        array([[10., 20., 40., 60.]])
        >>> convert_boxes(np.array([[0.5, 0.5, 0.2, 0.4]]), "yolo", "xyxy", image_size=(100, 200)).tolist()
        [[80.0, 30.0, 120.0, 70.0]]
        >>> from torchvision import tv_tensors
        >>> declared = tv_tensors.BoundingBoxes([[10, 20, 40, 60]], format="XYXY", canvas_size=(100, 200))
        >>> converted = convert_boxes(declared, None, "xywh")
        >>> converted.tolist(), converted.format.name, converted.canvas_size
        ([[10.0, 20.0, 30.0, 40.0]], 'XYWH', (100, 200))

        A 4 x 2 box turned by 90 degrees (counter-clockwise on screen) about its centre (2, 1):

        >>> corners = convert_boxes(np.array([[2.0, 1.0, 4.0, 2.0, 90.0]]), "cxcywhr", "xyxyxyxy")
        >>> np.round(corners, 6).tolist()
        [[1.0, 3.0, 1.0, -1.0, 3.0, -1.0, 3.0, 3.0]]
        >>> convert_boxes(corners, "xyxyxyxy", "xyxy").round(6).tolist()  # the enclosing box
        [[1.0, -1.0, 3.0, 3.0]]
    """
    src, canvas = resolve_format(boxes, src, "src")
    dst = check_format(dst, "dst", BOX_FORMATS)
    image_size = resolve_image_size(image_size, canvas)
    array = as_boxes(boxes, fmt=src)
    if src == dst:
        # A copy, as every other conversion returns: the result never shares memory with the input.
        result = array.clone() if is_tensor(array) else array.copy()
    else:
        # Arithmetic only: NaN and infinity pass through as values (validate_boxes reports them), unwarned.
        with np.errstate(invalid="ignore", over="ignore"):
            result = _convert(array, src, dst, image_size)
    return rewrap(result, boxes, dst, canvas)


def _convert(array: Any, src: str, dst: str, image_size: tuple[float, float] | None) -> Any:
    if (
        (is_rotated(src) or is_rotated(dst))
        and is_normalized(src) != is_normalized(dst)
        and image_size is None
    ):
        raise ValueError(
            f"image_size: converting {src!r} to {dst!r} needs the image's (height, width) in pixels, "
            "got None; pass image_size=(height, width)"
        )
    if is_rotated(src) and is_rotated(dst):
        # Through xywhr, as torchvision goes, so that the numbers agree with its to the last bits.
        return from_xywhr(to_xywhr(array, src), dst)
    if is_rotated(src):
        array, src = corners_to_xyxy(to_corners(array, src)), "xyxy"
    if is_rotated(dst):
        corners = _convert(array, src, "xyxy", image_size) if src != "xyxy" else array
        return from_xywhr(xyxy_to_xywhr(corners), dst)
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
