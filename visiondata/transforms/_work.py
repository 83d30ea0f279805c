"""The state the backends change while a pipeline runs, and how one step changes it.

`Work` holds the image in the backend's layout and, for every box
still present, its visible part, the whole object (both ``xyxy`` pixels,
float64; the whole box may reach beyond the image, so that visibility can be
measured at the end) and its index in the input. Boxes that leave are
recorded with their reason, so none goes unreported.

Keypoints, when the sample has them, are one ``(K, 3)`` row per box
(``x, y, visibility``, float64), removed with their box. Their coordinates
are pixel indices, as torchvision's ``KeyPoints``, albumentations and COCO
have them: pixel ``i`` has its centre at ``i`` (boxes put it at ``i + 0.5``).
A point that leaves the image gets visibility 0 and never gets it back; a
step that mirrors the image (its map reverses orientation: a horizontal or
vertical flip, a transposition) swaps the ``flip_pairs``.

Oriented boxes (``rotated`` names their format) are carried as their four
corners, ``(N, 8)`` float64 on the boxes' scale: ``full_corners`` the whole
object, ``visible_corners`` its part in view (torchvision's ``"soft"``
clamp: the smallest box of the same angle enclosing the part inside the
image). Every geometric step moves them as points, on both backends (the
same path as keypoints), then `corners_moved` puts their corners back in
torchvision's order after a mirroring step, makes them rectangles again
for ``xywhr`` / ``cxcywhr`` (torchvision's parallelogram rule, so that the
results match its kernels) and clamps them. ``visible`` and ``full`` hold
their enclosing axis-aligned boxes, which the steps that look at boxes
(box-safe crops, Mosaic) read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from visiondata.boxes._rotated import (
    clamp_xywhr,
    corners_inside,
    corners_to_xywhr,
    corners_to_xyxy,
    parallelogram_to_rectangle,
    polygon_area_in_image,
    signed_area,
    xywhr_to_corners,
)
from visiondata.exceptions import TransformSpecError
from visiondata.transforms._spec import MAX_SIDE

OUT_OF_BOUNDS = ("clip", "drop")
# Coordinates beyond the border by less than this many pixels are rounding, not leaving.
_NOISE = 1e-4


class Work:
    """The sample while the backends transform it (see the module docstring).

    ``visible`` defaults to ``boxes``; Mosaic passes each box cut to the tile it lies in
    (``visible_corners`` likewise for oriented boxes, whose ``corners`` are the whole objects).
    """

    __slots__ = (
        "dropped",
        "flip_pairs",
        "full",
        "full_corners",
        "ids",
        "image",
        "keypoints",
        "mask",
        "masks",
        "out_of_bounds",
        "rotated",
        "size",
        "visible",
        "visible_corners",
    )

    def __init__(
        self,
        image: Any,
        boxes: np.ndarray,
        masks: Any,
        mask: Any,
        out_of_bounds: str,
        height: int,
        width: int,
        visible: np.ndarray | None = None,
        keypoints: np.ndarray | None = None,
        flip_pairs: np.ndarray | None = None,
        corners: np.ndarray | None = None,
        rotated: str | None = None,
        visible_corners: np.ndarray | None = None,
    ) -> None:
        self.image = image
        self.keypoints = None if keypoints is None else np.array(keypoints, dtype=np.float64)
        self.flip_pairs = flip_pairs
        self.masks = masks
        self.mask = mask
        self.out_of_bounds = out_of_bounds
        self.dropped: list[dict[str, Any]] = []
        self.ids = np.arange(len(boxes))
        self.full = boxes
        self.visible = boxes if visible is None else visible
        self.size = (height, width)
        self.rotated = rotated if corners is not None else None
        self.full_corners = self.visible_corners = None
        # Input boxes that reach beyond the image start out clipped (or dropped), points outside it hidden.
        if self.keypoints is not None:
            self.keypoints[..., 2][~inside_image(self.keypoints, height, width)] = 0.0
        if self.rotated is not None:
            corners = np.array(corners, dtype=np.float64).reshape(-1, 8)
            seen = corners if visible_corners is None else np.array(visible_corners, dtype=np.float64)
            self.full_corners, self.visible_corners = corners, seen.reshape(-1, 8)
            self.corners_moved(np.concatenate([self.visible_corners, corners]), height, width)
        else:
            self.moved(self.stacked(), height, width)

    def remove(self, gone: np.ndarray, reason: str | np.ndarray) -> None:
        """Drop the boxes marked in ``gone`` (with their masks), reporting each with ``reason`` (one, or one per box)."""
        if not gone.any():
            return
        reasons = np.broadcast_to(np.asarray(reason, dtype=object), gone.shape)[gone]
        self.dropped.extend(
            {"index": int(index), "reason": str(why)}
            for index, why in zip(self.ids[gone], reasons, strict=True)
        )
        keep = ~gone
        self.visible, self.full, self.ids = self.visible[keep], self.full[keep], self.ids[keep]
        if self.masks is not None:
            self.masks = self.masks[torch.from_numpy(keep) if isinstance(self.masks, torch.Tensor) else keep]
        if self.keypoints is not None:
            self.keypoints = self.keypoints[keep]
        if self.rotated is not None:
            self.visible_corners, self.full_corners = self.visible_corners[keep], self.full_corners[keep]

    def points_with_probe(self, height: int, width: int, corners: bool = True) -> np.ndarray:
        """Every keypoint as a ``(P + 3, 2)`` array of pixel indices, then a probe triangle at the centre.

        With oriented boxes (and ``corners``), their visible then whole corners
        follow the keypoints, as pixel indices too (a corner at ``x`` on the
        boxes' scale is the point ``x - 0.5``), so that every backend moves
        them as it moves keypoints. The three probe points tell `points_moved`
        whether the step mirrored the image.
        """
        centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
        # A quarter of the shorter side apart: albumentations' distortions move points as small
        # discs of a mask, which points a pixel apart would overwrite.
        step = max(1.0, min(height, width) / 4)
        probe = np.array([[centre_x, centre_y], [centre_x + step, centre_y], [centre_x, centre_y + step]])
        parts = [] if self.keypoints is None else [self.keypoints[..., :2].reshape(-1, 2)]
        if corners and self.rotated is not None:
            parts.append(np.concatenate([self.visible_corners, self.full_corners]).reshape(-1, 2) - 0.5)
        return np.concatenate([*parts, probe])

    def points_moved(self, moved: np.ndarray, height: int, width: int, corners: bool = True) -> None:
        """Take `points_with_probe`'s points after a step into a ``height`` x ``width`` image.

        Points outside the image get visibility 0 (kept at 0 afterwards); a
        mirroring step swaps each pair of ``flip_pairs``. Oriented boxes' corners
        (when ``corners``) go on to `corners_moved`.
        """
        keypoints = self.keypoints
        count = 0 if keypoints is None else keypoints.shape[0] * keypoints.shape[1]
        corner_count = 8 * len(self.ids) if corners and self.rotated is not None else 0
        if len(moved) != count + corner_count + 3:
            raise TransformSpecError(
                f"the step returned {len(moved) - 3} points for {count + corner_count} (keypoints and oriented "
                "boxes' corners); a transform must move every point and keep their order"
            )
        corners_out = moved[count : count + corner_count].reshape(-1, 8) + 0.5
        if keypoints is not None:
            self._keypoints_moved(moved[:count], moved[count + corner_count :], height, width)
        if corner_count:
            # After the keypoints: dropping a box removes its keypoints' row too.
            self.corners_moved(corners_out, height, width)

    def _keypoints_moved(self, moved: np.ndarray, probe: np.ndarray, height: int, width: int) -> None:
        keypoints = self.keypoints
        count = keypoints.shape[0] * keypoints.shape[1]
        centre, along_x, along_y = probe
        first, second = along_x - centre, along_y - centre
        mirrored = first[0] * second[1] - first[1] * second[0] < 0
        keypoints = keypoints.copy()
        keypoints[..., :2] = moved[:count].reshape(keypoints.shape[0], keypoints.shape[1], 2)
        keypoints[..., 2][~inside_image(keypoints, height, width)] = 0.0
        if mirrored and self.flip_pairs is not None and len(self.flip_pairs):
            left, right = self.flip_pairs[:, 0], self.flip_pairs[:, 1]
            keypoints[:, np.concatenate([left, right])] = keypoints[:, np.concatenate([right, left])]
        self.keypoints = keypoints

    def stacked(self) -> np.ndarray:
        """Visible boxes, then whole boxes: ``(2M, 4)``, moved by one geometric step together."""
        return np.concatenate([self.visible, self.full])

    def moved(self, stacked: np.ndarray, height: int, width: int) -> None:
        """Take the boxes of `stacked` after a geometric step into a ``height`` x ``width`` image.

        The visible parts are clipped to the image; a box with nothing left
        inside is dropped (``out_of_bounds``), and under
        ``out_of_bounds="drop"`` so is any box reaching beyond the image.
        """
        count = len(self.ids)
        visible, full = stacked[:count], stacked[count:]
        clipped = np.clip(visible, 0, (width, height, width, height))
        self.visible, self.full = clipped, full
        empty = (clipped[:, 2] - clipped[:, 0] <= 0) | (clipped[:, 3] - clipped[:, 1] <= 0)
        if self.out_of_bounds == "drop":
            empty |= (np.abs(clipped - full) > _NOISE).any(axis=1)
        else:
            # Whole boxes only differ from their visible part by rounding: keep them equal.
            same = (np.abs(clipped - full) <= _NOISE).all(axis=1)
            self.full = np.where(same[:, None], clipped, full)
        self.remove(empty, "out_of_bounds")

    def corners_moved(self, stacked: np.ndarray, height: int, width: int) -> None:
        """Take oriented boxes' corners (visible, then whole: ``(2M, 8)``) after a step into a new image.

        Corners a mirroring step put in the other order (their signed area
        changed sign) are reordered as torchvision's flips do (the second corner becomes the
        first); for ``xywhr`` / ``cxcywhr`` a parallelogram (a shear, a resize
        by unequal factors) becomes the rectangle torchvision makes of it. The
        visible boxes are then clamped to the image (torchvision's soft mode);
        a box with nothing left inside (or moved to NaN) is dropped
        (``out_of_bounds``), and under ``out_of_bounds="drop"`` so is any box
        reaching beyond the image.
        """
        count = len(self.ids)
        stacked = np.array(stacked, dtype=np.float64).reshape(-1, 8)
        # Only a step that turned the corners' order round reorders them: a DOTA quadrilateral listed the
        # other way round comes back in its own order when nothing mirrors it.
        before = np.sign(signed_area(np.concatenate([self.visible_corners, self.full_corners])))
        reverse = np.sign(signed_area(stacked)) * before < 0
        stacked[reverse] = stacked[reverse][:, [2, 3, 0, 1, 6, 7, 4, 5]]
        if self.rotated != "xyxyxyxy":
            stacked = parallelogram_to_rectangle(stacked)
        stacked = _snap_corners(stacked, height, width)
        visible, full = stacked[:count], stacked[count:]
        finite = np.isfinite(stacked).all(1)
        finite = finite[:count] & finite[count:]
        inside = corners_inside(full, height, width)
        if self.out_of_bounds == "clip":
            clamped, changed = clamp_xywhr(corners_to_xywhr(visible), height, width)
            changed &= ~corners_inside(visible, height, width)
            visible = np.where(changed[:, None], xywhr_to_corners(clamped), visible)
        empty = ~finite | (polygon_area_in_image(visible, height, width) <= 0)
        if self.out_of_bounds == "drop":
            empty |= ~inside
        self.visible_corners, self.full_corners, self.size = visible, full, (height, width)
        self.visible = np.clip(corners_to_xyxy(visible), 0, (width, height, width, height))
        self.full = corners_to_xyxy(full)
        self.remove(empty, "out_of_bounds")

    def filter(self, min_visibility: float, min_area: float, min_size: float) -> None:
        """Drop boxes too little visible, too small in area, or too narrow (or without width or height).

        An oriented box is measured by its own sides and area; its visibility
        is the area of its polygon inside the image over the whole object's.
        """
        if self.rotated is not None:
            visible = self.visible_corners.reshape(-1, 4, 2)
            widths = np.hypot(*(visible[:, 1] - visible[:, 0]).T)
            heights = np.hypot(*(visible[:, 2] - visible[:, 1]).T)
            areas = np.abs(signed_area(self.visible_corners))
            seen = polygon_area_in_image(self.visible_corners, *self.size)
            full_areas = np.abs(signed_area(self.full_corners))
            with np.errstate(divide="ignore", invalid="ignore"):
                visibility = np.where(full_areas > 0, np.minimum(seen / full_areas, 1.0), 0.0)
            self._drop_failing(widths, heights, areas, visibility, min_visibility, min_area, min_size)
            return
        widths = self.visible[:, 2] - self.visible[:, 0]
        heights = self.visible[:, 3] - self.visible[:, 1]
        areas = widths * heights
        full_areas = (self.full[:, 2] - self.full[:, 0]) * (self.full[:, 3] - self.full[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            visibility = np.where(full_areas > 0, areas / full_areas, 0.0)
        self._drop_failing(widths, heights, areas, visibility, min_visibility, min_area, min_size)

    def _drop_failing(
        self,
        widths: np.ndarray,
        heights: np.ndarray,
        areas: np.ndarray,
        visibility: np.ndarray,
        min_visibility: float,
        min_area: float,
        min_size: float,
    ) -> None:
        # Assigned in reverse order of precedence, so that each box reports its first failed rule.
        reasons = np.full(len(self.ids), "", dtype=object)
        reasons[(widths < min_size) | (heights < min_size) | (widths <= 0) | (heights <= 0)] = "size"
        reasons[areas < min_area] = "area"
        # The tolerance keeps min_visibility=1.0 for boxes wholly in view whatever the rounding.
        reasons[visibility < min_visibility - 1e-6] = "visibility"
        self.remove(reasons != "", reasons)


def _snap_corners(corners: np.ndarray, height: int, width: int) -> np.ndarray:
    """Corner coordinates within float noise of the image border, put on it."""
    bounds = np.tile([width, height], 4).astype(np.float64)
    tolerance = np.maximum(bounds, 1.0) * 1e-9
    corners = np.where(np.abs(corners) <= tolerance, 0.0, corners)
    return np.where(np.abs(corners - bounds) <= tolerance, bounds, corners)


def inside_image(keypoints: np.ndarray, height: int, width: int) -> np.ndarray:
    """Which points of ``(..., 2+)`` pixel-index ``keypoints`` lie on a ``height`` x ``width`` image.

    Pixel ``i`` spans ``i - 0.5`` to ``i + 0.5``; the border itself counts as
    inside (with float noise), NaN as outside.

    Examples:
        >>> inside_image(np.array([[0.0, 0.0], [9.5, 2.0], [9.6, 2.0], [-0.5, -0.5]]), 5, 10).tolist()
        [True, True, False, True]
    """
    x, y = keypoints[..., 0], keypoints[..., 1]
    with np.errstate(invalid="ignore"):
        return (
            (x >= -0.5 - _NOISE)
            & (x <= width - 0.5 + _NOISE)
            & (y >= -0.5 - _NOISE)
            & (y <= height - 0.5 + _NOISE)
        )


def run_transform(
    transform: Any,
    work: Work,
    rng: np.random.Generator,
    size: tuple[int, int],
    image_kernel: Callable[[Any, dict[str, Any]], Any],
    masks_kernel: Callable[[Any, dict[str, Any]], Any],
    params: dict[str, Any] | None = None,
) -> tuple[int, int]:
    """Apply one [`BoxTransform`][visiondata.transforms.BoxTransform] to ``work``; returns the new ``(height, width)``.

    ``image_kernel`` and ``masks_kernel`` are the transform's tensor methods
    (torchvision backend) or its numpy ones (albumentations backend).
    ``params`` are parameters drawn already (a decode plan's); otherwise the
    transform draws them from ``rng``.
    """
    height, width = size
    transform.check(height, width)
    if params is None:
        params = transform.get_params(rng, height, width, work.visible)
    if params is None:
        return size
    if not transform.geometric:
        work.image = image_kernel(work.image, params)
        return size
    new_size = transform.output_size(params, height, width)
    # Before the kernel allocates it: a bounded size parameter can still ask for too much of an
    # elongated image (the shorter side resized to 30000 makes the longer one 30000 times more).
    check_output_size(type(transform).__name__, height, width, new_size)
    work.image = image_kernel(work.image, params)
    removed = transform.removed_boxes(params)
    if removed is not None:
        work.remove(removed, "out_of_bounds")
    if work.masks is not None:
        work.masks = _warp_masks(work.masks, params, masks_kernel, new_size)
    if work.mask is not None:
        work.mask = _warp_masks(work.mask, params, masks_kernel, new_size)
    if work.keypoints is not None or work.rotated is not None:
        # Points move as the centres of their pixels (index + 0.5 on the boxes' scale), so a resize
        # maps pixel centres to pixel centres, as the image's resampling does. Oriented boxes' corners
        # travel with them (on the boxes' scale once the 0.5 is added back).
        points = work.points_with_probe(height, width) + 0.5
        work.points_moved(transform.apply_points(points, params, height, width) - 0.5, *new_size)
    if len(work.ids) and work.rotated is None:
        work.moved(transform.apply_boxes(work.stacked(), params, height, width), *new_size)
    return new_size


def check_output_size(name: str, height: int, width: int, new_size: tuple[int, int]) -> None:
    """Refuse a step that would grow a side beyond `MAX_SIDE` (an input already larger may keep its size)."""
    new_height, new_width = new_size
    if (new_height > MAX_SIDE and new_height > height) or (new_width > MAX_SIDE and new_width > width):
        raise TransformSpecError(
            f"{name}: would make the {height}x{width} image {new_height}x{new_width} (height x width); expected "
            f"sides of at most {MAX_SIDE} (2**15): choose a smaller size, or a transform that bounds the longer "
            "side (LongestMaxSize)"
        )


def _warp_masks(masks: Any, params: dict[str, Any], kernel: Callable[..., Any], size: tuple[int, int]) -> Any:
    if masks.shape[0] == 0:
        # Kernels need pixels to work on; no masks at the new size is simply an empty stack.
        if isinstance(masks, torch.Tensor):
            return masks.new_zeros((0, *size))
        return np.zeros((0, *size), dtype=masks.dtype)
    return kernel(masks, params)


def warpable_masks(masks: Any) -> Any:
    """Masks in a dtype every resampling kernel takes (``uint8`` or ``float32``), values unchanged.

    Booleans become ``uint8``; other integers ``float32``, which holds every
    label below 2**24 exactly. `rebuild` restores the dtype.
    """
    if isinstance(masks, torch.Tensor):
        if masks.dtype in (torch.uint8, torch.float32):
            return masks
        return masks.to(torch.uint8 if masks.dtype == torch.bool else torch.float32)
    if masks.dtype in (np.uint8, np.float32):
        return masks
    return masks.astype(np.uint8 if masks.dtype == np.bool_ else np.float32)


def as_tensor(value: Any) -> torch.Tensor:
    """A plain tensor of ``value`` (a tensor or a numpy array; shares memory where it can)."""
    if isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor)
    return torch.from_numpy(np.ascontiguousarray(value))


def as_numpy(value: Any) -> np.ndarray:
    """A contiguous numpy array of ``value`` (a tensor or a numpy array)."""
    if isinstance(value, torch.Tensor):
        return np.ascontiguousarray(value.detach().cpu().numpy())
    return np.ascontiguousarray(value)
