"""``BoxTransform``: the backend-neutral base of every step of a ``BoxPipeline``, built-in or registered.

Both backends run its subclasses: the torchvision backend's own classes, the albumentations backend's
wrappers of the steps it shares, and the classes users register. It holds no backend's code.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch


class BoxTransform:
    """One step of a [`BoxPipeline`][visiondata.transforms.BoxPipeline]; subclass it to register your own.

    The pipeline calls `get_params` once per sample (with its random
    generator), then `apply_image`; for a ``geometric`` transform also
    `apply_boxes` on every box (never clipped: the pipeline clips and
    filters), `apply_points` on keypoints (by default through `apply_boxes`)
    and `apply_masks` on instance and semantic masks, and takes the new
    image size from `output_size`.

    ``__init__``'s keyword arguments are the parameters a spec may give.
    Implement ``apply_image_numpy`` (and ``apply_masks_numpy`` if geometric)
    on ``H x W x C`` arrays to make the transform available on the
    albumentations backend too.

    Attributes:
        default_p: Probability of applying the transform when the spec gives no ``p``.
        geometric: Whether pixels move (then boxes and masks follow).

    Examples:
        >>> import numpy as np, torch
        >>> class Invert(BoxTransform):
        ...     def apply_image(self, image, params):
        ...         return 255 - image
        >>> Invert().apply_image(torch.zeros(1, 1, 2, dtype=torch.uint8), {}).tolist()
        [[[255, 255]]]
    """

    default_p: ClassVar[float] = 1.0
    geometric: ClassVar[bool] = False
    apply_image_numpy: ClassVar[Any] = None
    apply_masks_numpy: ClassVar[Any] = None

    def check(self, height: int, width: int) -> None:
        """Raise [`TransformSpecError`][visiondata.exceptions.TransformSpecError] if this transform cannot apply to a ``height`` x ``width`` image.

        Both backends call it before the step, so the error is the same on both.
        """

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any] | None:
        """Draw this sample's parameters; ``None`` leaves the sample unchanged.

        Args:
            rng: The pipeline's generator (seeded, different in each DataLoader worker).
            height: Image height before this step.
            width: Image width before this step.
            boxes: The visible ``(M, 4)`` ``xyxy`` pixel boxes.
        """
        return {}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        """The transformed ``C x H x W`` image."""
        return image

    def apply_masks(self, masks: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        """The transformed ``K x H x W`` masks (instance masks, or a semantic mask as ``1 x H x W``)."""
        if self.geometric:
            raise NotImplementedError(
                f"{type(self).__name__} moves pixels but does not implement apply_masks"
            )
        return masks

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        """The transformed ``(M, 4)`` ``xyxy`` pixel boxes (float64), not clipped."""
        return boxes

    def apply_points(self, points: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        """The transformed ``(P, 2)`` ``x, y`` points (float64, on the boxes' scale: a pixel centre at ``i + 0.5``).

        The default moves each point as a box without size through
        `apply_boxes`, which is exact for every map that takes points to
        points (flips, crops, pads, resizes, affine and projective warps), so
        a transform gains keypoints by moving boxes. Override it where
        ``apply_boxes`` does more than map corners.
        """
        return self.apply_boxes(np.concatenate([points, points], axis=1), params, height, width)[:, :2]

    def output_size(self, params: dict[str, Any], height: int, width: int) -> tuple[int, int]:
        """``(height, width)`` after this step."""
        return height, width

    def removed_boxes(self, params: dict[str, Any]) -> np.ndarray | None:
        """Boxes this step removes by its own rule (``(M,)`` booleans), reported as ``out_of_bounds``."""
        return None

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in vars(self).items() if not key.startswith("_"))
        return f"{type(self).__name__}({fields})"
