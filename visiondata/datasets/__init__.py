"""Datasets by name: the registry, its metadata and the datasets visiondata implements.

Examples:
    >>> import visiondata.datasets as vdd
    >>> vdd.list_datasets("mnist")
    ['mnist']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes
from visiondata.datasets import _builtin  # noqa: F401  (registers the built-in datasets)
from visiondata.datasets._catalog import (
    dataset_info,
    get_dataset,
    list_datasets,
    register_dataset,
    unregister_dataset,
)
from visiondata.datasets._info import SPLIT_ALIASES, TASKS, DatasetInfo

if TYPE_CHECKING:
    from visiondata.datasets._base import ImageFileDataset
    from visiondata.datasets._catalog_dataset import CatalogDataset
    from visiondata.datasets._csv import CSVDataset
    from visiondata.datasets._detection import DetectionFileDataset
    from visiondata.datasets._folder import ImageFolderDataset
    from visiondata.datasets._idx import read_idx
    from visiondata.datasets._mnist import FashionMNISTDataset, KMNISTDataset, MNISTBatches, MNISTDataset
    from visiondata.datasets._shapes import ShapesDataset
    from visiondata.formats._coco import CocoDetectionDataset, to_coco
    from visiondata.formats._csv_detection import CSVDetectionDataset
    from visiondata.formats._voc import VOCDetectionDataset, to_voc
    from visiondata.formats._writing import ConversionReport
    from visiondata.formats._yolo import YOLODataset, to_yolo

__all__ = [
    "SPLIT_ALIASES",
    "TASKS",
    "CSVDataset",
    "CSVDetectionDataset",
    "CatalogDataset",
    "CocoDetectionDataset",
    "ConversionReport",
    "DatasetInfo",
    "DetectionFileDataset",
    "FashionMNISTDataset",
    "ImageFileDataset",
    "ImageFolderDataset",
    "KMNISTDataset",
    "MNISTBatches",
    "MNISTDataset",
    "ShapesDataset",
    "VOCDetectionDataset",
    "YOLODataset",
    "dataset_info",
    "get_dataset",
    "list_datasets",
    "read_idx",
    "register_dataset",
    "to_coco",
    "to_voc",
    "to_yolo",
    "unregister_dataset",
]

# Names whose modules import torch or numpy: loaded on first access, so that
# `import visiondata` stays cheap. The detection readers and writers live in
# `visiondata.formats`; they are re-exported here under their old names.
_LAZY = {
    "CSVDataset": "visiondata.datasets._csv",
    "CSVDetectionDataset": "visiondata.formats._csv_detection",
    "CatalogDataset": "visiondata.datasets._catalog_dataset",
    "CocoDetectionDataset": "visiondata.formats._coco",
    "DetectionFileDataset": "visiondata.datasets._detection",
    "FashionMNISTDataset": "visiondata.datasets._mnist",
    "ImageFileDataset": "visiondata.datasets._base",
    "ImageFolderDataset": "visiondata.datasets._folder",
    "KMNISTDataset": "visiondata.datasets._mnist",
    "MNISTBatches": "visiondata.datasets._mnist",
    "MNISTDataset": "visiondata.datasets._mnist",
    "ShapesDataset": "visiondata.datasets._shapes",
    "VOCDetectionDataset": "visiondata.formats._voc",
    "YOLODataset": "visiondata.formats._yolo",
    "ConversionReport": "visiondata.formats._writing",
    "to_coco": "visiondata.formats._coco",
    "to_voc": "visiondata.formats._voc",
    "to_yolo": "visiondata.formats._yolo",
    "read_idx": "visiondata.datasets._idx",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
