"""Box formats and box arithmetic: pure, vectorised functions on ``(N, C)`` tensors and numpy arrays.

Formats (`BOX_FORMATS`). Axis-aligned, ``(N, 4)`` (`AXIS_ALIGNED_FORMATS`):
``xyxy`` (Pascal VOC, torchvision), ``xywh`` (COCO) and ``cxcywh`` in pixels;
``xyxyn`` (albumentations), ``xywhn`` and ``cxcywhn`` (YOLO) as fractions of
the image's width and height. Oriented (rotated), in pixels
(`ROTATED_FORMATS`), exactly as torchvision's ``XYWHR``, ``CXCYWHR`` and
``XYXYXYXY``: ``xywhr`` ``(N, 5)`` (first corner, width, height, angle in
degrees, counter-clockwise as seen on screen), ``cxcywhr`` ``(N, 5)`` (the
same by the centre) and ``xyxyxyxy`` ``(N, 8)`` (the four corners: DOTA,
YOLO-OBB). Converting an oriented box to an axis-aligned format gives its
enclosing box. Every function returns the type it was given (a tensor or an
array) and never shares memory with its input.

Examples:
    >>> import torch
    >>> from visiondata.boxes import box_iou, convert_boxes
    >>> boxes = convert_boxes(torch.tensor([[0.5, 0.5, 0.5, 0.5]]), "yolo", "xyxy", image_size=(100, 200))
    >>> boxes
    tensor([[ 50.,  25., 150.,  75.]])
    >>> box_iou(boxes, boxes)
    tensor([[1.]])
    >>> box_iou(boxes, torch.tensor([[100.0, 50.0, 100.0, 50.0, 90.0]]), "xyxy", "cxcywhr")  # turned a quarter
    tensor([[0.3333]])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.boxes._convert import AXIS_ALIGNED_FORMATS, BOX_FORMATS, convert_boxes
    from visiondata.boxes._ops import box_area, box_iou, clip_boxes
    from visiondata.boxes._rotated import ROTATED_FORMATS
    from visiondata.boxes._validate import BoxValidation, validate_boxes

__all__ = [
    "AXIS_ALIGNED_FORMATS",
    "BOX_FORMATS",
    "ROTATED_FORMATS",
    "BoxValidation",
    "box_area",
    "box_iou",
    "clip_boxes",
    "convert_boxes",
    "validate_boxes",
]

# Loaded on first access: these modules import numpy.
_LAZY = {
    "AXIS_ALIGNED_FORMATS": "visiondata.boxes._convert",
    "BOX_FORMATS": "visiondata.boxes._convert",
    "ROTATED_FORMATS": "visiondata.boxes._rotated",
    "BoxValidation": "visiondata.boxes._validate",
    "box_area": "visiondata.boxes._ops",
    "box_iou": "visiondata.boxes._ops",
    "clip_boxes": "visiondata.boxes._ops",
    "convert_boxes": "visiondata.boxes._convert",
    "validate_boxes": "visiondata.boxes._validate",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
