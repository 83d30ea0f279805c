"""Transforms: box-aware augmentation pipelines and ready-made presets.

- [`BoxPipeline`][visiondata.transforms.BoxPipeline]: a declarative list of transforms, on the
  torchvision or the albumentations backend, that keeps boxes, labels,
  per-box fields and masks aligned and reports every box it drops;
- [`Mosaic`][visiondata.transforms.Mosaic] and [`MixUp`][visiondata.transforms.MixUp]: multi-image augmentation over any detection dataset;
- [`register_transform`][visiondata.transforms.register_transform], [`list_transforms`][visiondata.transforms.list_transforms], [`BoxTransform`][visiondata.transforms.BoxTransform]: the transform registry;
  [`transform_targets`][visiondata.transforms.transform_targets]: what a name moves (image, boxes, masks) on a backend;
- [`visiondata.transforms.presets`][visiondata.transforms.presets]: classification and detection pipelines.

Examples:
    >>> import visiondata.transforms as transforms
    >>> transforms.presets.grayscale_normalized(32).transforms[2].size
    [32, 32]
    >>> "RandomIoUCrop" in transforms.list_transforms()
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.transforms import presets
    from visiondata.transforms._base import BoxTransform
    from visiondata.transforms._mixing import MixUp, Mosaic
    from visiondata.transforms._own import transform_targets
    from visiondata.transforms._pipeline import BoxPipeline
    from visiondata.transforms._spec import list_transforms, register_transform, unregister_transform

__all__ = [
    "BoxPipeline",
    "BoxTransform",
    "MixUp",
    "Mosaic",
    "list_transforms",
    "presets",
    "register_transform",
    "transform_targets",
    "unregister_transform",
]

# Loaded on first access: these modules import torch and torchvision.
_LAZY = {
    "BoxPipeline": "visiondata.transforms._pipeline",
    "BoxTransform": "visiondata.transforms._base",
    "MixUp": "visiondata.transforms._mixing",
    "Mosaic": "visiondata.transforms._mixing",
    "list_transforms": "visiondata.transforms._spec",
    "register_transform": "visiondata.transforms._spec",
    "transform_targets": "visiondata.transforms._own",
    "unregister_transform": "visiondata.transforms._spec",
}

_getattr, __dir__ = lazy_module_attributes(globals(), _LAZY)


def __getattr__(name: str) -> object:
    if name == "presets":
        import importlib

        return importlib.import_module("visiondata.transforms.presets")
    return _getattr(name)
