"""The torchvision backend: every transform of the common set, on ``torchvision.transforms.v2`` kernels.

Each class draws its parameters from the pipeline's numpy generator, moves
the image (a plain ``C x H x W`` tensor) with torchvision's functional
kernels and the boxes (a numpy array) with `._geometry`. Skipping the
per-call machinery of the v2 transform classes (input flattening, type
dispatch, ``tv_tensors`` wrapping) and fusing ``ToDtype`` with
``Normalize`` is what makes this backend faster than calling the v2
classes directly; the pixels come from the same kernels.

The parameter names are torchvision v2's. A few transforms that torchvision
lacks (``PadIfNeeded``, ``LongestMaxSize``, ``RandomSizedBBoxSafeCrop``,
``RandomScale``) follow albumentations' semantics, so that both backends
agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional

from visiondata._arguments import check_choice, is_finite_number, is_int
from visiondata.exceptions import TransformSpecError
from visiondata.transforms import _geometry as geometry
from visiondata.transforms._backend import Backend
from visiondata.transforms._base import BoxTransform
from visiondata.transforms._presets import IMAGENET_MEAN, IMAGENET_STD
from visiondata.transforms._spec import (
    INTERPOLATION_TABLE,
    MAX_KERNEL_SIZE,
    MAX_SIDE,
    as_fill,
    as_interpolation,
    as_number,
    as_pixels,
    as_positive_int,
    as_range,
    as_size,
)
from visiondata.transforms._work import Work, check_output_size, run_transform

#: The most crop candidates RandomIoUCrop draws per sample (torchvision's default is 40).
MAX_TRIALS = 10_000

_MODES = {name: InterpolationMode[mode] for name, (mode, _) in INTERPOLATION_TABLE.items()}


def resize_tensor(tensor: torch.Tensor, size: Sequence[int], interpolation: str, mask: bool) -> torch.Tensor:
    if mask:
        return functional.resize_image(
            tensor, list(size), interpolation=InterpolationMode.NEAREST, antialias=False
        )
    if (
        interpolation != "nearest"
        and tensor.dtype == torch.uint8
        and tensor.ndim == 3
        and tensor.stride(0) != 1
        and (size[0] * size[1] >= tensor.shape[-2] * tensor.shape[-1] or size[0] * size[1] == 1)
    ):
        # torch's antialiased uint8 resize runs faster on channels-last memory, but laying a C x H x W
        # image out that way is a transposing copy of the input, about as slow per pixel as the resize:
        # it pays for itself only when the output has at least as many pixels as the input (measured on
        # 0.4 MP photos, one thread: a 2-6x upscale 1.4-1.7x faster; a whole-image downscale 1.3-1.9x
        # slower). Images decoded channels-last (read_image's, and their crops) need no copy. A 1 x 1
        # output always takes the channels-last path: torch 2.x's kernel fails an internal assert on a
        # contiguous 3-channel image resized to one pixel (torchvision's resize_image too).
        tensor = tensor.permute(1, 2, 0).contiguous().permute(2, 0, 1)
    return functional.resize_image(tensor, list(size), interpolation=_MODES[interpolation], antialias=True)


class _Geometric(BoxTransform):
    """A transform that moves pixels: one warp for the image and the masks."""

    geometric = True
    interpolation = "bilinear"
    fill: float | list[float] = 0.0

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        raise NotImplementedError

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_fill(self.fill, image.shape[-3], image.dtype)
        return self.warp(image, params, mask=False)

    def apply_masks(self, masks: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return self.warp(masks, params, mask=True)

    def _fill(self, mask: bool) -> float | list[float]:
        return 0.0 if mask else self.fill


def _check_fill(fill: float | list[float], channels: int, dtype: torch.dtype) -> None:
    """Refuse a fill the image cannot take (per-channel count, or a value its dtype cannot hold), named."""
    values = fill if isinstance(fill, list) else [fill]
    if len(values) not in (1, channels):
        raise TransformSpecError(
            f"fill: expected one number or one per channel ({channels} channels), got {len(values)} numbers"
        )
    if not dtype.is_floating_point:
        info = torch.iinfo(dtype)
        if not all(info.min <= value <= info.max for value in values):
            raise TransformSpecError(
                f"fill: expected values in {info.min}..{info.max} for a {str(dtype).replace('torch.', '')} image, "
                f"got {fill!r}"
            )


class HorizontalFlip(_Geometric):
    """Mirror left to right (torchvision's ``RandomHorizontalFlip``)."""

    default_p = 0.5

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        return functional.horizontal_flip_image(tensor)

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        return geometry.flip_horizontal(boxes, width)


class VerticalFlip(_Geometric):
    """Mirror top to bottom (torchvision's ``RandomVerticalFlip``)."""

    default_p = 0.5

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        return functional.vertical_flip_image(tensor)

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        return geometry.flip_vertical(boxes, height)


class _Resizing(_Geometric):
    """A transform ending in a resize to ``params["size"]``, after an optional crop ``params["crop"]``."""

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        crop = params.get("crop")
        if crop is not None:
            top, left, height, width = crop
            tensor = tensor[..., top : top + height, left : left + width]
        if tuple(tensor.shape[-2:]) == tuple(params["size"]):
            return tensor
        return resize_tensor(tensor, params["size"], self.interpolation, mask)

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        top, left, height, width = params.get("crop") or (0, 0, height, width)
        new_height, new_width = params["size"]
        x_scale, y_scale = new_width / width, new_height / height
        return geometry.scale_and_shift(boxes, x_scale, y_scale, -left * x_scale, -top * y_scale)

    def output_size(self, params: dict[str, Any], height: int, width: int) -> tuple[int, int]:
        return tuple(params["size"])

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return self._warp_numpy(image, params, self.interpolation)

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _channels_first(self._warp_numpy(_channels_last(masks), params, "nearest"))

    def _warp_numpy(self, image: np.ndarray, params: dict[str, Any], interpolation: str) -> np.ndarray:
        crop = params.get("crop")
        if crop is not None:
            top, left, height, width = crop
            image = image[top : top + height, left : left + width]
        if image.shape[:2] == tuple(params["size"]):
            return image
        import cv2

        height, width = params["size"]
        return _opencv(
            image, lambda part: cv2.resize(part, (width, height), interpolation=_CV2[interpolation])
        )


class Resize(_Resizing):
    """Resize to ``size=(height, width)``, or the shorter side to ``size`` keeping the aspect ratio (torchvision)."""

    def __init__(self, size: int | Sequence[int], interpolation: str = "bilinear") -> None:
        self.size = as_positive_int(size, "size") if isinstance(size, int) else as_size(size)
        self.interpolation = as_interpolation(interpolation)

    def check(self, height: int, width: int) -> None:
        # Also on the albumentations backend, whose kernels do not pass through run_transform's check.
        check_output_size("Resize", height, width, self.get_params(None, height, width, None)["size"])

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        if isinstance(self.size, tuple):
            return {"size": self.size}
        if height <= width:
            return {"size": (self.size, int(self.size * width / height))}
        return {"size": (int(self.size * height / width), self.size)}


class LongestMaxSize(_Resizing):
    """Resize so that the longer side is ``max_size``, keeping the aspect ratio (albumentations' rounding)."""

    def __init__(self, max_size: int, interpolation: str = "bilinear") -> None:
        self.max_size = as_positive_int(max_size, "max_size")
        self.interpolation = as_interpolation(interpolation)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"size": _scaled_size(height, width, self.max_size / max(height, width))}


class SmallestMaxSize(_Resizing):
    """Resize so that the shorter side is ``max_size``, keeping the aspect ratio (albumentations' rounding)."""

    def __init__(self, max_size: int, interpolation: str = "bilinear") -> None:
        self.max_size = as_positive_int(max_size, "max_size")
        self.interpolation = as_interpolation(interpolation)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"size": _scaled_size(height, width, self.max_size / min(height, width))}

    def check(self, height: int, width: int) -> None:
        check_output_size(
            "SmallestMaxSize", height, width, self.get_params(None, height, width, None)["size"]
        )


def _scaled_size(height: int, width: int, scale: float) -> tuple[int, int]:
    return max(1, round(height * scale)), max(1, round(width * scale))


class RandomScale(_Resizing):
    """Resize by a factor drawn from ``scale=(min, max)`` (albumentations' ``RandomScale``; sides truncated)."""

    def __init__(self, scale: float | Sequence[float] = (0.9, 1.1), interpolation: str = "bilinear") -> None:
        # No factor above MAX_SIDE can give an image within MAX_SIDE; the step also checks each output size.
        self.scale = as_range(scale, "scale", center=1.0, low=1e-3, high=MAX_SIDE)
        self.interpolation = as_interpolation(interpolation)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        factor = rng.uniform(*self.scale)
        return {"size": (max(1, int(height * factor)), max(1, int(width * factor)))}

    def check(self, height: int, width: int) -> None:
        largest = self.scale[1]
        check_output_size("RandomScale", height, width, (int(height * largest), int(width * largest)))


class RandomResizedCrop(_Resizing):
    """A crop of random area and aspect ratio, resized to ``size`` (torchvision's ``RandomResizedCrop``)."""

    def __init__(
        self,
        size: int | Sequence[int],
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        interpolation: str = "bilinear",
    ) -> None:
        self.size = as_size(size)
        self.scale = as_range(scale, "scale", low=0.0, high=1.0)
        self.ratio = as_range(ratio, "ratio", low=1e-6)
        if self.scale[1] <= 0:
            raise TransformSpecError(f"scale: expected an area fraction range with max > 0, got {scale!r}")
        self.interpolation = as_interpolation(interpolation)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {
            "crop": geometry.sample_resized_crop(rng, height, width, self.scale, self.ratio),
            "size": self.size,
        }


class RandomSizedBBoxSafeCrop(_Resizing):
    """A random crop that keeps every box whole, resized to ``size`` (albumentations' transform of this name)."""

    def __init__(
        self, size: int | Sequence[int], erosion_rate: float = 0.0, interpolation: str = "bilinear"
    ) -> None:
        self.size = as_size(size)
        self.erosion_rate = as_number(erosion_rate, "erosion_rate", 0.0, 1.0)
        self.interpolation = as_interpolation(interpolation)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {
            "crop": geometry.sample_box_safe_crop(rng, height, width, boxes, self.erosion_rate),
            "size": self.size,
        }


class _Cropping(_Geometric):
    """A transform that cuts ``params["crop"]`` (top, left, height, width) out of the image."""

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        top, left, height, width = params["crop"]
        return tensor[..., top : top + height, left : left + width]

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        top, left, _, _ = params["crop"]
        return geometry.scale_and_shift(boxes, dx=-left, dy=-top)

    def output_size(self, params: dict[str, Any], height: int, width: int) -> tuple[int, int]:
        return params["crop"][2], params["crop"][3]

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        top, left, height, width = params["crop"]
        return image[top : top + height, left : left + width]

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        top, left, height, width = params["crop"]
        return masks[:, top : top + height, left : left + width]


class Crop(_Cropping):
    """Cut a fixed window (torchvision's ``functional.crop`` arguments); it must lie inside the image."""

    def __init__(self, top: int, left: int, height: int, width: int) -> None:
        self.top, self.left = as_pixels(top, "top"), as_pixels(left, "left")
        self.height, self.width = as_size((height, width), "height, width")

    def check(self, height: int, width: int) -> None:
        if self.top + self.height > height or self.left + self.width > width:
            raise TransformSpecError(
                f"Crop: the window rows {self.top}..{self.top + self.height}, columns {self.left}.."
                f"{self.left + self.width} does not fit the {height}x{width} image (height x width); "
                "choose a smaller window or resize first"
            )

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"crop": (self.top, self.left, self.height, self.width)}


class RandomCrop(_Cropping):
    """A random window of ``size`` (torchvision's ``RandomCrop``); smaller images are padded first with ``pad_if_needed``."""

    def __init__(
        self, size: int | Sequence[int], pad_if_needed: bool = False, fill: float | Sequence[float] = 0
    ) -> None:
        self.size = as_size(size)
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = as_fill(fill)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        crop_height, crop_width = self.size
        pad = _centre_padding(height, width, crop_height, crop_width)
        padded_height, padded_width = height + pad[1] + pad[3], width + pad[0] + pad[2]
        top = int(rng.integers(0, padded_height - crop_height + 1))
        left = int(rng.integers(0, padded_width - crop_width + 1))
        return {"pad": pad, "crop": (top, left, crop_height, crop_width)}

    def check(self, height: int, width: int) -> None:
        crop_height, crop_width = self.size
        if not self.pad_if_needed and (height < crop_height or width < crop_width):
            raise TransformSpecError(
                f"RandomCrop: the {height}x{width} image is smaller than the {crop_height}x{crop_width} crop "
                "(height x width); set pad_if_needed=True, or put PadIfNeeded or a resize before it"
            )

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        if any(params["pad"]):
            tensor = functional.pad_image(tensor, list(params["pad"]), fill=self._fill(mask))
        return super().warp(tensor, params, mask)

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        left_pad, top_pad = params["pad"][0], params["pad"][1]
        return super().apply_boxes(
            geometry.scale_and_shift(boxes, dx=left_pad, dy=top_pad), params, height, width
        )

    apply_image_numpy = None
    apply_masks_numpy = None


class CenterCrop(RandomCrop):
    """The central window of ``size`` (torchvision's ``CenterCrop``; smaller images are padded, as there).

    The window starts where torchvision v2's ``center_crop`` starts it, pixel for pixel:
    ``round((side - crop) / 2)`` with Python's round-half-to-even, so an odd margin puts the
    extra pixel on the same side as v2 (images, masks and boxes alike); padding puts the odd
    pixel on the right and bottom, as v2 does.
    """

    def __init__(self, size: int | Sequence[int], fill: float | Sequence[float] = 0) -> None:
        super().__init__(size, pad_if_needed=True, fill=fill)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        crop_height, crop_width = self.size
        pad = _centre_padding(height, width, crop_height, crop_width)
        padded_height, padded_width = height + pad[1] + pad[3], width + pad[0] + pad[2]
        # torchvision v2's anchor: round((size - crop) / 2) with Python's round, which rounds half to even
        # (an odd margin of 3 starts at 2, of 5 at 2, of 7 at 4), where floor division would drift 1 px.
        top = round((padded_height - crop_height) / 2.0)
        left = round((padded_width - crop_width) / 2.0)
        return {"pad": pad, "crop": (top, left, crop_height, crop_width)}

    # The same window on numpy (H x W x C images, N x H x W masks), for a backend that runs it there:
    # albumentations' own CenterCrop floors odd margins, one pixel off torchvision's.
    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _Cropping.apply_image_numpy(self, _pad_numpy(image, params["pad"], self.fill, 0, 1), params)

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _Cropping.apply_masks_numpy(self, _pad_numpy(masks, params["pad"], 0.0, 1, 2), params)


def _pad_numpy(
    array: np.ndarray, pad: Sequence[int], fill: float | list[float], rows: int, columns: int
) -> np.ndarray:
    """``array`` padded by (left, top, right, bottom) along axes ``rows`` and ``columns`` with ``fill``.

    A list ``fill`` gives one value per channel (the last axis of an ``H x W x C`` image).
    """
    left, top, right, bottom = pad
    if not any(pad):
        return array
    shape = list(array.shape)
    height, width = shape[rows], shape[columns]
    shape[rows], shape[columns] = height + top + bottom, width + left + right
    padded = np.empty(shape, dtype=array.dtype)
    padded[...] = np.asarray(fill, dtype=np.float64).astype(array.dtype)
    window = [slice(None)] * array.ndim
    window[rows], window[columns] = slice(top, top + height), slice(left, left + width)
    padded[tuple(window)] = array
    return padded


def _centre_padding(height: int, width: int, min_height: int, min_width: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) padding to reach at least the given size, centred (albumentations' split)."""
    pad_height, pad_width = max(min_height - height, 0), max(min_width - width, 0)
    top, left = int(pad_height / 2.0), int(pad_width / 2.0)
    return left, top, pad_width - left, pad_height - top


class _Padding(_Geometric):
    """A transform that adds ``params["pad"]`` (left, top, right, bottom) pixels around the image."""

    padding_mode = "constant"

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        if not any(params["pad"]):
            return tensor
        mode = "constant" if mask else self.padding_mode
        return functional.pad_image(tensor, list(params["pad"]), fill=self._fill(mask), padding_mode=mode)

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        left, top, _, _ = params["pad"]
        return geometry.scale_and_shift(boxes, dx=left, dy=top)

    def output_size(self, params: dict[str, Any], height: int, width: int) -> tuple[int, int]:
        left, top, right, bottom = params["pad"]
        return height + top + bottom, width + left + right

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        if not any(params["pad"]):
            return image
        import cv2

        left, top, right, bottom = params["pad"]
        border = _CV2_BORDERS[self.padding_mode]
        value = _border_value(self.fill, image.shape[-1])
        return _opencv(
            image, lambda part: cv2.copyMakeBorder(part, top, bottom, left, right, border, value=value)
        )

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        left, top, right, bottom = params["pad"]
        return np.pad(masks, ((0, 0), (top, bottom), (left, right)))


class PadIfNeeded(_Padding):
    """Pad to at least ``min_height`` x ``min_width`` (albumentations' ``PadIfNeeded``)."""

    POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right")

    def __init__(
        self, min_height: int, min_width: int, position: str = "center", fill: float | Sequence[float] = 0
    ) -> None:
        self.min_height = as_positive_int(min_height, "min_height")
        self.min_width = as_positive_int(min_width, "min_width")
        self.position = check_choice("position", position, self.POSITIONS, error=TransformSpecError)
        self.fill = as_fill(fill)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        left, top, right, bottom = _centre_padding(height, width, self.min_height, self.min_width)
        if self.position != "center":
            vertical, horizontal = self.position.split("_")
            top, bottom = (0, top + bottom) if vertical == "top" else (top + bottom, 0)
            left, right = (0, left + right) if horizontal == "left" else (left + right, 0)
        return {"pad": (left, top, right, bottom)}


class Pad(_Padding):
    """Pad by ``padding`` pixels: one int, ``(left/right, top/bottom)`` or ``(left, top, right, bottom)`` (torchvision)."""

    MODES = ("constant", "edge", "reflect", "symmetric")

    def __init__(
        self, padding: int | Sequence[int], fill: float | Sequence[float] = 0, padding_mode: str = "constant"
    ) -> None:
        values = (
            [padding]
            if isinstance(padding, int)
            else list(padding)
            if isinstance(padding, Sequence)
            else None
        )
        if (
            not values
            or len(values) not in (1, 2, 4)
            or not all(is_int(v) and 0 <= v <= MAX_SIDE for v in values)
        ):
            raise TransformSpecError(
                f"padding: expected an int >= 0, (left/right, top/bottom) or (left, top, right, bottom), each at "
                f"most {MAX_SIDE} (2**15, the largest image side supported), got {padding!r}"
            )
        if len(values) == 1:
            values = values * 4
        elif len(values) == 2:
            values = values * 2
        self.padding = tuple(values)
        self.fill = as_fill(fill)
        self.padding_mode = check_choice("padding_mode", padding_mode, self.MODES, error=TransformSpecError)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"pad": self.padding}


class RandomIoUCrop(_Cropping):
    """SSD's crop (torchvision's ``RandomIoUCrop``); boxes whose centre leaves the crop are removed.

    The candidate crops are drawn and checked at once (numpy), not one by one.
    A drawn option of 1.0 (or more), or an image without boxes, leaves the
    sample unchanged.
    """

    def __init__(
        self,
        min_scale: float = 0.3,
        max_scale: float = 1.0,
        min_aspect_ratio: float = 0.5,
        max_aspect_ratio: float = 2.0,
        sampler_options: Sequence[float] | None = None,
        trials: int = 40,
    ) -> None:
        self.min_scale, self.max_scale = as_range(
            (min_scale, max_scale), "min_scale, max_scale", low=0.0, high=1.0
        )
        self.min_aspect_ratio, self.max_aspect_ratio = as_range(
            (min_aspect_ratio, max_aspect_ratio), "min_aspect_ratio, max_aspect_ratio", low=0.0
        )
        options = (
            [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]
            if sampler_options is None
            else list(sampler_options)
            if isinstance(sampler_options, Sequence) and not isinstance(sampler_options, str)
            else []
        )
        if not options or not all(is_finite_number(v) for v in options):
            raise TransformSpecError(
                f"sampler_options: expected a list of minimum IoU values, got {sampler_options!r}"
            )
        self.sampler_options = [float(v) for v in options]
        self.trials = as_positive_int(trials, "trials", high=MAX_TRIALS)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any] | None:
        drawn = geometry.sample_iou_crop(
            rng,
            height,
            width,
            boxes,
            self.min_scale,
            self.max_scale,
            self.min_aspect_ratio,
            self.max_aspect_ratio,
            self.sampler_options,
            self.trials,
        )
        if drawn is None:
            return None
        crop, centre_inside = drawn
        return {"crop": crop, "removed": ~centre_inside}

    def removed_boxes(self, params: dict[str, Any]) -> np.ndarray | None:
        return params["removed"]


class _AffineWarp(_Geometric):
    """A transform drawn as torchvision affine arguments (angle, translate, scale, shear)."""

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        mode = InterpolationMode.NEAREST if mask else _MODES[self.interpolation]
        return functional.affine_image(
            tensor,
            angle=params["angle"],
            translate=list(params["translate"]),
            scale=params["scale"],
            shear=list(params["shear"]),
            interpolation=mode,
            fill=self._fill(mask),
        )

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        return geometry.warp_boxes(boxes, self._matrix(params, height, width))

    def _matrix(self, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        return geometry.affine_matrix(
            params["angle"], params["translate"], params["scale"], params["shear"], (width / 2, height / 2)
        )

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return self._warp_numpy(image, params, self.interpolation, self.fill)

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _channels_first(self._warp_numpy(_channels_last(masks), params, "nearest", 0.0))

    def _warp_numpy(
        self, image: np.ndarray, params: dict[str, Any], interpolation: str, fill: Any
    ) -> np.ndarray:
        import cv2

        height, width = image.shape[:2]
        # Box coordinates put pixel i between i and i + 1; OpenCV puts its centre at i.
        matrix = geometry.pixel_centre_matrix(self._matrix(params, height, width))
        value = _border_value(fill, image.shape[-1])
        return _opencv(
            image,
            lambda part: cv2.warpAffine(
                part,
                matrix[:2],
                (width, height),
                flags=_CV2[interpolation],
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=value,
            ),
        )


class Affine(_AffineWarp):
    """Random rotation, translation, scale and shear (torchvision's ``RandomAffine``; angles clockwise).

    ``interpolation`` defaults to ``"bilinear"``, as albumentations' ``Affine`` does and both backends
    do here, where torchvision v2's ``RandomAffine`` defaults to nearest neighbour: smooth edges for
    training images. Pass ``interpolation="nearest"`` to get v2's default pixels exactly. Masks are
    always warped with nearest neighbour, whatever the setting.
    """

    def __init__(
        self,
        degrees: float | Sequence[float] = 0.0,
        translate: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
        shear: float | Sequence[float] | None = None,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0,
    ) -> None:
        self.degrees = as_range(degrees, "degrees")
        if translate is not None:
            if not (isinstance(translate, Sequence) and len(translate) == 2):
                raise TransformSpecError(
                    f"translate: expected (max x fraction, max y fraction), got {translate!r}"
                )
            translate = tuple(as_number(v, "translate", 0.0, 1.0) for v in translate)
        self.translate = translate
        self.scale = None if scale is None else as_range(scale, "scale", low=1e-6)
        self.shear = _shear_ranges(shear)
        self.interpolation = as_interpolation(interpolation)
        self.fill = as_fill(fill)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        angle = float(rng.uniform(*self.degrees))
        translate = (0, 0)
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * width, self.translate[1] * height
            translate = (round(rng.uniform(-max_dx, max_dx)), round(rng.uniform(-max_dy, max_dy)))
        scale = 1.0 if self.scale is None else float(rng.uniform(*self.scale))
        shear_x = float(rng.uniform(*self.shear[0])) if self.shear else 0.0
        shear_y = float(rng.uniform(*self.shear[1])) if self.shear else 0.0
        return {"angle": angle, "translate": translate, "scale": scale, "shear": (shear_x, shear_y)}


def _shear_ranges(shear: Any) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """torchvision's shear forms: a number or (min, max) for x only; (x min, x max, y min, y max)."""
    if shear is None:
        return None
    if isinstance(shear, Sequence) and len(shear) == 4:
        return as_range(shear[:2], "shear"), as_range(shear[2:], "shear")
    return as_range(shear, "shear"), (0.0, 0.0)


class Rotate(_AffineWarp):
    """Random rotation by an angle from ``degrees`` about the centre (torchvision's ``RandomRotation``; counter-clockwise).

    ``interpolation`` defaults to ``"bilinear"``, as albumentations' ``Rotate`` does and both backends
    do here, where torchvision v2's ``RandomRotation`` defaults to nearest neighbour: smooth edges for
    training images. Pass ``interpolation="nearest"`` to get v2's default pixels exactly. Masks are
    always rotated with nearest neighbour, whatever the setting.
    """

    def __init__(
        self,
        degrees: float | Sequence[float],
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0,
    ) -> None:
        self.degrees = as_range(degrees, "degrees")
        self.interpolation = as_interpolation(interpolation)
        self.fill = as_fill(fill)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        # RandomRotation turns counter-clockwise, the affine convention clockwise.
        return {
            "angle": -float(rng.uniform(*self.degrees)),
            "translate": (0, 0),
            "scale": 1.0,
            "shear": (0.0, 0.0),
        }


class Perspective(_Geometric):
    """Random perspective: each corner moves inwards by up to ``distortion_scale`` (torchvision's ``RandomPerspective``)."""

    default_p = 0.5

    def __init__(
        self,
        distortion_scale: float = 0.5,
        interpolation: str = "bilinear",
        fill: float | Sequence[float] = 0,
    ) -> None:
        self.distortion_scale = as_number(distortion_scale, "distortion_scale", 0.0, 1.0)
        self.interpolation = as_interpolation(interpolation)
        self.fill = as_fill(fill)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        start, end = geometry.sample_perspective(rng, height, width, self.distortion_scale)
        return {"start": start, "end": end, "matrix": geometry.homography(np.asarray(start), np.asarray(end))}

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        mode = InterpolationMode.NEAREST if mask else _MODES[self.interpolation]
        return functional.perspective_image(
            tensor, params["start"], params["end"], interpolation=mode, fill=self._fill(mask)
        )

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        return geometry.warp_boxes(boxes, params["matrix"])

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return self._warp_numpy(image, params, self.interpolation, self.fill)

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _channels_first(self._warp_numpy(_channels_last(masks), params, "nearest", 0.0))

    def _warp_numpy(
        self, image: np.ndarray, params: dict[str, Any], interpolation: str, fill: Any
    ) -> np.ndarray:
        import cv2

        height, width = image.shape[:2]
        matrix = geometry.pixel_centre_matrix(params["matrix"])
        value = _border_value(fill, image.shape[-1])
        return _opencv(
            image,
            lambda part: cv2.warpPerspective(
                part,
                matrix,
                (width, height),
                flags=_CV2[interpolation],
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=value,
            ),
        )


_CV2 = {name: flag for name, (_, flag) in INTERPOLATION_TABLE.items()}
# torchvision's padding modes as OpenCV borders: "reflect" skips the edge pixel, "symmetric" repeats it.
_CV2_BORDERS = {"constant": 0, "edge": 1, "reflect": 4, "symmetric": 2}
# OpenCV takes at most 512 channels in one call (CV_CN_MAX).
_CV2_MAX_CHANNELS = 512


def _border_value(fill: float | list[float], channels: int) -> tuple[float, ...]:
    values = fill if isinstance(fill, list) else [fill] * min(channels, 4)
    return tuple(float(value) for value in values[:4])


def _opencv(image: np.ndarray, operation: Any) -> np.ndarray:
    """``operation`` on an ``H x W x C`` array, keeping a channel axis OpenCV drops for one channel."""
    parts = [
        np.ascontiguousarray(image[..., start : start + _CV2_MAX_CHANNELS])
        for start in range(0, image.shape[-1], _CV2_MAX_CHANNELS)
    ]
    results = [operation(part) for part in parts]
    results = [result[..., None] if result.ndim == 2 else result for result in results]
    return results[0] if len(results) == 1 else np.concatenate(results, axis=-1)


def _channels_last(masks: np.ndarray) -> np.ndarray:
    return np.moveaxis(masks, 0, -1)


def _channels_first(masks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(masks, -1, 0))


class ColorJitter(BoxTransform):
    """Random brightness, contrast, saturation and hue, applied in random order (torchvision's ``ColorJitter``)."""

    def __init__(
        self,
        brightness: float | Sequence[float] = 0.0,
        contrast: float | Sequence[float] = 0.0,
        saturation: float | Sequence[float] = 0.0,
        hue: float | Sequence[float] = 0.0,
    ) -> None:
        self.brightness = as_range(brightness, "brightness", center=1.0, low=0.0)
        self.contrast = as_range(contrast, "contrast", center=1.0, low=0.0)
        self.saturation = as_range(saturation, "saturation", center=1.0, low=0.0)
        self.hue = as_range(hue, "hue", low=-0.5, high=0.5)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        factors = [
            float(rng.uniform(*bounds))
            for bounds in (self.brightness, self.contrast, self.saturation, self.hue)
        ]
        return {"order": rng.permutation(4).tolist(), "factors": factors}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        kernels = (
            functional.adjust_brightness_image,
            functional.adjust_contrast_image,
            functional.adjust_saturation_image,
            functional.adjust_hue_image,
        )
        neutral = (1.0, 1.0, 1.0, 0.0)
        for index in params["order"]:
            factor = params["factors"][index]
            if factor != neutral[index]:
                image = kernels[index](image, factor)
        return image


class RandomGrayscale(BoxTransform):
    """Grey the image, keeping its channel count (torchvision's ``RandomGrayscale``)."""

    default_p = 0.1

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return functional.rgb_to_grayscale_image(image, num_output_channels=image.shape[-3])


class GaussianBlur(BoxTransform):
    """Blur with a Gaussian kernel of ``kernel_size`` and a sigma drawn from ``sigma`` (torchvision's ``GaussianBlur``)."""

    def __init__(self, kernel_size: int | Sequence[int], sigma: float | Sequence[float] = (0.1, 2.0)) -> None:
        sizes = (
            (kernel_size, kernel_size)
            if isinstance(kernel_size, int)
            else tuple(kernel_size)
            if isinstance(kernel_size, Sequence) and not isinstance(kernel_size, str)
            else ()
        )
        if len(sizes) != 2 or not all(is_int(v) and 0 < v <= MAX_KERNEL_SIZE and v % 2 == 1 for v in sizes):
            raise TransformSpecError(
                f"kernel_size: expected an odd positive int or two, each at most {MAX_KERNEL_SIZE}, "
                f"got {kernel_size!r}"
            )
        self.kernel_size = sizes
        if isinstance(sigma, (int, float)):
            sigma = (sigma, sigma)  # torchvision: one number is a fixed sigma, not a range around 0
        self.sigma = as_range(sigma, "sigma", low=1e-6)

    def check(self, height: int, width: int) -> None:
        # The kernel reflects the border: half of it must fit inside the image.
        kernel_height, kernel_width = self.kernel_size
        if kernel_height // 2 >= height or kernel_width // 2 >= width:
            raise TransformSpecError(
                f"GaussianBlur: kernel_size {kernel_height}x{kernel_width} does not fit the {height}x{width} image "
                "(height x width); expected a kernel side below twice the image side: choose a smaller "
                "kernel_size, or resize first"
            )

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"sigma": float(rng.uniform(*self.sigma))}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return functional.gaussian_blur_image(
            image, list(self.kernel_size), [params["sigma"], params["sigma"]]
        )


class GaussianNoise(BoxTransform):
    """Add Gaussian noise of ``mean`` and ``sigma`` on the [0, 1] scale (``uint8`` images: 255 times that, rounded)."""

    def __init__(self, mean: float = 0.0, sigma: float = 0.1, clip: bool = True) -> None:
        # On the [0, 1] scale: a mean or sigma beyond 1 saturates every pixel (albumentations refuses it too).
        self.mean = as_number(mean, "mean", -1.0, 1.0)
        self.sigma = as_number(sigma, "sigma", 0.0, 1.0)
        self.clip = bool(clip)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        # Drawn from the pipeline's generator (a seed for torch's), so that the seed decides the noise.
        return {"seed": int(rng.integers(2**63))}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        generator = torch.Generator(device=image.device).manual_seed(params["seed"])
        noise = torch.randn(image.shape, generator=generator, device=image.device)
        if image.dtype == torch.uint8:
            noisy = image.float() + (noise * self.sigma + self.mean) * 255
            return noisy.round_().clamp_(0, 255).to(torch.uint8)
        noisy = image + (noise * self.sigma + self.mean).to(image.dtype)
        return noisy.clamp_(0, 1) if self.clip else noisy


class Normalize(BoxTransform):
    """``(image - mean) / std`` per channel as ``float32``; ``uint8`` images are first scaled to [0, 1].

    The scaling is fused into one multiply-add per pixel (``ToDtype`` then
    ``Normalize`` in torchvision make four passes); albumentations'
    ``Normalize`` has the same semantics. The result is always a new
    contiguous tensor (whatever the input's memory layout): a ``float32``
    image (the caller's own, or a crop that is a view of it) is never changed
    in place.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD) -> None:
        if not (
            isinstance(mean, Sequence) and isinstance(std, Sequence) and len(mean) == len(std) and len(mean)
        ):
            raise TransformSpecError(
                f"mean, std: expected two lists of one number per channel, got {mean!r}, {std!r}"
            )
        self.mean = [as_number(v, "mean") for v in mean]
        self.std = [as_number(v, "std", 1e-12) for v in std]
        self._numpy: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self._torch: dict[tuple[bool, str], tuple[torch.Tensor, torch.Tensor]] = {}

    def _coefficients(self, channels: int, from_uint8: bool) -> tuple[np.ndarray, np.ndarray]:
        """``scale`` and ``shift`` such that ``image * scale + shift`` normalises, one per channel."""
        if channels != len(self.mean):
            raise TransformSpecError(
                f"Normalize: the image has {channels} channels but mean and std give {len(self.mean)}; "
                "give one value per channel"
            )
        if from_uint8 not in self._numpy:
            std, mean = np.asarray(self.std, dtype=np.float64), np.asarray(self.mean, dtype=np.float64)
            scale = 1 / (std * 255) if from_uint8 else 1 / std
            self._numpy[from_uint8] = (scale.astype(np.float32), (-mean / std).astype(np.float32))
        return self._numpy[from_uint8]

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        from_uint8 = image.dtype == torch.uint8
        key = (from_uint8, str(image.device))
        if key not in self._torch:
            scale, shift = self._coefficients(image.shape[-3], from_uint8)
            self._torch[key] = tuple(
                torch.from_numpy(value).to(image.device).view(-1, 1, 1) for value in (scale, shift)
            )
        elif image.shape[-3] != len(self.mean):
            self._coefficients(image.shape[-3], from_uint8)  # raises, naming the channel counts
        scale, shift = self._torch[key]
        # The output is always a new C x H x W contiguous tensor. Broadcasting the per-channel (C, 1, 1)
        # coefficients over a channels-last image (what a resize of a channels-last image returns) takes
        # torch's slow strided path, about ten times the contiguous one on 512x512: the conversion lays
        # the pixels out contiguously in the same pass, and the multiply-add runs on contiguous memory.
        if image.dtype == torch.float32:
            # ``to`` would return the image itself and the in-place ops would change the caller's tensor
            # (or the image a crop is a view of): the multiply allocates the output instead.
            if image.is_contiguous():
                return torch.mul(image, scale).add_(shift)
            return image.clone(memory_format=torch.contiguous_format).mul_(scale).add_(shift)
        # uint8 (and other dtypes): the conversion allocates the output, normalised in place. Measured
        # against one multiply with type promotion, per-channel ``out=`` writes and row-blocked passes on
        # 512x512 images: none is faster than these three vectorised passes.
        return image.to(torch.float32, memory_format=torch.contiguous_format).mul_(scale).add_(shift)

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        scale, shift = self._coefficients(image.shape[-1], image.dtype == np.uint8)
        if image.dtype == np.uint8:
            import cv2

            # A uint8 image has 256 values per channel: one table lookup per pixel (OpenCV's LUT) instead
            # of a conversion and two arithmetic passes over float32.
            table = (np.arange(256, dtype=np.float32)[:, None] * scale + shift).astype(np.float32)
            return cv2.LUT(image, table.reshape(256, 1, -1)).reshape(image.shape)
        out = image.astype(np.float32)
        out *= scale
        out += shift
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {**vars(self), "_numpy": {}, "_torch": {}}


class ToDtype(BoxTransform):
    """Convert to ``dtype`` (``"float32"``, ``"float16"``, ``"float64"``, ``"uint8"``), with ``scale`` between [0, 255] and [0, 1]."""

    DTYPES = ("float32", "float16", "float64", "uint8")

    def __init__(self, dtype: str = "float32", scale: bool = True) -> None:
        self.dtype = check_choice("dtype", dtype, self.DTYPES, error=TransformSpecError)
        self.scale = bool(scale)

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return functional.to_dtype_image(image, getattr(torch, self.dtype), scale=self.scale)

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        target = np.dtype(self.dtype)
        if not self.scale or (image.dtype == np.uint8) == (target == np.uint8):
            return image.astype(target)
        if target == np.uint8:
            return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
        return (image / np.array(255, dtype=target)).astype(target)


#: The common set, by name, in the order the docs list them.
BUILTIN_TRANSFORMS: dict[str, type[BoxTransform]] = {
    "HorizontalFlip": HorizontalFlip,
    "VerticalFlip": VerticalFlip,
    "Resize": Resize,
    "LongestMaxSize": LongestMaxSize,
    "SmallestMaxSize": SmallestMaxSize,
    "PadIfNeeded": PadIfNeeded,
    "Pad": Pad,
    "Crop": Crop,
    "RandomCrop": RandomCrop,
    "CenterCrop": CenterCrop,
    "RandomResizedCrop": RandomResizedCrop,
    "RandomSizedBBoxSafeCrop": RandomSizedBBoxSafeCrop,
    "RandomIoUCrop": RandomIoUCrop,
    "RandomScale": RandomScale,
    "Affine": Affine,
    "Rotate": Rotate,
    "Perspective": Perspective,
    "ColorJitter": ColorJitter,
    "RandomGrayscale": RandomGrayscale,
    "GaussianBlur": GaussianBlur,
    "GaussianNoise": GaussianNoise,
    "Normalize": Normalize,
    "ToDtype": ToDtype,
}


class TorchvisionStep:
    """One transform of a pipeline on the torchvision backend, applied with probability ``probability``."""

    def __init__(self, transform: BoxTransform, probability: float) -> None:
        self.transform = transform
        self.probability = probability

    def run(self, work: Work, rng: np.random.Generator, python_rng: Any) -> None:
        transform = self.transform
        run_transform(
            transform, work, rng, tuple(work.image.shape[-2:]), transform.apply_image, transform.apply_masks
        )


def build_step(definition: Any, parameters: dict[str, Any], probability: float) -> TorchvisionStep:
    """The torchvision backend's step for a registered transform's parameters.

    Raises:
        TransformSpecError: The transform has no torchvision implementation, or refuses a parameter.
    """
    transform = definition.torchvision(**parameters) if definition.torchvision is not None else None
    if transform is None:
        raise TransformSpecError(
            f"not available on the torchvision backend (registered for {definition.backends()} only); "
            "use backend='albumentations' or register a torchvision implementation"
        )
    return TorchvisionStep(transform, probability)


BACKEND = Backend("torchvision", build_step, channels_first=True, plans_at_full_scale=True)
