"""Image reading: fast, exact, and clear about bad files.

Examples:
    >>> from visiondata.io import IMAGE_EXTENSIONS
    >>> ".jpg" in IMAGE_EXTENSIONS
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.io._header import ImageHeader, read_header
    from visiondata.io._plan import (
        DecodePlan,
        PlannedImage,
        plan_scale,
        read_planned,
        scaled_decode,
        set_scaled_decode,
    )
    from visiondata.io._read import IMAGE_EXTENSIONS, read_image, set_strict_decode, strict_decode

__all__ = [
    "IMAGE_EXTENSIONS",
    "DecodePlan",
    "ImageHeader",
    "PlannedImage",
    "plan_scale",
    "read_header",
    "read_image",
    "read_planned",
    "scaled_decode",
    "set_scaled_decode",
    "set_strict_decode",
    "strict_decode",
]

# Loaded on first access: these modules import torch, numpy and PIL.
_LAZY = {
    "IMAGE_EXTENSIONS": "visiondata.io._read",
    "DecodePlan": "visiondata.io._plan",
    "ImageHeader": "visiondata.io._header",
    "PlannedImage": "visiondata.io._plan",
    "plan_scale": "visiondata.io._plan",
    "read_planned": "visiondata.io._plan",
    "scaled_decode": "visiondata.io._plan",
    "set_scaled_decode": "visiondata.io._plan",
    "read_header": "visiondata.io._header",
    "read_image": "visiondata.io._read",
    "set_strict_decode": "visiondata.io._read",
    "strict_decode": "visiondata.io._read",
}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
