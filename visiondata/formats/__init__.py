"""Readers of the formats labelled data comes in, beyond COCO, VOC, YOLO and CSV (which stay in
`visiondata.datasets` for now): annotation-tool exports, each yielding the detection schema
``(tv_tensors.Image, {"boxes": BoundingBoxes XYXY, "labels": int64, "image_id", per-box fields})`` with the
same index, error policies and ``check`` as the other readers.

- [`CVATDataset`][visiondata.formats.CVATDataset]: CVAT for images 1.1 XML;
- [`LabelMeDataset`][visiondata.formats.LabelMeDataset]: LabelMe JSON, one file per image;
- [`LabelStudioDataset`][visiondata.formats.LabelStudioDataset]: Label Studio's JSON export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.formats._cvat import CVATDataset
    from visiondata.formats._label_studio import LabelStudioDataset
    from visiondata.formats._labelme import LabelMeDataset

__all__ = ["CVATDataset", "LabelMeDataset", "LabelStudioDataset"]

# Loaded on first access: these modules import torch and numpy.
_LAZY = {
    "CVATDataset": "visiondata.formats._cvat",
    "LabelMeDataset": "visiondata.formats._labelme",
    "LabelStudioDataset": "visiondata.formats._label_studio",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
