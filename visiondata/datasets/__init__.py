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
    from visiondata.datasets._csv import CSVDataset, CSVDetectionDataset
    from visiondata.datasets._folder import ImageFolderDataset
    from visiondata.datasets._idx import read_idx
    from visiondata.datasets._mnist import FashionMNISTDataset, KMNISTDataset, MNISTBatches, MNISTDataset

__all__ = [
    "SPLIT_ALIASES",
    "TASKS",
    "CSVDataset",
    "CSVDetectionDataset",
    "CatalogDataset",
    "DatasetInfo",
    "FashionMNISTDataset",
    "ImageFileDataset",
    "ImageFolderDataset",
    "KMNISTDataset",
    "MNISTBatches",
    "MNISTDataset",
    "dataset_info",
    "get_dataset",
    "list_datasets",
    "read_idx",
    "register_dataset",
    "unregister_dataset",
]

# Names whose modules import torch or numpy: loaded on first access, so that
# `import visiondata` stays cheap.
_LAZY = {
    "CSVDataset": "visiondata.datasets._csv",
    "CSVDetectionDataset": "visiondata.datasets._csv",
    "CatalogDataset": "visiondata.datasets._catalog_dataset",
    "FashionMNISTDataset": "visiondata.datasets._mnist",
    "ImageFileDataset": "visiondata.datasets._base",
    "ImageFolderDataset": "visiondata.datasets._folder",
    "KMNISTDataset": "visiondata.datasets._mnist",
    "MNISTBatches": "visiondata.datasets._mnist",
    "MNISTDataset": "visiondata.datasets._mnist",
    "read_idx": "visiondata.datasets._idx",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
