"""Training: a reusable fit / evaluate loop and named training jobs.

Examples:
    >>> from visiondata.training import list_jobs
    >>> list_jobs()
    ['mnist-cnn', 'yolo-shapes']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes
from visiondata.training import (
    _mnist_job,  # noqa: F401  (registers the mnist-cnn job)
    _yolo_job,  # noqa: F401  (registers the yolo-shapes job)
)
from visiondata.training._jobs import TrainingJob, get_job, list_jobs, register_job
from visiondata.training._mnist_training import MNISTTrainingConfig, train_mnist_cnn
from visiondata.training._yolo_job import YOLOShapesConfig, train_yolo_shapes

if TYPE_CHECKING:
    from visiondata.training._engine import evaluate, fit

__all__ = [
    "MNISTTrainingConfig",
    "TrainingJob",
    "YOLOShapesConfig",
    "evaluate",
    "fit",
    "get_job",
    "list_jobs",
    "register_job",
    "train_mnist_cnn",
    "train_yolo_shapes",
]

# Loaded on first access: this module imports torch.
_LAZY = {
    "evaluate": "visiondata.training._engine",
    "fit": "visiondata.training._engine",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
