"""The on-disk formats labelled data comes in: one reader and one writer per format.

Every reader yields the detection schema
``(tv_tensors.Image, {"boxes": BoundingBoxes XYXY, "labels": int64, "image_id", per-box fields})`` with the
same numpy index, error policies (``on_error``) and ``visiondata check`` as the others; every writer
builds its output beside the target and renames it into place when complete, and reports what the
target format cannot hold.

- COCO: [`CocoDetectionDataset`][visiondata.formats.CocoDetectionDataset] and
  [`to_coco`][visiondata.formats.to_coco];
- Pascal VOC: [`VOCDetectionDataset`][visiondata.formats.VOCDetectionDataset] and
  [`to_voc`][visiondata.formats.to_voc];
- YOLO (detect and segment lines, Ultralytics' ``data.yaml``): [`YOLODataset`][visiondata.formats.YOLODataset]
  and [`to_yolo`][visiondata.formats.to_yolo];
- DOTA (oriented boxes as four corners): [`DOTADataset`][visiondata.formats.DOTADataset] and
  [`to_dota`][visiondata.formats.to_dota];
- CSV rows, one per box: [`CSVDetectionDataset`][visiondata.formats.CSVDetectionDataset];
- semantic segmentation folders (image + mask PNG pairs): [`SegmentationFolderDataset`][visiondata.formats.SegmentationFolderDataset]
  and [`to_mask_folder`][visiondata.formats.to_mask_folder];
- annotation-tool exports: [`CVATDataset`][visiondata.formats.CVATDataset] (CVAT for images 1.1 XML),
  [`LabelMeDataset`][visiondata.formats.LabelMeDataset] (LabelMe JSON, one file per image) and
  [`LabelStudioDataset`][visiondata.formats.LabelStudioDataset] (Label Studio's JSON export).

``visiondata.datasets`` re-exports the COCO, VOC, YOLO and CSV names, so imports from there keep working.

Examples:
    >>> import visiondata.datasets as vdd
    >>> import visiondata.formats as vdf
    >>> vdd.YOLODataset is vdf.YOLODataset, vdd.to_coco is vdf.to_coco
    (True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.formats._coco import CocoDetectionDataset, to_coco
    from visiondata.formats._csv_detection import CSVDetectionDataset
    from visiondata.formats._cvat import CVATDataset
    from visiondata.formats._dota import DOTADataset, to_dota
    from visiondata.formats._label_studio import LabelStudioDataset
    from visiondata.formats._labelme import LabelMeDataset
    from visiondata.formats._mask_folder import (
        SegmentationFolderDataset,
        read_mask,
        to_mask_folder,
        voc_palette,
    )
    from visiondata.formats._voc import VOCDetectionDataset, to_voc
    from visiondata.formats._writing import ConversionReport
    from visiondata.formats._yolo import YOLODataset, to_yolo

__all__ = [
    "CSVDetectionDataset",
    "CVATDataset",
    "CocoDetectionDataset",
    "ConversionReport",
    "DOTADataset",
    "LabelMeDataset",
    "LabelStudioDataset",
    "SegmentationFolderDataset",
    "VOCDetectionDataset",
    "YOLODataset",
    "read_mask",
    "to_coco",
    "to_dota",
    "to_mask_folder",
    "to_voc",
    "to_yolo",
    "voc_palette",
]

# Loaded on first access: these modules import torch and numpy.
_LAZY = {
    "CSVDetectionDataset": "visiondata.formats._csv_detection",
    "CVATDataset": "visiondata.formats._cvat",
    "CocoDetectionDataset": "visiondata.formats._coco",
    "ConversionReport": "visiondata.formats._writing",
    "DOTADataset": "visiondata.formats._dota",
    "to_dota": "visiondata.formats._dota",
    "LabelMeDataset": "visiondata.formats._labelme",
    "LabelStudioDataset": "visiondata.formats._label_studio",
    "SegmentationFolderDataset": "visiondata.formats._mask_folder",
    "read_mask": "visiondata.formats._mask_folder",
    "to_mask_folder": "visiondata.formats._mask_folder",
    "voc_palette": "visiondata.formats._mask_folder",
    "VOCDetectionDataset": "visiondata.formats._voc",
    "YOLODataset": "visiondata.formats._yolo",
    "to_coco": "visiondata.formats._coco",
    "to_voc": "visiondata.formats._voc",
    "to_yolo": "visiondata.formats._yolo",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
