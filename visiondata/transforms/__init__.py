"""Transforms: ready-made pipelines in :mod:`visiondata.transforms.presets`.

Examples:
    >>> import visiondata.transforms as transforms
    >>> transforms.presets.grayscale_normalized(32).transforms[2].size
    [32, 32]
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["presets"]


def __getattr__(name: str) -> Any:
    # The presets import torchvision: loaded on first access.
    if name == "presets":
        return importlib.import_module("visiondata.transforms.presets")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
