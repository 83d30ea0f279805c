"""Models: the reference MNIST network and layer-shape helpers.

Examples:
    >>> from visiondata.models import conv_output_size
    >>> conv_output_size(28, kernel_size=5, stride=2)
    12
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes
from visiondata.models._shapes import conv_output_size

if TYPE_CHECKING:
    from visiondata.models._mnist_cnn import MNISTCNN

__all__ = ["MNISTCNN", "conv_output_size"]

# Loaded on first access so that importing this package does not import torch.
_LAZY = {"MNISTCNN": "visiondata.models._mnist_cnn"}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
