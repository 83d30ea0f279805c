"""Portable photometric transforms: pixel values change, geometry does not (boxes and masks pass through).

Each is a [`BoxTransform`][visiondata.transforms.BoxTransform] run on torchvision kernels, with an
albumentations builder (or a numpy implementation) so one spec means the same on both backends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from visiondata.transforms._torchvision_backend import BoxTransform

#: Name -> torchvision-backend class.
TRANSFORMS: dict[str, type[BoxTransform]] = {}
#: Name -> albumentations builder (takes the checked torchvision-backend instance).
BUILDERS: dict[str, Callable[[Any], Any]] = {}
