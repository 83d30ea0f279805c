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

from visiondata import cli, datasets, exceptions, models, training
from visiondata._version import __version__
from visiondata.datasets import DatasetInfo, dataset_info, get_dataset, list_datasets, register_dataset

__all__ = [
    "DatasetInfo",
    "__version__",
    "cli",
    "dataset_info",
    "datasets",
    "exceptions",
    "get_dataset",
    "list_datasets",
    "models",
    "register_dataset",
    "training",
]
