"""Samples of torchvision datasets in visiondata's schema for their task.

- ``detection``: ``(tv_tensors.Image, {"boxes": BoundingBoxes (XYXY, pixels),
  "labels": int64 tensor, "image_id": int, ...})``;
- ``segmentation``: ``(tv_tensors.Image, tv_tensors.Mask)``;
- ``captioning``: ``(image, list[str])``.

For detection and segmentation ``transform`` is applied to ``(image,
target)`` together, as a ``torchvision.transforms.v2`` transform expects, so
boxes and masks follow the image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision import datasets, tv_tensors
from torchvision.transforms.v2 import functional


class CatalogDataset(Dataset):
    """A torchvision dataset whose samples follow visiondata's schema for its task.

    The torchvision dataset is available as `dataset`; any other
    attribute (``classes``, ``ids``...) is looked up on it.

    Args:
        dataset: The torchvision dataset, built without transforms.
        schema: ``"detection"``, ``"segmentation"`` or ``"captioning"``.
        transform: For detection and segmentation, called as
            ``transform(image, target)`` and returning both; for captioning,
            called on the image.
        target_transform: Called on the target last.
    """

    def __init__(
        self,
        dataset: Any,
        schema: str,
        transform: Callable[..., Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
    ) -> None:
        if schema in ("detection", "segmentation"):
            self._source = datasets.wrap_dataset_for_transforms_v2(dataset)
        else:
            self._source = dataset
        self.dataset = dataset
        self.schema = schema
        self.transform = transform
        self.target_transform = target_transform

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not found normally: delegate to torchvision's dataset.
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, target = self._source[index]
        if self.schema == "detection":
            image = _as_image(image)
            target = _detection_target(target, index, canvas_size=tuple(image.shape[-2:]))
        elif self.schema == "segmentation":
            image, target = _as_image(image), _segmentation_target(target)
        elif target is not None:
            target = [target] if isinstance(target, str) else list(target)
        if self.transform is not None:
            if self.schema == "captioning":
                image = self.transform(image)
            else:
                image, target = self.transform(image, target)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self) -> str:
        return f"CatalogDataset({self.schema}, {len(self)} samples, wrapping {type(self.dataset).__name__})"


def _as_image(image: Any) -> Any:
    if isinstance(image, tv_tensors.Image):
        return image
    return functional.to_image(image)


def _detection_target(target: Any, index: int, canvas_size: tuple[int, int]) -> Any:
    """Always ``boxes`` (XYXY), ``labels`` (int64) and ``image_id``; None (unannotated split) stays None."""
    if target is None:
        return None
    target = dict(target)
    if "boxes" not in target and isinstance(target.get("bbox"), tv_tensors.BoundingBoxes):
        target = _widerface_target(target)
    boxes = target.get("boxes")
    if boxes is None or boxes.numel() == 0:
        target["boxes"] = tv_tensors.BoundingBoxes(
            torch.zeros((0, 4)), format=tv_tensors.BoundingBoxFormat.XYXY, canvas_size=canvas_size
        )
    labels = target.get("labels")
    target["labels"] = (
        torch.zeros(0, dtype=torch.int64) if labels is None else torch.as_tensor(labels, dtype=torch.int64)
    )
    target.setdefault("image_id", index)
    return target


def _widerface_target(target: dict[str, Any]) -> dict[str, Any]:
    """WIDERFace: ``bbox`` becomes ``boxes``, every face gets label 1 (0 stays background).

    The annotation files mark an image without faces with a face count of 0
    followed by one row of zeros, which torchvision reads as a face at
    ``[0, 0, 0, 0]``; that row is the format's "no faces" marker, not a face,
    so it is removed together with its attributes.
    """
    boxes = target.pop("bbox")
    marker = (boxes == 0).all(dim=1) if len(boxes) == 1 else torch.zeros(len(boxes), dtype=torch.bool)
    keep = ~marker
    for key, value in list(target.items()):
        if isinstance(value, torch.Tensor) and value.ndim >= 1 and len(value) == len(boxes):
            target[key] = value[keep]
    target["boxes"] = tv_tensors.wrap(boxes[keep], like=boxes)
    target["labels"] = torch.ones(int(keep.sum()), dtype=torch.int64)
    return target


def _segmentation_target(target: Any) -> Any:
    """A single-channel mask as ``tv_tensors.Mask`` of shape ``(H, W)`` (what a pixel-wise loss expects)."""
    if isinstance(target, tv_tensors.Mask) and target.ndim == 3 and target.shape[0] == 1:
        return tv_tensors.wrap(target[0], like=target)
    if target is None or isinstance(target, (tv_tensors.Mask, dict, tuple, list)):
        return target
    return tv_tensors.Mask(functional.pil_to_tensor(target)[0])
