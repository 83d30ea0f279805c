"""What the pipeline asks of a backend: each backend module declares it as its ``BACKEND``.

`BoxPipeline` looks its backend up by name (`get_backend`) and calls it, instead of branching on
the name: a backend builds its own steps, and says in which layout they take images and masks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The module of each backend; imported when a pipeline first uses it (albumentations is an extra).
_MODULES = {
    "torchvision": "visiondata.transforms._torchvision_backend",
    "albumentations": "visiondata.transforms._albumentations_backend",
}


@dataclass(frozen=True)
class Backend:
    """One backend of `BoxPipeline`."""

    name: str
    #: The step for a registered transform: ``build_step(definition, parameters, probability)``.
    build_step: Callable[[Any, dict[str, Any], float], Any]
    #: Whether steps take ``C x H x W`` tensors (torchvision) rather than ``H x W x C`` numpy arrays.
    channels_first: bool
    #: Whether a planned first step at full scale runs on the planned pixels. albumentations' own
    #: resize draws nothing and runs as usual there; below full scale every backend runs it planned.
    plans_at_full_scale: bool


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (one of ``visiondata.transforms._spec.BACKENDS``, checked already)."""
    return importlib.import_module(_MODULES[name]).BACKEND
