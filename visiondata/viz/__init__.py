"""Looking at samples: boxes (oriented ones too), keypoints and masks drawn on images, and grids saved as PNG.

Examples:
    >>> import torch
    >>> from visiondata.viz import draw_boxes
    >>> drawn = draw_boxes(torch.zeros(3, 20, 30, dtype=torch.uint8), torch.tensor([[2.0, 2.0, 12.0, 12.0]]))
    >>> drawn.shape, drawn.dtype
    (torch.Size([3, 20, 30]), torch.uint8)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondata._lazy import lazy_module_attributes

if TYPE_CHECKING:
    from visiondata.viz._draw import draw_boxes, save_grid

__all__ = ["draw_boxes", "save_grid"]

# Loaded on first access: torchvision and PIL.
_LAZY = {"draw_boxes": "visiondata.viz._draw", "save_grid": "visiondata.viz._draw"}

__getattr__, __dir__ = lazy_module_attributes(globals(), _LAZY)
