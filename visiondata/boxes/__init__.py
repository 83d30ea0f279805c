"""Box formats and box arithmetic: pure, vectorised functions on ``(N, 4)`` tensors and numpy arrays.

Formats (`BOX_FORMATS`): ``xyxy`` (Pascal VOC, torchvision), ``xywh``
(COCO) and ``cxcywh`` in pixels; ``xyxyn`` (albumentations), ``xywhn`` and
``cxcywhn`` (YOLO) as fractions of the image's width and height. Every
function returns the type it was given (a tensor or an array).

Examples:
    >>> import torch
    >>> from visiondata.boxes import box_iou, convert_boxes
    >>> boxes = convert_boxes(torch.tensor([[0.5, 0.5, 0.5, 0.5]]), "yolo", "xyxy", image_size=(100, 200))
    >>> boxes
    tensor([[ 50.,  25., 150.,  75.]])
    >>> box_iou(boxes, boxes)
    tensor([[1.]])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.boxes._convert import BOX_FORMATS, convert_boxes
    from visiondata.boxes._ops import box_area, box_iou, clip_boxes
    from visiondata.boxes._validate import BoxValidation, validate_boxes

__all__ = [
    "BOX_FORMATS",
    "BoxValidation",
    "box_area",
    "box_iou",
    "clip_boxes",
    "convert_boxes",
    "validate_boxes",
]

# Loaded on first access: these modules import numpy.
_LAZY = {
    "BOX_FORMATS": "visiondata.boxes._convert",
    "BoxValidation": "visiondata.boxes._validate",
    "box_area": "visiondata.boxes._ops",
    "box_iou": "visiondata.boxes._ops",
    "clip_boxes": "visiondata.boxes._ops",
    "convert_boxes": "visiondata.boxes._convert",
    "validate_boxes": "visiondata.boxes._validate",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
