"""visiondata: data plumbing for PyTorch vision projects.

Importing the package is cheap: torch, torchvision and the optional backends
load when first used.

Examples:
    >>> import visiondata as vd
    >>> vd.list_datasets("mnist")
    ['mnist']
    >>> vd.dataset_info("mnist").num_classes
    10
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata import (
    _lazy,
    boxes,
    cli,
    collate,
    datasets,
    exceptions,
    formats,
    io,
    loaders,
    models,
    report,
    shards,
    training,
    transforms,
    viz,
)
from visiondata._version import __version__
from visiondata.datasets import DatasetInfo, dataset_info, get_dataset, list_datasets, register_dataset

if TYPE_CHECKING:
    from visiondata.datasets import (
        CocoDetectionDataset,
        CSVDataset,
        CSVDetectionDataset,
        ImageFolderDataset,
        VOCDetectionDataset,
        YOLODataset,
    )

__all__ = [
    "CSVDataset",
    "CSVDetectionDataset",
    "CocoDetectionDataset",
    "DatasetInfo",
    "ImageFolderDataset",
    "VOCDetectionDataset",
    "YOLODataset",
    "__version__",
    "boxes",
    "cli",
    "collate",
    "dataset_info",
    "datasets",
    "exceptions",
    "formats",
    "get_dataset",
    "io",
    "list_datasets",
    "loaders",
    "models",
    "register_dataset",
    "report",
    "shards",
    "training",
    "transforms",
    "viz",
]

# The dataset classes import torch: loaded on first access.
_LAZY = dict.fromkeys(
    (
        "CSVDataset",
        "CSVDetectionDataset",
        "CocoDetectionDataset",
        "ImageFolderDataset",
        "VOCDetectionDataset",
        "YOLODataset",
    ),
    "visiondata.datasets",
)

__getattr__, __dir__ = _lazy.lazy_module_attributes(globals(), _LAZY)
