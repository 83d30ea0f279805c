"""Portable photometric transforms: pixel values change, geometry does not (boxes and masks pass through).

Each is a [`BoxTransform`][visiondata.transforms.BoxTransform] run on torchvision kernels (or plain torch), with an
albumentations builder (or a numpy implementation) so one spec means the same on both backends.

The names and parameters are albumentations 2.0.8's, with its defaults (``p`` included: 0.5), because
these are the names albumentations users write. The meaning is albumentations' too, and the torchvision
backend reproduces it in torch: brightness is added (``brightness_limit`` is a fraction of the largest
value), contrast multiplies around 0, hue shifts are in OpenCV's 8-bit units (180 per turn), grey is
OpenCV's ``0.299 R + 0.587 G + 0.114 B``. Images are ``uint8`` (0..255) or floating point (0..1); the
transforms whose meaning is defined on 256 levels (``Posterize``, ``Equalize``, ``CLAHE``,
``ImageCompression``, ``HueSaturationValue``) round a float image to 256 levels and back, as
albumentations does.

Names added: ``RandomBrightnessContrast``, ``HueSaturationValue``, ``RandomGamma``, ``CLAHE``,
``Sharpen``, ``MotionBlur``, ``MedianBlur``, ``ToGray``, ``ChannelShuffle``, ``Posterize``, ``Solarize``,
``Equalize``, ``ImageCompression``, ``CoarseDropout`` and ``InvertImg``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch.nn import functional as nn_functional
from torchvision.transforms.v2 import functional

from visiondata._arguments import check_choice, check_positive_int, is_finite_number, is_int, refuse
from visiondata.exceptions import MissingDependencyError, TransformSpecError
from visiondata.transforms._base import BoxTransform
from visiondata.transforms._spec import MAX_SIDE, as_number

# -- parameter checks (each raises TransformSpecError naming the parameter, what it expects and what it got)


def _limit(
    value: Any,
    name: str,
    one: Callable[[float], tuple[float, float]],
    low: float = -math.inf,
    high: float = math.inf,
    one_form: str = "",
) -> tuple[float, float]:
    """``(min, max)`` from a pair, or from one number through ``one`` (albumentations' single-number forms)."""
    if is_finite_number(value):
        pair = one(float(value))
    elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        pair = (value[0], value[1])
    else:
        pair = None
    if pair is None or not all(is_finite_number(v) for v in pair) or not low <= pair[0] <= pair[1] <= high:
        form = f" (one number v means {one_form})" if one_form else ""
        raise TransformSpecError(
            f"{name}: expected a number or a (min, max) pair with min <= max within [{low:g}, {high:g}]"
            f"{form}, got {value!r}"
        )
    return float(pair[0]), float(pair[1])


def _int_limit(
    value: Any, name: str, low: int, high: int, one: Callable[[int], tuple[int, int]], odd: bool = False
) -> tuple[int, int]:
    """``(min, max)`` ints from a pair of ints, or from one int through ``one``."""
    pair = one(value) if is_int(value) else value
    if (
        not isinstance(pair, Sequence)
        or isinstance(pair, str)
        or len(pair) != 2
        or not all(is_int(v) and (not odd or v % 2 == 1) for v in pair)
        or not low <= pair[0] <= pair[1] <= high
    ):
        kind = "odd ints" if odd else "ints"
        raise TransformSpecError(
            f"{name}: expected an int or a (min, max) pair of {kind} with {low} <= min <= max <= {high}, "
            f"got {value!r}"
        )
    return int(pair[0]), int(pair[1])


def _choice(value: Any, name: str, allowed: Sequence[Any], own: str = "") -> Any:
    # Compared with their types: True is not 1, and 1 is not True.
    hint = (
        f"for the others use the backend's own transform {own!r} on backend='albumentations'" if own else ""
    )
    return check_choice(name, value, allowed, fix=hint, error=TransformSpecError)


# -- image helpers (C x H x W tensors, uint8 on 0..255 or floating point on 0..1)


def _max_value(image: torch.Tensor) -> float:
    return 255.0 if image.dtype == torch.uint8 else 1.0


def _check_dtype(image: torch.Tensor) -> None:
    if image.dtype != torch.uint8 and not image.dtype.is_floating_point:
        raise TransformSpecError(
            "expected a uint8 (0..255) or floating-point (0..1) image, got "
            f"{str(image.dtype).replace('torch.', '')}; convert it with ToDtype first"
        )


def _finish(result: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A float result on ``like``'s scale back in ``like``'s dtype: rounded and saturated for uint8, clipped for floats."""
    if like.dtype == torch.uint8:
        return result.round_().clamp_(0, 255).to(torch.uint8)
    return result.clamp_(0, 1).to(like.dtype)


def _via_uint8(image: torch.Tensor, operation: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``operation`` (defined on 256 levels) on ``image``: a float image is rounded to 256 levels and back."""
    if image.dtype == torch.uint8:
        return operation(image)
    levels = image.to(torch.float32).mul(255).round_().clamp_(0, 255).to(torch.uint8)
    return operation(levels).to(image.dtype).div_(255)


def _lookup(image: torch.Tensor, tables: torch.Tensor) -> torch.Tensor:
    """Per-channel table lookup on a ``uint8`` image: ``tables`` is ``C x 256`` (or ``1 x 256`` for all)."""
    channels = image.shape[-3]
    flat = image.reshape(channels, -1).long()
    tables = tables.expand(channels, -1)
    return torch.gather(tables, 1, flat).reshape(image.shape)


def _filter2d(image: torch.Tensor, kernel: np.ndarray) -> torch.Tensor:
    """Correlate every channel with ``kernel``, mirroring the border without its edge pixel (OpenCV's ``filter2D``)."""
    weights = torch.from_numpy(np.ascontiguousarray(kernel, dtype=np.float32)).to(image.device)
    kernel_height, kernel_width = weights.shape
    planes = image.to(torch.float32).reshape(-1, 1, *image.shape[-2:])
    pad = (kernel_width // 2, kernel_width // 2, kernel_height // 2, kernel_height // 2)
    planes = nn_functional.pad(planes, pad, mode="reflect")
    result = nn_functional.conv2d(planes, weights[None, None]).reshape(image.shape)
    return _finish(result, image)


def _check_kernel_fits(kernel_size: int, height: int, width: int) -> None:
    # The border is mirrored: half the kernel must fit inside the image.
    if kernel_size // 2 >= min(height, width):
        raise TransformSpecError(
            f"a {kernel_size}x{kernel_size} kernel does not fit the {height}x{width} image (height x "
            "width); expected a kernel side below twice the image side: choose a smaller kernel, or resize first"
        )


def _odd_from_range(rng: np.random.Generator, low: int, high: int) -> int:
    """An odd number drawn uniformly from ``low..high`` (both odd)."""
    return low + 2 * int(rng.integers(0, (high - low) // 2 + 1))


def _numpy_via_torch(transform: BoxTransform, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """``transform.apply_image`` on an ``H x W x C`` array (the albumentations backend's layout)."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    return np.ascontiguousarray(transform.apply_image(tensor, params).permute(1, 2, 0).numpy())


def _import_cv2(name: str) -> Any:
    try:
        import cv2
    except ImportError as error:
        raise MissingDependencyError(
            f"{name} needs OpenCV, which comes with the albumentations extra: install it (pip install "
            f"'.[albumentations]' in a visiondata checkout, or pip install 'albumentations<=2.0.8') ({error})"
        ) from error
    return cv2


def _albumentations() -> Any:
    from visiondata.transforms._albumentations_backend import import_albumentations

    return import_albumentations()


class _Photometric(BoxTransform):
    """A pixel-only transform; albumentations' default probability; its torch code also runs on numpy arrays."""

    default_p: ClassVar[float] = 0.5

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _numpy_via_torch(self, image, params)


# -- the transforms


class RandomBrightnessContrast(_Photometric):
    """Random brightness and contrast: ``alpha * image + beta`` (albumentations' ``RandomBrightnessContrast``).

    ``alpha = 1 + c`` with ``c`` drawn from ``contrast_limit`` (contrast multiplies around 0, as in
    albumentations, not around the mean as torchvision's ``adjust_contrast``); ``beta = b * max`` with ``b``
    drawn from ``brightness_limit`` and ``max`` 255 for ``uint8``, 1 for floats (``brightness_by_max``), or
    ``b`` times the image's mean (``brightness_by_max=False``). Brightness is added, not multiplied as in
    torchvision's ``ColorJitter``. One number ``v`` means ``(-v, v)``.

    Args:
        brightness_limit: Range of ``b``.
        contrast_limit: Range of ``c``.
        brightness_by_max: Scale ``b`` by the dtype's largest value (else by the image's mean).
        ensure_safe_range: Narrow ``alpha`` and ``beta`` so that no pixel saturates (albumentations' rule).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "RandomBrightnessContrast", "brightness_limit": [0.1, 0.1], "contrast_limit": 0, "p": 1}
        >>> BoxPipeline([spec])({"image": torch.tensor([[[0, 100]]], dtype=torch.uint8)})["image"].tolist()
        [[[26, 126]]]
    """

    def __init__(
        self,
        brightness_limit: float | Sequence[float] = (-0.2, 0.2),
        contrast_limit: float | Sequence[float] = (-0.2, 0.2),
        brightness_by_max: bool = True,
        ensure_safe_range: bool = False,
    ) -> None:
        symmetric = lambda v: (-v, v)  # noqa: E731
        self.brightness_limit = _limit(brightness_limit, "brightness_limit", symmetric, -1.0, 1.0, "(-v, v)")
        self.contrast_limit = _limit(contrast_limit, "contrast_limit", symmetric, -1.0, 10.0, "(-v, v)")
        self.brightness_by_max = _choice(brightness_by_max, "brightness_by_max", (True, False))
        self.ensure_safe_range = _choice(ensure_safe_range, "ensure_safe_range", (True, False))

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {
            "alpha": 1.0 + float(rng.uniform(*self.contrast_limit)),
            "beta": float(rng.uniform(*self.brightness_limit)),
        }

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        maximum = _max_value(image)
        alpha, beta = params["alpha"], params["beta"]
        beta = beta * maximum if self.brightness_by_max else beta * float(image.to(torch.float32).mean())
        if self.ensure_safe_range:
            if alpha > 0:
                beta = min(max(beta, 0.0), maximum)
                alpha = min(alpha, (maximum - beta) / maximum)
            else:
                beta = min(beta, maximum)
                alpha = max(alpha, -beta / maximum)
        return _finish(image.to(torch.float32).mul(alpha).add_(beta), image)


class HueSaturationValue(_Photometric):
    """Random shifts of hue, saturation and value in OpenCV's 8-bit HSV (albumentations' ``HueSaturationValue``).

    The image is taken to 8-bit HSV as OpenCV does (hue 0..179, 2 degrees a unit; saturation and value
    0..255); a hue shift drawn from ``hue_shift_limit`` is added modulo 180 (``20`` is 40 degrees), a
    saturation shift from ``sat_shift_limit`` and a value shift from ``val_shift_limit`` are added and
    clipped to 0..255. Grey pixels (saturation 0) stay grey. A one-channel image gets the value shift only.
    One number ``v`` means ``(-v, v)``. torchvision's ``adjust_hue`` takes a fraction of a turn instead:
    ``hue=h`` there is ``hue_shift_limit=180 * h`` here.

    Args:
        hue_shift_limit: Range of the hue shift, in OpenCV units (180 per turn).
        sat_shift_limit: Range of the saturation shift, in levels of 255.
        val_shift_limit: Range of the value shift, in levels of 255.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "HueSaturationValue", "hue_shift_limit": [60, 60], "sat_shift_limit": 0,
        ...         "val_shift_limit": 0, "p": 1}
        >>> red = torch.tensor([[[255]], [[0]], [[0]]], dtype=torch.uint8)
        >>> BoxPipeline([spec])({"image": red})["image"].flatten().tolist()  # 120 degrees on: green
        [0, 255, 0]
    """

    def __init__(
        self,
        hue_shift_limit: float | Sequence[float] = (-20, 20),
        sat_shift_limit: float | Sequence[float] = (-30, 30),
        val_shift_limit: float | Sequence[float] = (-20, 20),
    ) -> None:
        symmetric = lambda v: (-v, v)  # noqa: E731
        self.hue_shift_limit = _limit(hue_shift_limit, "hue_shift_limit", symmetric, -180, 180, "(-v, v)")
        self.sat_shift_limit = _limit(sat_shift_limit, "sat_shift_limit", symmetric, -255, 255, "(-v, v)")
        self.val_shift_limit = _limit(val_shift_limit, "val_shift_limit", symmetric, -255, 255, "(-v, v)")

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {
            "hue": float(rng.uniform(*self.hue_shift_limit)),
            "sat": float(rng.uniform(*self.sat_shift_limit)),
            "val": float(rng.uniform(*self.val_shift_limit)),
        }

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        channels = image.shape[-3]
        if channels not in (1, 3):
            raise TransformSpecError(
                f"expected an RGB (3-channel) or grey (1-channel) image, got {channels} channels"
            )
        hue, sat, val = params["hue"], params["sat"], params["val"]
        if hue == 0 and sat == 0 and val == 0:
            return image
        return _via_uint8(image, lambda levels: _shift_hsv(levels, hue, sat, val))


def _shift_hsv(image: torch.Tensor, hue: float, sat: float, val: float) -> torch.Tensor:
    """OpenCV's 8-bit RGB -> HSV, the shifts, and back, in torch (``uint8`` in and out)."""
    if image.shape[-3] == 1:
        return image.to(torch.float32).add_(round(val)).clamp_(0, 255).to(torch.uint8)
    rgb = image.to(torch.float32)
    red, green, blue = rgb.unbind(-3)
    value = rgb.amax(-3)
    delta = value - rgb.amin(-3)
    safe_delta = torch.where(delta > 0, delta, torch.ones_like(delta))
    saturation = torch.where(value > 0, delta * 255 / torch.where(value > 0, value, 1), 0).round_()
    degrees = torch.where(
        value == red,
        60 * (green - blue) / safe_delta,
        torch.where(
            value == green, 120 + 60 * (blue - red) / safe_delta, 240 + 60 * (red - green) / safe_delta
        ),
    )
    degrees = torch.where(delta > 0, degrees, 0).remainder_(360)
    # 8-bit hue: half degrees, rounded, 0..179 (OpenCV).
    hue_units = (degrees / 2).round_().remainder_(180)
    if hue != 0:
        # albumentations' table: (h + shift) mod 180, truncated to an integer.
        hue_units = (hue_units + hue).remainder_(180).floor_()
    if sat != 0:
        grey = saturation == 0
        saturation = saturation.add_(round(sat)).clamp_(0, 255).masked_fill_(grey, 0)
    if val != 0:
        value = value.add(round(val)).clamp_(0, 255)
    return _hsv_to_rgb(hue_units * 2, saturation / 255, value / 255)


def _hsv_to_rgb(degrees: torch.Tensor, saturation: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    sector = degrees / 60
    index = sector.floor().remainder_(6)
    fraction = sector - sector.floor()
    p = value * (1 - saturation)
    q = value * (1 - saturation * fraction)
    t = value * (1 - saturation * (1 - fraction))
    choices = [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value), (value, p, q)]
    channels = []
    for channel in range(3):
        result = torch.zeros_like(value)
        for sector_index, triple in enumerate(choices):
            result = torch.where(index == sector_index, triple[channel], result)
        channels.append(result)
    return torch.stack(channels, -3).mul_(255).round_().clamp_(0, 255).to(torch.uint8)


class RandomGamma(_Photometric):
    """``max * (image / max) ** gamma`` with ``gamma`` drawn from ``gamma_limit / 100`` (albumentations' ``RandomGamma``).

    torchvision's ``adjust_gamma`` with ``gain=1`` is the same operation. One number ``v`` means ``(1, v)``
    (albumentations' form).

    Args:
        gamma_limit: Range of ``100 * gamma`` (``(80, 120)``: gamma 0.8 to 1.2).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "RandomGamma", "gamma_limit": [200, 200], "p": 1}
        >>> BoxPipeline([spec])({"image": torch.tensor([[[0.5]]])})["image"].tolist()
        [[[0.25]]]
    """

    def __init__(self, gamma_limit: float | Sequence[float] = (80, 120)) -> None:
        self.gamma_limit = _limit(gamma_limit, "gamma_limit", lambda v: (1.0, v), 1e-3, 1e4, "(1, v)")

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"gamma": float(rng.uniform(*self.gamma_limit)) / 100}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        maximum = _max_value(image)
        return _finish(image.to(torch.float32).div(maximum).pow_(params["gamma"]).mul_(maximum), image)


class CLAHE(_Photometric):
    """Contrast-limited adaptive histogram equalisation (albumentations' ``CLAHE``, OpenCV's kernel on both backends).

    An RGB image is equalised on the lightness of its Lab form, a grey one directly, with a clip limit drawn
    from ``clip_limit`` and ``tile_grid_size`` tiles. torchvision has no CLAHE kernel: the torchvision
    backend calls the same OpenCV function, so it needs OpenCV (it comes with the albumentations extra;
    without it a [`MissingDependencyError`][visiondata.exceptions.MissingDependencyError] says what to
    install). One number ``v`` means ``(1, v)`` (albumentations' form).

    Args:
        clip_limit: Range of the contrast limit.
        tile_grid_size: ``(rows, columns)`` of tiles.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> out = BoxPipeline([{"name": "CLAHE", "p": 1}])({"image": torch.zeros(3, 8, 8, dtype=torch.uint8)})
        >>> out["image"].shape
        torch.Size([3, 8, 8])
    """

    def __init__(
        self, clip_limit: float | Sequence[float] = 4.0, tile_grid_size: Sequence[int] = (8, 8)
    ) -> None:
        self.clip_limit = _limit(clip_limit, "clip_limit", lambda v: (1.0, v), 0.0, 1e4, "(1, v)")
        if not (
            isinstance(tile_grid_size, Sequence)
            and len(tile_grid_size) == 2
            and all(is_int(v) and 0 < v <= 1024 for v in tile_grid_size)
        ):
            raise TransformSpecError(
                f"tile_grid_size: expected (rows, columns), two positive ints at most 1024, got {tile_grid_size!r}"
            )
        self.tile_grid_size = (int(tile_grid_size[0]), int(tile_grid_size[1]))

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"clip_limit": float(rng.uniform(*self.clip_limit))}

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        cv2 = _import_cv2("CLAHE")
        if image.shape[-1] not in (1, 3):
            raise TransformSpecError(
                f"expected an RGB (3-channel) or grey (1-channel) image, got {image.shape[-1]} channels"
            )
        floating = image.dtype != np.uint8
        levels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8) if floating else image
        clahe = cv2.createCLAHE(clipLimit=params["clip_limit"], tileGridSize=self.tile_grid_size)
        if levels.shape[-1] == 1:
            result = clahe.apply(np.ascontiguousarray(levels[..., 0]))[..., None]
        else:
            lab = cv2.cvtColor(np.ascontiguousarray(levels), cv2.COLOR_RGB2LAB)
            lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
            result = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        return (result / np.float32(255)).astype(image.dtype) if floating else result

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        array = np.ascontiguousarray(image.detach().cpu().permute(1, 2, 0).numpy())
        result = torch.from_numpy(self.apply_image_numpy(array, params)).permute(2, 0, 1)
        return result.to(image.device).contiguous()


class Sharpen(_Photometric):
    """Sharpen, blended with the original by ``alpha`` (albumentations' ``Sharpen``).

    ``method="kernel"``: correlate with ``(1 - alpha) * identity + alpha * L``, ``L`` the 3 x 3 kernel of
    -1 around ``8 + lightness``, mirroring the border (OpenCV's ``filter2D``); ``alpha`` and ``lightness``
    drawn from their ranges. ``method="gaussian"``: the unsharp mask ``image + alpha * (image -
    blurred)``, blurred by a Gaussian of ``kernel_size`` and ``sigma``. torchvision's ``adjust_sharpness``
    is another operation (a blend with a smoothed image); name it ``torchvision.RandomAdjustSharpness``.

    Args:
        alpha: Range of the blend with the sharpened image, within [0, 1].
        lightness: Range of the kernel's lightness (``method="kernel"``).
        method: ``"kernel"`` or ``"gaussian"``.
        kernel_size: Odd Gaussian kernel side (``method="gaussian"``).
        sigma: Gaussian sigma (``method="gaussian"``).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> flat = torch.full((1, 4, 4), 100, dtype=torch.uint8)
        >>> spec = {"name": "Sharpen", "alpha": [1, 1], "lightness": [1, 1], "p": 1}
        >>> bool((BoxPipeline([spec])({"image": flat})["image"] == 100).all())  # a flat image stays flat
        True
    """

    def __init__(
        self,
        alpha: Sequence[float] = (0.2, 0.5),
        lightness: Sequence[float] = (0.5, 1.0),
        method: str = "kernel",
        kernel_size: int = 5,
        sigma: float = 1.0,
    ) -> None:
        self.alpha = _limit(alpha, "alpha", lambda v: (v, v), 0.0, 1.0, "(v, v)")
        self.lightness = _limit(lightness, "lightness", lambda v: (v, v), 0.0, 1e3, "(v, v)")
        self.method = _choice(method, "method", ("kernel", "gaussian"))
        if not (is_int(kernel_size) and kernel_size % 2 == 1 and 0 < kernel_size <= 1023):
            refuse("kernel_size", "an odd int in 1..1023", kernel_size, error=TransformSpecError)
        self.kernel_size = kernel_size
        self.sigma = as_number(sigma, "sigma", 1e-6, 1e3)

    def check(self, height: int, width: int) -> None:
        _check_kernel_fits(3 if self.method == "kernel" else self.kernel_size, height, width)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        alpha = float(rng.uniform(*self.alpha))
        if self.method == "gaussian":
            return {"alpha": alpha}
        lightness = float(rng.uniform(*self.lightness))
        identity = np.zeros((3, 3), dtype=np.float32)
        identity[1, 1] = 1
        effect = np.full((3, 3), -1, dtype=np.float32)
        effect[1, 1] = 8 + lightness
        return {"alpha": alpha, "kernel": (1 - alpha) * identity + alpha * effect}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        if self.method == "kernel":
            return _filter2d(image, params["kernel"])
        original = image.to(torch.float32)
        blurred = functional.gaussian_blur_image(original, [self.kernel_size] * 2, [self.sigma] * 2)
        if image.dtype == torch.uint8:
            blurred = blurred.round_()  # OpenCV blurs uint8 to uint8 before the difference
        return _finish(original + params["alpha"] * (original - blurred), image)


class MotionBlur(_Photometric):
    """Blur along a random line (albumentations' ``MotionBlur``, its kernel drawn from the pipeline's stream).

    The kernel side is an odd number drawn from ``blur_limit``; the line crosses the kernel's centre at an
    angle drawn from ``angle_range`` (degrees), its extent biased forwards or backwards by a direction
    drawn from ``direction_range`` (-1: backwards only, 0: symmetric, 1: forwards only), and shifted off
    centre by up to a quarter of the side when ``allow_shifted``. The image is correlated with the
    normalised line, mirroring the border. One int ``v`` means ``(3, v)``.

    Args:
        blur_limit: Range of the kernel side (odd ints >= 3).
        allow_shifted: Let the line move off the kernel's centre.
        angle_range: Range of the line's angle, in degrees.
        direction_range: Range of the direction bias, within [-1, 1].

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.zeros(1, 5, 5, dtype=torch.uint8)
        >>> image[0, 2, 2] = 210
        >>> spec = {"name": "MotionBlur", "blur_limit": [3, 3], "angle_range": [0, 0], "direction_range": [0, 0],
        ...         "allow_shifted": False, "p": 1}
        >>> BoxPipeline([spec])({"image": image})["image"][0, 2].tolist()  # a horizontal line of three
        [0, 70, 70, 70, 0]
    """

    def __init__(
        self,
        blur_limit: int | Sequence[int] = (3, 7),
        allow_shifted: bool = True,
        angle_range: Sequence[float] = (0, 360),
        direction_range: Sequence[float] = (-1.0, 1.0),
    ) -> None:
        self.blur_limit = _int_limit(blur_limit, "blur_limit", 3, 1023, lambda v: (3, v), odd=True)
        self.allow_shifted = _choice(allow_shifted, "allow_shifted", (True, False))
        self.angle_range = _limit(angle_range, "angle_range", lambda v: (v, v), 0.0, 360.0, "(v, v)")
        self.direction_range = _limit(
            direction_range, "direction_range", lambda v: (v, v), -1.0, 1.0, "(v, v)"
        )

    def check(self, height: int, width: int) -> None:
        _check_kernel_fits(self.blur_limit[1], height, width)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        size = _odd_from_range(rng, *self.blur_limit)
        angle = float(rng.uniform(*self.angle_range))
        direction = float(rng.uniform(*self.direction_range))
        kernel = _motion_kernel(size, angle, direction, self.allow_shifted, rng)
        return {"kernel": kernel / kernel.sum()}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        return _filter2d(image, params["kernel"])


def _motion_kernel(
    size: int, angle: float, direction: float, shifted: bool, rng: np.random.Generator
) -> np.ndarray:
    """albumentations' line kernel (``create_motion_kernel``), its shift drawn from ``rng``."""
    kernel = np.zeros((size, size), dtype=np.float32)
    center = half = size // 2
    radians = np.deg2rad(angle)
    start, end = float(-half), float(half)
    if direction < 0:
        end = half * (1 + direction)
    elif direction > 0:
        start = -half * (1 - direction)
    steps = np.linspace(start, end, size)
    x = center + np.cos(radians) * steps
    y = center + np.sin(radians) * steps
    if shifted:
        x += rng.uniform(-1, 1) * half / 2
        y += rng.uniform(-1, 1) * half / 2
    x = np.clip(np.round(x), 0, size - 1).astype(int)
    y = np.clip(np.round(y), 0, size - 1).astype(int)
    kernel[y, x] = 1
    if not kernel.any():
        kernel[center, center] = 1
    return kernel


#: Elements of one median window block: the unfolded image is processed in row bands of at most this size.
_MEDIAN_BLOCK = 1 << 24


class MedianBlur(_Photometric):
    """Median of each ``k x k`` window, ``k`` an odd side drawn from ``blur_limit`` (albumentations' ``MedianBlur``).

    The border repeats the edge pixels (OpenCV's ``medianBlur``). torchvision has no median kernel: the
    torchvision backend takes the median of unfolded windows, in bands of rows so that memory stays
    bounded. One int ``v`` means ``(3, v)``.

    Args:
        blur_limit: Range of the window side (odd ints, 3 to 255).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.zeros(1, 3, 3, dtype=torch.uint8)
        >>> image[0, 1, 1] = 255  # a lone bright pixel is noise: the median removes it
        >>> int(BoxPipeline([{"name": "MedianBlur", "blur_limit": 3, "p": 1}])({"image": image})["image"].max())
        0
    """

    def __init__(self, blur_limit: int | Sequence[int] = (3, 7)) -> None:
        self.blur_limit = _int_limit(blur_limit, "blur_limit", 3, 255, lambda v: (3, v), odd=True)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"size": _odd_from_range(rng, *self.blur_limit)}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        size = params["size"]
        half = size // 2
        channels, height, width = image.shape[-3:]
        work = image if image.dtype == torch.uint8 else image.to(torch.float32)
        padded = nn_functional.pad(
            work.reshape(channels, 1, height, width).to(torch.float32),
            (half, half, half, half),
            mode="replicate",
        ).to(work.dtype)
        band = max(1, _MEDIAN_BLOCK // max(1, channels * width * size * size))
        rows = []
        for top in range(0, height, band):
            bottom = min(height, top + band)
            windows = padded[:, :, top : bottom + 2 * half].unfold(2, size, 1).unfold(3, size, 1)
            rows.append(windows.reshape(*windows.shape[:4], -1).median(dim=-1).values)
        return torch.cat(rows, dim=2).reshape(image.shape).to(image.dtype)


_GRAY_METHODS = ("weighted_average", "average", "max", "desaturation")


class ToGray(_Photometric):
    """Grey the image into ``num_output_channels`` equal channels (albumentations' ``ToGray``).

    ``method``: ``"weighted_average"`` is OpenCV's ``0.299 R + 0.587 G + 0.114 B`` (an RGB image;
    torchvision's ``rgb_to_grayscale`` uses 0.2989 for red, one level apart at most), ``"average"`` the
    mean of the channels, ``"max"`` their maximum, ``"desaturation"`` the mean of their maximum and minimum.
    A one-channel image is already grey. albumentations' ``"from_lab"`` and ``"pca"`` are not portable: name
    ``albumentations.ToGray`` for them.

    Args:
        num_output_channels: Channels of the result (3 keeps an RGB layout).
        method: One of ``"weighted_average"``, ``"average"``, ``"max"``, ``"desaturation"``.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.tensor([[[255]], [[0]], [[0]]], dtype=torch.uint8)
        >>> BoxPipeline([{"name": "ToGray", "p": 1}])({"image": image})["image"].flatten().tolist()
        [76, 76, 76]
    """

    def __init__(self, num_output_channels: int = 3, method: str = "weighted_average") -> None:
        self.num_output_channels = check_positive_int(
            "num_output_channels",
            num_output_channels,
            maximum=512,
            expected="a positive int at most 512",
            error=TransformSpecError,
        )
        self.method = _choice(method, "method", _GRAY_METHODS, own="albumentations.ToGray")

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        channels = image.shape[-3]
        if channels == 1:
            grey = image
        elif self.method == "weighted_average":
            if channels != 3:
                raise TransformSpecError(
                    f"method 'weighted_average' expects an RGB (3-channel) image, got {channels} "
                    "channels; use method 'average' or 'max'"
                )
            weights = torch.tensor([0.299, 0.587, 0.114], device=image.device).view(3, 1, 1)
            grey = _finish((image.to(torch.float32) * weights).sum(-3, keepdim=True), image)
        elif self.method == "average":
            grey = _finish(image.to(torch.float32).mean(-3, keepdim=True), image)
        elif self.method == "max":
            grey = image.amax(-3, keepdim=True)
        else:
            floating = image.to(torch.float32)
            grey = _finish((floating.amax(-3, keepdim=True) + floating.amin(-3, keepdim=True)) / 2, image)
        return grey.expand(*grey.shape[:-3], self.num_output_channels, *grey.shape[-2:]).contiguous()


class ChannelShuffle(_Photometric):
    """Reorder the channels by a random permutation (albumentations' ``ChannelShuffle``).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.tensor([[[1]], [[2]], [[3]]], dtype=torch.uint8)
        >>> sorted(BoxPipeline([{"name": "ChannelShuffle", "p": 1}])({"image": image})["image"].flatten().tolist())
        [1, 2, 3]
    """

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        # The channel count is not known here: a seed for the permutation, drawn from the pipeline's stream.
        return {"seed": int(rng.integers(2**63))}

    def _order(self, channels: int, params: dict[str, Any]) -> list[int]:
        return np.random.default_rng(params["seed"]).permutation(channels).tolist()

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return image[..., self._order(image.shape[-3], params), :, :]

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return np.ascontiguousarray(image[..., self._order(image.shape[-1], params)])


class Posterize(_Photometric):
    """Keep the ``num_bits`` highest bits of each value (albumentations' ``Posterize``; torchvision's ``posterize``).

    ``num_bits`` is an int or a ``(min, max)`` range to draw from, within 1..8 (8 keeps the image). A float
    image is rounded to 256 levels first.

    Args:
        num_bits: Bits to keep.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.tensor([[[214]]], dtype=torch.uint8)
        >>> BoxPipeline([{"name": "Posterize", "num_bits": 3, "p": 1}])({"image": image})["image"].tolist()
        [[[192]]]
    """

    def __init__(self, num_bits: int | Sequence[int] = 4) -> None:
        self.num_bits = _int_limit(num_bits, "num_bits", 1, 8, lambda v: (v, v))

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        low, high = self.num_bits
        return {"bits": int(rng.integers(low, high + 1))}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        return _via_uint8(image, lambda levels: functional.posterize_image(levels, params["bits"]))


class Solarize(_Photometric):
    """Invert every value at or above a threshold (albumentations' ``Solarize``; torchvision's ``solarize``).

    The threshold is drawn from ``threshold_range`` on the [0, 1] scale (times 255 for ``uint8`` images;
    torchvision's ``RandomSolarize`` takes it on the image's own scale).

    Args:
        threshold_range: Range of the threshold, within [0, 1].

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.tensor([[[10, 200]]], dtype=torch.uint8)
        >>> BoxPipeline([{"name": "Solarize", "p": 1}])({"image": image})["image"].tolist()
        [[[10, 55]]]
    """

    def __init__(self, threshold_range: Sequence[float] = (0.5, 0.5)) -> None:
        self.threshold_range = _limit(
            threshold_range, "threshold_range", lambda v: (v, v), 0.0, 1.0, "(v, v)"
        )

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        return {"threshold": float(rng.uniform(*self.threshold_range))}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        maximum = _max_value(image)
        return torch.where(image >= params["threshold"] * maximum, (maximum - image).to(image.dtype), image)


class Equalize(_Photometric):
    """Equalise the histogram of each channel (albumentations' ``Equalize``).

    ``mode="cv"`` is OpenCV's ``equalizeHist``; ``mode="pil"`` PIL's ``ImageOps.equalize`` as
    albumentations computes it (torchvision's ``equalize`` is a third variant, about 10 levels
    apart on a photo: name ``torchvision.RandomEqualize`` for it). Each channel is equalised on its
    own (``by_channels=True``); albumentations' luma-only form (``by_channels=False``) and its ``mask`` are
    not portable: name ``albumentations.Equalize`` for them. A float image is rounded to 256 levels first.

    Args:
        mode: ``"cv"`` or ``"pil"``.
        by_channels: Must be ``True`` (see above).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> image = torch.tensor([[[100, 100, 110, 120]]], dtype=torch.uint8)
        >>> BoxPipeline([{"name": "Equalize", "p": 1}])({"image": image})["image"].tolist()
        [[[0, 0, 128, 255]]]
    """

    def __init__(self, mode: str = "cv", by_channels: bool = True) -> None:
        self.mode = _choice(mode, "mode", ("cv", "pil"))
        self.by_channels = _choice(by_channels, "by_channels", (True,), own="albumentations.Equalize")

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        return _via_uint8(image, self._equalize)

    def _equalize(self, image: torch.Tensor) -> torch.Tensor:
        channels = image.shape[-3]
        flat = image.reshape(channels, -1).long()
        histogram = torch.zeros(channels, 256, dtype=torch.float64, device=image.device)
        histogram.scatter_add_(1, flat, torch.ones_like(flat, dtype=torch.float64))
        cumulative = histogram.cumsum(1)
        identity = torch.arange(256, dtype=torch.float64, device=image.device)
        tables = []
        for channel in range(channels):
            counts, running = histogram[channel], cumulative[channel]
            present = torch.nonzero(counts).flatten()
            if self.mode == "cv":
                first = int(present[0])
                total = float(running[-1])
                if total == float(counts[first]):
                    tables.append(identity)
                    continue
                scale = 255.0 / (total - float(counts[first]))
                tables.append(((running - running[first]) * scale).round().clamp(0, 255))
            else:
                step = float(counts[present[:-1]].sum()) // 255 if len(present) > 1 else 0
                if not step:
                    tables.append(identity)
                    continue
                tables.append(torch.floor((running + step // 2) / step).clamp(max=255))
        return _lookup(image, torch.stack(tables).to(torch.uint8))


class ImageCompression(_Photometric):
    """JPEG-compress the image at a quality drawn from ``quality_range`` (albumentations' ``ImageCompression``).

    Both backends encode with torchvision's libjpeg (``functional.jpeg``, what torchvision's ``JPEG`` does), so
    they give the same pixels; albumentations' own class encodes with OpenCV, whose output differs from it
    by several levels on average at low quality (about 8 at quality 40 on a noisy photo).
    Only ``compression_type="jpeg"`` is portable (name ``albumentations.ImageCompression`` for WebP). A
    float image is rounded to 256 levels first; the image needs 1 or 3 channels.

    Args:
        compression_type: ``"jpeg"``.
        quality_range: ``(min, max)`` JPEG quality, ints within 1..100.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "ImageCompression", "quality_range": [50, 50], "p": 1}
        >>> BoxPipeline([spec])({"image": torch.full((3, 8, 8), 128, dtype=torch.uint8)})["image"].unique().tolist()
        [128]
    """

    def __init__(self, compression_type: str = "jpeg", quality_range: Sequence[int] = (99, 100)) -> None:
        self.compression_type = _choice(
            compression_type, "compression_type", ("jpeg",), own="albumentations.ImageCompression"
        )
        self.quality_range = _int_limit(quality_range, "quality_range", 1, 100, lambda v: (v, v))

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        low, high = self.quality_range
        return {"quality": int(rng.integers(low, high + 1))}

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        if image.shape[-3] not in (1, 3):
            raise TransformSpecError(
                f"expected an RGB (3-channel) or grey (1-channel) image, got {image.shape[-3]} channels"
            )
        return _via_uint8(image, lambda levels: functional.jpeg_image(levels, params["quality"]))


_DROPOUT_FILLS = ("random", "random_uniform")


class CoarseDropout(BoxTransform):
    """Erase random rectangles (albumentations' ``CoarseDropout``; torchvision's ``RandomErasing`` is one hole).

    ``num_holes`` is drawn from ``num_holes_range``; each hole's height and width from
    ``hole_height_range`` / ``hole_width_range``: ints (when the max is at least 1) are pixels, numbers
    below 1 fractions of the image side (albumentations' rule). Holes lie wholly inside the image. ``fill``
    is a number or one per channel on the image's scale, ``"random"`` (noise per pixel) or
    ``"random_uniform"`` (one random colour per hole), drawn from the pipeline's stream.

    Boxes never change (a box under a hole keeps its coordinates; a hole is occlusion, not removal).
    Masks are left alone unless ``fill_mask`` is a number: then instance and semantic masks are set to it
    inside the holes too (albumentations' meaning).

    torchvision's ``RandomErasing(p, scale, ratio, value)`` erases one rectangle of a random area fraction
    and aspect ratio: the nearest spec here is ``{"name": "CoarseDropout", "num_holes_range": [1, 1],
    "hole_height_range": [h0, h1], "hole_width_range": [w0, w1], "fill": value, "p": p}`` with side fractions
    ``sqrt(scale * ratio)`` and ``sqrt(scale / ratio)``; the exact distribution is ``torchvision.RandomErasing``
    (or ``albumentations.Erasing``) by name.

    Args:
        num_holes_range: ``(min, max)`` holes, ints >= 1.
        hole_height_range: ``(min, max)`` hole height: pixels (ints) or fractions of the height.
        hole_width_range: ``(min, max)`` hole width: pixels (ints) or fractions of the width.
        fill: Value of erased pixels.
        fill_mask: Value of erased mask pixels, or ``None`` to leave masks alone.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "CoarseDropout", "num_holes_range": [1, 1], "hole_height_range": [4, 4],
        ...         "hole_width_range": [4, 4], "fill": 0, "p": 1}
        >>> out = BoxPipeline([spec], seed=0)({"image": torch.full((1, 4, 4), 9, dtype=torch.uint8),
        ...                                   "boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]])})
        >>> out["image"].unique().tolist(), out["boxes"].tolist()
        ([0], [[0.0, 0.0, 2.0, 2.0]])
    """

    default_p: ClassVar[float] = 0.5

    def __init__(
        self,
        num_holes_range: Sequence[int] = (1, 2),
        hole_height_range: Sequence[float] = (0.1, 0.2),
        hole_width_range: Sequence[float] = (0.1, 0.2),
        fill: float | Sequence[float] | str = 0,
        fill_mask: float | Sequence[float] | None = None,
    ) -> None:
        self.num_holes_range = _int_limit(num_holes_range, "num_holes_range", 1, 10_000, lambda v: (v, v))
        self.hole_height_range = self._hole_range(hole_height_range, "hole_height_range")
        self.hole_width_range = self._hole_range(hole_width_range, "hole_width_range")
        if isinstance(fill, str):
            self.fill = _choice(fill, "fill", _DROPOUT_FILLS, own="albumentations.CoarseDropout")
        else:
            self.fill = self._value(fill, "fill")
        self.fill_mask = None if fill_mask is None else self._value(fill_mask, "fill_mask")
        # Masks are only visited by a step marked geometric: the holes then apply to them (boxes stay).
        if self.fill_mask is not None:
            self.geometric = True

    @staticmethod
    def _hole_range(value: Any, name: str) -> tuple[float, float]:
        pair = _limit(value, name, lambda v: (v, v), 0.0, MAX_SIDE, "(v, v)")
        if pair[1] >= 1 and not all(is_int(v) for v in value):
            raise TransformSpecError(
                f"{name}: expected ints (pixels) or numbers below 1 (fractions of the side), got {value!r}"
            )
        return pair

    @staticmethod
    def _value(value: Any, name: str) -> float | list[float]:
        if is_finite_number(value):
            return float(value)
        if (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and value
            and all(map(is_finite_number, value))
        ):
            return [float(v) for v in value]
        others = "'random' or 'random_uniform'" if name == "fill" else "None"
        raise TransformSpecError(
            f"{name}: expected a number, one number per channel or {others}, got {value!r}"
        )

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        count = int(rng.integers(self.num_holes_range[0], self.num_holes_range[1] + 1))
        sides = []
        for (low, high), side in ((self.hole_height_range, height), (self.hole_width_range, width)):
            if high >= 1:
                sides.append(rng.integers(int(low), int(min(high, side)) + 1, size=count))
            else:
                sides.append((side * rng.uniform(low, high, size=count)).astype(np.int64))
        heights = np.minimum(sides[0], height)
        widths = np.minimum(sides[1], width)
        tops = rng.integers(0, height - heights + 1)
        lefts = rng.integers(0, width - widths + 1)
        holes = np.stack([tops, lefts, tops + heights, lefts + widths], axis=1).tolist()
        return {"holes": holes, "seed": int(rng.integers(2**63))}

    def _fill_values(self, channels: int, dtype: np.dtype, params: dict[str, Any], name: str) -> Any:
        """The fill per hole: a ``(channels,)`` array, or ``None`` for noise per pixel."""
        if self.fill == "random":
            return None
        if self.fill == "random_uniform":
            return None
        values = self.fill if isinstance(self.fill, list) else [self.fill] * channels
        if len(values) != channels:
            raise TransformSpecError(
                f"{name}: expected one number or one per channel ({channels} channels), got {len(values)} numbers"
            )
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            if not all(info.min <= v <= info.max for v in values):
                raise TransformSpecError(
                    f"{name}: expected values in {info.min}..{info.max} for a {np.dtype(dtype).name} image, "
                    f"got {self.fill!r}"
                )
        return np.asarray(values)

    def _erase_numpy(
        self, image: np.ndarray, params: dict[str, Any], fill: Any, channels_last: bool
    ) -> np.ndarray:
        out = image.copy()
        channels = image.shape[-1] if channels_last else image.shape[0]
        noise = np.random.default_rng(params["seed"])
        floating = np.issubdtype(image.dtype, np.floating)
        for top, left, bottom, right in params["holes"]:
            if bottom <= top or right <= left:
                continue
            if fill is None:
                shape = (bottom - top, right - left, channels) if self.fill == "random" else (1, 1, channels)
                value = noise.random(shape) if floating else noise.integers(0, 256, shape)
            else:
                value = fill
            if channels_last:
                out[top:bottom, left:right] = value
            else:
                out[:, top:bottom, left:right] = np.moveaxis(np.broadcast_to(value, (1, 1, channels)), -1, 0)
        return out

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        fill = self._fill_values(image.shape[-1], image.dtype, params, "fill")
        return self._erase_numpy(image, params, fill, channels_last=True)

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        array = image.detach().cpu().permute(1, 2, 0).numpy()
        return torch.from_numpy(self.apply_image_numpy(array, params)).permute(2, 0, 1).to(image.device)

    def _erase_masks(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        value = self.fill_mask if not isinstance(self.fill_mask, list) else self.fill_mask[0]
        out = masks.copy()
        for top, left, bottom, right in params["holes"]:
            out[:, top:bottom, left:right] = value
        return out

    def apply_masks(self, masks: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        return torch.from_numpy(self._erase_masks(masks.detach().cpu().numpy(), params)).to(masks.device)

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return self._erase_masks(masks, params)


class InvertImg(_Photometric):
    """``max - image`` (albumentations' ``InvertImg``; torchvision's ``invert``), ``max`` 255 or 1.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> BoxPipeline([{"name": "InvertImg", "p": 1}])({"image": torch.tensor([[[0, 55]]], dtype=torch.uint8)})["image"].tolist()
        [[[255, 200]]]
    """

    def apply_image(self, image: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
        _check_dtype(image)
        return functional.invert_image(image)


#: Name -> torchvision-backend class.
TRANSFORMS: dict[str, type[BoxTransform]] = {
    "RandomBrightnessContrast": RandomBrightnessContrast,
    "HueSaturationValue": HueSaturationValue,
    "RandomGamma": RandomGamma,
    "CLAHE": CLAHE,
    "Sharpen": Sharpen,
    "MotionBlur": MotionBlur,
    "MedianBlur": MedianBlur,
    "ToGray": ToGray,
    "ChannelShuffle": ChannelShuffle,
    "Posterize": Posterize,
    "Solarize": Solarize,
    "Equalize": Equalize,
    "ImageCompression": ImageCompression,
    "CoarseDropout": CoarseDropout,
    "InvertImg": InvertImg,
}


def _builders() -> dict[str, Callable[[Any], Any]]:
    """Name -> albumentations transform of the same meaning (``p=1``: the pipeline draws the probability).

    Where albumentations' class means the same, it runs (OpenCV's kernels, its own draws from the
    pipeline's generators). The others run the visiondata class on numpy arrays (no builder):
    ``MotionBlur`` (its kernel drawn from the pipeline's numpy stream), ``CoarseDropout`` (albumentations
    may drop boxes under holes when called outside ``Compose``), ``MedianBlur`` (OpenCV's float median takes
    only 3 and 5 pixel windows), ``ChannelShuffle``, ``HueSaturationValue``, ``ToGray`` (albumentations'
    raises a bare ``TypeError`` on other channel counts) and ``ImageCompression`` (one JPEG encoder,
    torchvision's, so both backends give the same pixels; OpenCV's differs by several levels at low quality).
    """
    return {
        "RandomBrightnessContrast": lambda t: _albumentations().RandomBrightnessContrast(
            brightness_limit=t.brightness_limit,
            contrast_limit=t.contrast_limit,
            brightness_by_max=t.brightness_by_max,
            ensure_safe_range=t.ensure_safe_range,
            p=1.0,
        ),
        "RandomGamma": lambda t: _albumentations().RandomGamma(gamma_limit=t.gamma_limit, p=1.0),
        "CLAHE": lambda t: _albumentations().CLAHE(
            clip_limit=t.clip_limit, tile_grid_size=t.tile_grid_size, p=1.0
        ),
        "Sharpen": lambda t: _albumentations().Sharpen(
            alpha=t.alpha,
            lightness=t.lightness,
            method=t.method,
            kernel_size=t.kernel_size,
            sigma=t.sigma,
            p=1.0,
        ),
        "Posterize": lambda t: _albumentations().Posterize(num_bits=t.num_bits, p=1.0),
        "Solarize": lambda t: _albumentations().Solarize(threshold_range=t.threshold_range, p=1.0),
        "Equalize": lambda t: _albumentations().Equalize(mode=t.mode, by_channels=True, p=1.0),
        "InvertImg": lambda t: _albumentations().InvertImg(p=1.0),
    }


#: Name -> albumentations builder (takes the checked torchvision-backend instance).
BUILDERS: dict[str, Callable[[Any], Any]] = _builders()
