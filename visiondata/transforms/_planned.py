"""Decode for the output in a `BoxPipeline`: its first step's parameters drawn on the file's header.

A pipeline whose first step is a resize (``Resize``, ``LongestMaxSize``,
``SmallestMaxSize``) or a resized crop (``RandomResizedCrop``,
``RandomScale``), applied always (``p=1``), tells a dataset what it keeps of
the image before the image is decoded: `plan_first_step` draws that step's
parameters on the size the JPEG header gives, with the pipeline's own
generators and the same random calls as on the decoded image, so the draws of
this and every later step are those of the exact path. The dataset decodes the
JPEG at a DCT scale that still gives twice the output's resolution
([`read_planned`][visiondata.io.read_planned]) and hands the
[`PlannedImage`][visiondata.io.PlannedImage] to the pipeline with the target
as it would for the full image (boxes, masks, keypoints in full-size
coordinates). `run_planned_first_step` then crops and resizes the decoded
pixels, and moves boxes, keypoints, oriented boxes and masks with the drawn
parameters, exactly as the exact path moves them: only the image's pixels
come from the smaller decode.

On the albumentations backend, whose own classes draw their parameters
inside albumentations, only the resizes that draw nothing are planned; at
scale 1 the albumentations step runs as usual, and below it the step's numpy
kernel (OpenCV's resize, as albumentations') resizes the smaller image.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from visiondata.io._plan import DecodePlan, PlannedImage
from visiondata.transforms._torchvision_backend import (
    BoxTransform,
    LongestMaxSize,
    RandomResizedCrop,
    RandomScale,
    Resize,
    SmallestMaxSize,
)
from visiondata.transforms._work import Work, run_transform

#: First steps whose parameters do not look at the boxes, so they can be drawn before decoding.
PLANNABLE = (Resize, LongestMaxSize, SmallestMaxSize, RandomResizedCrop, RandomScale)
#: Those that draw nothing: the only ones planned where albumentations' own class runs the step.
DRAW_NOTHING = (Resize, LongestMaxSize, SmallestMaxSize)


@dataclass(frozen=True)
class PendingPlan:
    """A plan handed to a dataset, and what the pipeline drew for it, until the planned image comes back."""

    plan: DecodePlan
    rng: np.random.Generator
    python_rng: random.Random
    params: dict[str, Any]


def plannable_transform(step: Any) -> BoxTransform | None:
    """The first step's transform when its parameters can be drawn on the header's size, else ``None``."""
    if step.probability < 1.0:
        return None  # the skip draw would decide after the decode what the plan decided before it
    if hasattr(step, "checker"):  # albumentations' own class runs the step and draws its parameters
        transform, kinds = step.checker, DRAW_NOTHING
    else:  # our kernel (torchvision's, or numpy's on the albumentations backend) draws from the pipeline's generator
        transform, kinds = getattr(step, "transform", None), PLANNABLE
    return transform if type(transform) in kinds else None


def plan_first_step(
    transform: BoxTransform, rng: np.random.Generator, python_rng: random.Random, height: int, width: int
) -> PendingPlan | None:
    """Draw ``transform``'s parameters for a ``height`` x ``width`` image: the region it keeps and its output size.

    ``None`` (nothing drawn) when the step refuses the size: the exact path then raises its error.
    """
    try:
        transform.check(height, width)
    except Exception:
        return None
    params = transform.get_params(rng, height, width, np.zeros((0, 4)))
    top, left, rows, columns = params.get("crop") or (0, 0, height, width)
    out_height, out_width = params["size"]
    plan = DecodePlan(int(top), int(left), int(rows), int(columns), int(out_height), int(out_width))
    return PendingPlan(plan, rng, python_rng, params)


def run_planned_first_step(
    transform: BoxTransform, work: Work, planned: PlannedImage, params: dict[str, Any], channels_first: bool
) -> None:
    """The first step on a planned image: its region of the decoded pixels resized to the output size,
    everything else (boxes, keypoints, oriented boxes, masks, at full size) moved with ``params``; the
    image and masks as the backend's steps take them (``C x H x W`` tensors if ``channels_first``)."""
    pixels = {"crop": planned.region, "size": params["size"]}
    if channels_first:
        image_kernel, masks_kernel = transform.apply_image, transform.apply_masks
    else:
        image_kernel, masks_kernel = transform.apply_image_numpy, transform.apply_masks_numpy
    run_transform(
        transform,
        work,
        None,  # type: ignore[arg-type]  # drawn already: run_transform does not draw with params given
        planned.full_size,
        lambda image, _params: image_kernel(image, pixels),
        masks_kernel,
        params=params,
    )
