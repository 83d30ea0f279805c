"""Decode for the output: a JPEG decoded at the smallest DCT scale that still serves what the transform keeps.

A training transform such as ``RandomResizedCrop(224)`` keeps a region of the
image and resizes it to the output size; when the region is several times the
output, decoding the JPEG at full resolution wastes most of the decode and
most of the resize. libjpeg-turbo decodes at 1/2, 1/4 and 1/8 scale in the DCT
domain, at a fraction of the cost. The plan works in three steps:

1. the file's header gives the image's size (and EXIF orientation) without decoding;
2. the transform draws its random parameters on that size, with exactly the
   random calls it makes today (so the distribution of crops is unchanged),
   and says which region it keeps and at what output size: a `DecodePlan`;
3. the JPEG is decoded at the smallest scale ``1/d`` (``d`` in 1, 2, 4, 8) at
   which the region still has twice the output's pixels along each side (`plan_scale`), and
   the transform finishes on that smaller image (a `PlannedImage`): the region
   is scaled with the image, then resized to the output.

Formats without scaled decoding (PNG, WebP, CMYK or 12-bit JPEG...) are decoded
as `read_image` decodes them, and the transform runs as usual. A plan of scale 1
gives exactly the pixels of the exact path. ``strict`` decoding and the
decompression-bomb limit (on the file's full size) apply as in `read_image`.

Datasets use it on their own when their transform offers a plan (a
``decode_plan(height, width)`` method, as ``presets.classification_train``
has) and they read with the default loader; `set_scaled_decode` (or the
``VISIONDATA_SCALED_DECODE`` environment variable) turns it off for the process,
and the datasets' ``scaled_decode=`` keyword for one dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from visiondata._arguments import check_bool, check_choice, switch_from_environment
from visiondata.io._header import jpeg_orientation, read_header
from visiondata.io._read import (
    _MODES,
    _PIXEL_LIMIT,
    MAX_IMAGE_BYTES,
    Source,
    _convert_channels,
    _decode_data,
    _decode_fast,
    _encoded_bytes,
    _strict_or_default,
    _too_large,
)

#: DCT scales libjpeg-turbo decodes fastest, as the denominator ``d`` of ``1/d``, largest first.
SCALES = (8, 4, 2, 1)

#: Name of the environment variable that sets the process's default at import: ``0`` (or ``false``,
#: ``no``, ``off``) turns scaled decoding off. Spawned DataLoader workers re-import visiondata, so they
#: follow the variable, not a call of `set_scaled_decode` made in the parent process.
SCALED_DECODE_VARIABLE = "VISIONDATA_SCALED_DECODE"
_enabled = switch_from_environment(SCALED_DECODE_VARIABLE)


def set_scaled_decode(enabled: bool) -> bool:
    """Turn decoding for the output on or off for every dataset of the process; returns the old setting.

    On (the default): a dataset whose transform offers a decode plan (``presets.classification_train``,
    ``presets.classification_eval(scaled_decode=True)``) and that reads with its default loader
    decodes each JPEG at the smallest DCT scale that still keeps twice the output's resolution for the
    region the transform keeps. Off: every image is decoded at full size, as `read_image` does. A
    dataset's own ``scaled_decode=True`` or ``False`` overrides this setting.

    The setting is per process: forked DataLoader workers inherit it, spawned ones start from the
    ``VISIONDATA_SCALED_DECODE`` environment variable (``0`` for off).

    Examples:
        >>> previous = set_scaled_decode(False)
        >>> scaled_decode()
        False
        >>> _ = set_scaled_decode(previous)
    """
    global _enabled
    check_bool("enabled", enabled, expected="True or False", error=TypeError)
    previous, _enabled = _enabled, enabled
    return previous


def scaled_decode() -> bool:
    """Whether datasets decode for the output by default (see `set_scaled_decode`)."""
    return _enabled


@dataclass(frozen=True)
class DecodePlan:
    """What a transform keeps of an image, drawn on the header's size before decoding.

    Coordinates are pixels of the full-resolution image as it is shown (EXIF orientation applied).

    Attributes:
        top: First row of the region kept.
        left: First column of the region kept.
        height: Rows of the region kept.
        width: Columns of the region kept.
        out_height: Rows the region becomes in the output.
        out_width: Columns the region becomes in the output.
    """

    top: int
    left: int
    height: int
    width: int
    out_height: int
    out_width: int


#: How many decoded pixels the region keeps per output pixel, at least, along each side. At 1 (just
#: the output's resolution) the resize after a scaled decode filters differently enough from the
#: exact path's to cost detail (PSNR 25-28 dB on real photos); at 2 the scaled path stays within
#: 32 dB or better of the exact one (benchmarks/bench_scaled_decode.py prints the distribution).
OVERSAMPLE = 2.0


def plan_scale(plan: DecodePlan, height: int, width: int, oversample: float = OVERSAMPLE) -> int:
    """The largest ``d`` in 8, 4, 2, 1 such that decoding a ``height`` x ``width`` image at ``1/d`` leaves the
    plan's region at least ``oversample`` times ``out_height`` x ``out_width`` pixels.

    libjpeg-turbo rounds scaled sizes up (``ceil(height / d)``); the region shrinks by the same ratio.

    Examples:
        >>> plan = DecodePlan(top=0, left=0, height=1000, width=900, out_height=224, out_width=224)
        >>> plan_scale(plan, 1200, 1600)
        2
        >>> plan_scale(DecodePlan(0, 0, 1600, 1600, 100, 100), 1600, 1600)
        8
        >>> plan_scale(DecodePlan(0, 0, 300, 300, 224, 224), 1000, 1000)
        1
        >>> plan_scale(plan, 1200, 1600, oversample=1.0)
        4
    """
    for scale in SCALES:
        rows = plan.height * math.ceil(height / scale) / height
        columns = plan.width * math.ceil(width / scale) / width
        if rows >= oversample * plan.out_height and columns >= oversample * plan.out_width:
            return scale
    return 1


@dataclass(frozen=True)
class PlannedImage:
    """An image decoded for a `DecodePlan`, for the transform that made the plan to finish.

    Attributes:
        image: ``uint8`` ``C x H x W``, decoded at ``1/scale`` (EXIF orientation applied).
        plan: The plan, in full-resolution coordinates.
        full_size: ``(height, width)`` of the full-resolution image as shown.
        scale: The DCT scale's denominator (1: the exact, full-resolution pixels).
    """

    image: torch.Tensor
    plan: DecodePlan
    full_size: tuple[int, int]
    scale: int

    @property
    def region(self) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the plan's region in `image`'s pixels.

        The plan's region scaled by the decoded image's size over the full size, its edges rounded
        to whole pixels (at most half a decoded pixel off, less than half an output pixel); exactly
        the plan's region at scale 1.
        """
        plan = self.plan
        full_height, full_width = self.full_size
        rows, columns = self.image.shape[-2], self.image.shape[-1]
        if (rows, columns) == (full_height, full_width):
            return plan.top, plan.left, plan.height, plan.width
        top, bottom = _edges(plan.top, plan.height, rows / full_height, rows)
        left, right = _edges(plan.left, plan.width, columns / full_width, columns)
        return top, left, bottom - top, right - left

    def full_resolution(self) -> torch.Tensor:
        """The image at `full_size`: the decoded pixels at scale 1, else resized up (antialiased bilinear).

        For a transform that did not make the plan (or was changed since): it sees the image at the
        size the plan was drawn on, as without scaled decoding, with the detail the decode left out.
        """
        if self.scale == 1:
            return self.image
        from torchvision.transforms.v2 import functional

        return functional.resize_image(self.image, list(self.full_size), antialias=True)


def _edges(start: int, length: int, ratio: float, limit: int) -> tuple[int, int]:
    """Start and end of ``[start, start + length)`` scaled by ``ratio``, rounded, at least one pixel, within ``limit``."""
    first = min(max(round(start * ratio), 0), limit - 1)
    last = min(max(round((start + length) * ratio), first + 1), limit)
    return first, last


Planner = Callable[[int, int], "DecodePlan | None"]


def read_planned(
    source: Source,
    planner: Planner,
    mode: str = "RGB",
    max_pixels: int | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    strict: bool | None = None,
) -> PlannedImage | torch.Tensor:
    """Read an image for a transform's plan: a `PlannedImage` for a JPEG, else `read_image`'s tensor.

    For a JPEG the fast decoder takes, ``planner(height, width)`` is called with the size the header
    gives (EXIF orientation applied), before anything is decoded; it returns a `DecodePlan` (and
    draws the transform's random parameters), or ``None`` for a full decode. The file is then
    decoded at `plan_scale`'s scale. Any other file (PNG, WebP, a JPEG PIL decodes) is read as
    `read_image` reads it, and the planner is not called: the transform draws on the decoded image.

    Args:
        source: The image file, its bytes, or a binary file object (as `read_image`).
        planner: The transform's ``decode_plan``.
        mode: ``"RGB"``, ``"L"`` or ``"unchanged"`` (as `read_image`).
        max_pixels: The decompression-bomb limit, on the file's full size (as `read_image`).
        max_bytes: Refuse files larger than this many bytes.
        strict: As `read_image`: refuse a JPEG that decodes only with a warning; ``None`` follows
            ``set_strict_decode``.

    Returns:
        A `PlannedImage`, or the ``uint8`` ``C x H x W`` tensor `read_image` returns.

    Raises:
        ImageReadError: As `read_image`.

    Examples:
        >>> import io
        >>> from PIL import Image
        >>> buffer = io.BytesIO()
        >>> Image.new("RGB", (800, 600), (10, 200, 30)).save(buffer, "JPEG")
        >>> planned = read_planned(buffer.getvalue(), lambda h, w: DecodePlan(0, 0, h, w, 70, 90))
        >>> planned.scale, tuple(planned.image.shape), planned.region
        (4, (3, 150, 200), (0, 0, 150, 200))
    """
    mode = check_choice("mode", mode, _MODES)
    strict = _strict_or_default(strict)
    data, name = _encoded_bytes(source, max_bytes)
    header = read_header(data)
    limit = _PIXEL_LIMIT.current() if max_pixels is None else max_pixels
    if limit is not None and header.pixels is not None and header.pixels > limit:
        raise _too_large(name, header.width, header.height, limit)
    if header.fast and header.width and header.height:
        turned = jpeg_orientation(data) in (5, 6, 7, 8)  # a quarter turn: the shown size is swapped
        height, width = (header.width, header.height) if turned else (header.height, header.width)
        plan = planner(height, width)
        if plan is not None:
            scale = plan_scale(plan, height, width)
            stored = (header.height, header.width)
            least = (0, 0) if scale == 1 else (-(-stored[0] // scale), -(-stored[1] // scale))
            hwc = _decode_fast(name, data, header, strict, least)
            if hwc is not None:
                image = _convert_channels(torch.from_numpy(hwc).permute(2, 0, 1), mode)
                return PlannedImage(image, plan, (height, width), scale)
            # TurboJPEG could not decode it at all: PIL decodes it (or names the damage) at full size.
            # The plan stays valid: it was drawn on the size the header gives.
            image = _decode_data(name, data, header, mode, "tensor", max_pixels, strict)
            return PlannedImage(image, plan, (height, width), 1)
    return _decode_data(name, data, header, mode, "tensor", max_pixels, strict)


def decode_planner(transform: Any) -> Planner | None:
    """The transform's ``decode_plan`` method, if it offers one (``None`` otherwise).

    Examples:
        >>> from visiondata.transforms import presets
        >>> decode_planner(presets.classification_train(224)) is not None, decode_planner(len)
        (True, None)
    """
    planner = getattr(transform, "decode_plan", None)
    return planner if callable(planner) else None
