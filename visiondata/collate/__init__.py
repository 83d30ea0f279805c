"""Batching detection samples, whatever their number of boxes, in the layout each model family takes.

- [`detection_collate`][visiondata.collate.detection_collate]: lists of images and target dicts (torchvision's detection
  models, Keypoint R-CNN's ``keypoints`` included; oriented boxes kept as they are);
- [`padded_collate`][visiondata.collate.padded_collate]: one padded image tensor and a padding mask (DETR), and semantic
  masks padded with ``ignore_index`` (segmentation models);
- [`yolo_collate`][visiondata.collate.yolo_collate]: stacked images and one box table (YOLO losses): ``(N, 6)``, pose
  ``(N, 6 + 3K)`` or OBB ``(N, 7)``, as ultralytics' losses take them;
- [`padded_boxes_collate`][visiondata.collate.padded_boxes_collate]: dense ``(B, M, 4)`` boxes (or oriented ones) with a
  validity mask, keypoints ``(B, M, K, 3)``, and images padded as ``padded_collate`` pads them, with its padding mask;
- [`to_device`][visiondata.collate.to_device]: any of these on a device.

Examples:
    >>> import torch
    >>> from visiondata.collate import detection_collate
    >>> sample = (torch.zeros(3, 4, 4), {"boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]]), "labels": torch.tensor([1])})
    >>> images, targets = detection_collate([sample, sample])
    >>> len(images), targets[1]["labels"].tolist()
    (2, [1])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.collate._layouts import (
        CollatedBatch,
        detection_collate,
        padded_boxes_collate,
        padded_collate,
        to_device,
        yolo_collate,
    )

__all__ = [
    "CollatedBatch",
    "detection_collate",
    "padded_boxes_collate",
    "padded_collate",
    "to_device",
    "yolo_collate",
]

# Loaded on first access: torch.
_LAZY = dict.fromkeys(__all__, "visiondata.collate._layouts")

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
