"""Geometry shared by both backends: how boxes move, and how random crops and warps are drawn.

Boxes here are ``(M, 4)`` float64 numpy arrays of ``xyxy`` pixel corners;
they are never clipped (the pipeline clips), so a box can follow an object
that leaves the image. The samplers draw from a ``numpy.random.Generator``
and are vectorised: a crop that needs up to 40 tries draws them at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: A crop as (top, left, height, width) in pixels.
CropBox = tuple[int, int, int, int]


def flip_horizontal(boxes: np.ndarray, width: float) -> np.ndarray:
    """Boxes mirrored left to right in an image ``width`` pixels wide."""
    return np.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], axis=1)


def flip_vertical(boxes: np.ndarray, height: float) -> np.ndarray:
    """Boxes mirrored top to bottom in an image ``height`` pixels high."""
    return np.stack([boxes[:, 0], height - boxes[:, 3], boxes[:, 2], height - boxes[:, 1]], axis=1)


def scale_and_shift(
    boxes: np.ndarray, x_scale: float = 1.0, y_scale: float = 1.0, dx: float = 0.0, dy: float = 0.0
) -> np.ndarray:
    """``x * x_scale + dx`` and ``y * y_scale + dy`` on every corner (crops, pads and resizes)."""
    return boxes * (x_scale, y_scale, x_scale, y_scale) + (dx, dy, dx, dy)


def warp_boxes(boxes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The axis-aligned box around each box's four corners mapped by a 3x3 affine or projective matrix."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4)
    x_min, y_min, x_max, y_max = boxes.T
    corners = np.stack(
        [
            np.stack([x_min, y_min], axis=1),
            np.stack([x_max, y_min], axis=1),
            np.stack([x_max, y_max], axis=1),
            np.stack([x_min, y_max], axis=1),
        ],
        axis=1,
    )  # (M, 4, 2)
    points = corners @ matrix[:2, :2].T + matrix[:2, 2]
    if not np.array_equal(matrix[2], (0.0, 0.0, 1.0)):
        depth = corners @ matrix[2, :2] + matrix[2, 2]
        points = points / depth[..., None]
    return np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1)


def affine_matrix(
    angle: float,
    translate: Sequence[float],
    scale: float,
    shear: Sequence[float],
    center: Sequence[float],
) -> np.ndarray:
    """The forward 3x3 matrix of torchvision's affine convention (angle clockwise, in degrees).

    ``T(center + translate) @ RotateScaleShear @ T(-center)``, the matrix
    ``torchvision.transforms.v2.functional.affine`` inverts to sample the image.
    """
    rotation = math.radians(angle)
    shear_x, shear_y = math.radians(shear[0]), math.radians(shear[1])
    a = math.cos(rotation - shear_y) / math.cos(shear_y)
    b = -math.cos(rotation - shear_y) * math.tan(shear_x) / math.cos(shear_y) - math.sin(rotation)
    c = math.sin(rotation - shear_y) / math.cos(shear_y)
    d = -math.sin(rotation - shear_y) * math.tan(shear_x) / math.cos(shear_y) + math.cos(rotation)
    center_x, center_y = center
    linear = np.array([[a, b], [c, d]]) * scale
    matrix = np.eye(3)
    matrix[:2, :2] = linear
    matrix[:2, 2] = (center_x + translate[0], center_y + translate[1]) - linear @ (center_x, center_y)
    return matrix


def pixel_centre_matrix(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` (on box coordinates, pixel ``i`` spanning ``i`` to ``i + 1``) for OpenCV, whose pixel ``i`` is at ``i``."""
    shift = np.eye(3)
    shift[:2, 2] = 0.5
    return np.linalg.inv(shift) @ matrix @ shift


def homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 3x3 projective matrix that maps four ``source`` points onto four ``target`` points."""
    rows = []
    values = []
    for (x, y), (u, v) in zip(source, target, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    solution = np.linalg.solve(np.asarray(rows, dtype=np.float64), np.asarray(values, dtype=np.float64))
    return np.append(solution, 1.0).reshape(3, 3)


def sample_resized_crop(
    rng: np.random.Generator,
    height: int,
    width: int,
    scale: Sequence[float],
    ratio: Sequence[float],
    attempts: int = 10,
) -> CropBox:
    """torchvision's ``RandomResizedCrop`` draw: a crop of random area and aspect ratio, else a central crop.

    The ``attempts`` candidates are drawn at once and the first that fits is
    taken, which is the distribution of torchvision's sequential loop.
    """
    area = height * width
    target_area = area * rng.uniform(scale[0], scale[1], attempts)
    log_ratio = np.log(ratio)
    aspect = np.exp(rng.uniform(log_ratio[0], log_ratio[1], attempts))
    widths = np.round(np.sqrt(target_area * aspect)).astype(np.int64)
    heights = np.round(np.sqrt(target_area / aspect)).astype(np.int64)
    fits = np.flatnonzero((widths > 0) & (widths <= width) & (heights > 0) & (heights <= height))
    if len(fits):
        crop_height, crop_width = int(heights[fits[0]]), int(widths[fits[0]])
        top = int(rng.integers(0, height - crop_height + 1))
        left = int(rng.integers(0, width - crop_width + 1))
        return top, left, crop_height, crop_width
    # Fallback to a central crop with the aspect ratio limited to the range.
    in_ratio = width / height
    # At least one pixel: an extreme ratio (1e9) would otherwise round a side to an empty crop.
    if in_ratio < min(ratio):
        crop_width, crop_height = width, max(1, round(width / min(ratio)))
    elif in_ratio > max(ratio):
        crop_height, crop_width = height, max(1, round(height * max(ratio)))
    else:
        crop_height, crop_width = height, width
    return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width


def sample_iou_crop(
    rng: np.random.Generator,
    height: int,
    width: int,
    boxes: np.ndarray,
    min_scale: float,
    max_scale: float,
    min_aspect_ratio: float,
    max_aspect_ratio: float,
    options: Sequence[float],
    trials: int,
    max_rounds: int = 100,
) -> tuple[CropBox, np.ndarray] | None:
    """SSD's crop (torchvision's ``RandomIoUCrop``): a crop that overlaps some box by at least a drawn IoU.

    Each round draws a minimum IoU from ``options`` (a value of 1 or more
    means "no crop"), then ``trials`` candidate crops at once; the first
    candidate with a valid shape, at least one box centre inside and one of
    those boxes at the required IoU is taken.

    Returns:
        ``((top, left, height, width), centre_inside)``, where ``centre_inside``
        marks the boxes whose centre is inside the crop (SSD keeps only
        those), or ``None`` for no crop. Without boxes no crop can qualify,
        so there is none (torchvision would loop until it draws "no crop").
    """
    if len(boxes) == 0:
        return None
    centre_x = (boxes[:, 0] + boxes[:, 2]) / 2
    centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
    box_areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for _ in range(max_rounds):
        min_iou = options[int(rng.integers(len(options)))]
        if min_iou >= 1.0:
            return None
        sizes = min_scale + (max_scale - min_scale) * rng.random((trials, 2))
        crop_widths = (width * sizes[:, 0]).astype(np.int64)
        crop_heights = (height * sizes[:, 1]).astype(np.int64)
        offsets = rng.random((trials, 2))
        lefts = ((width - crop_widths) * offsets[:, 0]).astype(np.int64)
        tops = ((height - crop_heights) * offsets[:, 1]).astype(np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):
            aspect = crop_widths / crop_heights
        shape_ok = (
            (crop_heights > 0)
            & (crop_widths > 0)
            & (aspect >= min_aspect_ratio)
            & (aspect <= max_aspect_ratio)
        )
        rights, bottoms = lefts + crop_widths, tops + crop_heights
        inside = (
            (lefts[:, None] < centre_x)
            & (centre_x < rights[:, None])
            & (tops[:, None] < centre_y)
            & (centre_y < bottoms[:, None])
        )  # (trials, M)
        overlap_w = np.clip(
            np.minimum(rights[:, None], boxes[:, 2]) - np.maximum(lefts[:, None], boxes[:, 0]), 0, None
        )
        overlap_h = np.clip(
            np.minimum(bottoms[:, None], boxes[:, 3]) - np.maximum(tops[:, None], boxes[:, 1]), 0, None
        )
        intersection = overlap_w * overlap_h
        union = (crop_widths * crop_heights)[:, None] + box_areas - intersection
        iou = np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)
        qualifies = shape_ok & (inside & (iou >= min_iou)).any(axis=1)
        found = np.flatnonzero(qualifies)
        if len(found):
            trial = found[0]
            crop = (int(tops[trial]), int(lefts[trial]), int(crop_heights[trial]), int(crop_widths[trial]))
            return crop, inside[trial]
    return None


def sample_box_safe_crop(
    rng: np.random.Generator, height: int, width: int, boxes: np.ndarray, erosion_rate: float
) -> CropBox:
    """A random crop that contains every box (albumentations' ``RandomSizedBBoxSafeCrop`` draw).

    The union of the boxes, shrunk by ``erosion_rate`` of its size, must lie
    inside the crop; the crop extends it towards each border by a random
    fraction of the room left. Without boxes, a random crop of at least a
    quarter of each side (albumentations' fallback).
    """
    union = None
    if len(boxes):
        x_min, y_min = boxes[:, 0].min(), boxes[:, 1].min()
        x_max, y_max = boxes[:, 2].max(), boxes[:, 3].max()
        erosion_x = (x_max - x_min) * erosion_rate / 2
        erosion_y = (y_max - y_min) * erosion_rate / 2
        x_min, x_max = x_min + erosion_x, x_max - erosion_x
        y_min, y_max = y_min + erosion_y, y_max - erosion_y
        if x_max - x_min > 1e-6 and y_max - y_min > 1e-6:
            union = (x_min, y_min, x_max, y_max)
    if union is None:
        crop_height = int(height * rng.uniform(0.25, 1.0)) or 1
        crop_width = int(width * rng.uniform(0.25, 1.0)) or 1
        top = int(rng.integers(0, height - crop_height + 1))
        left = int(rng.integers(0, width - crop_width + 1))
        return top, left, crop_height, crop_width
    x_min, y_min, x_max, y_max = union
    x_min, y_min = min(max(x_min, 0.0), width), min(max(y_min, 0.0), height)
    x_max, y_max = min(max(x_max, x_min), width), min(max(y_max, y_min), height)
    draws = rng.random(4)
    left = int(x_min * draws[0])
    top = int(y_min * draws[1])
    right = int(x_max + (width - x_max) * draws[2])
    bottom = int(y_max + (height - y_max) * draws[3])
    right, bottom = max(right, left + 1), max(bottom, top + 1)
    return top, left, bottom - top, right - left


def sample_perspective(
    rng: np.random.Generator, height: int, width: int, distortion_scale: float
) -> tuple[list[list[int]], list[list[int]]]:
    """torchvision's ``RandomPerspective`` draw: each corner moves inwards by up to ``distortion_scale`` of half a side.

    Returns:
        ``(startpoints, endpoints)``: the image corners and where they go.
    """
    bound_height = int(distortion_scale * (height // 2)) + 1
    bound_width = int(distortion_scale * (width // 2)) + 1
    x = rng.integers(0, bound_width, 4)
    y = rng.integers(0, bound_height, 4)
    endpoints = [
        [int(x[0]), int(y[0])],
        [int(width - 1 - x[1]), int(y[1])],
        [int(width - 1 - x[2]), int(height - 1 - y[2])],
        [int(x[3]), int(height - 1 - y[3])],
    ]
    startpoints = [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]]
    return startpoints, endpoints
