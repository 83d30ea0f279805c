"""Portable spatial transforms added to the core set: the image, boxes and masks move together.

Each is a [`BoxTransform`][visiondata.transforms.BoxTransform] run on torchvision kernels, with an
albumentations builder (or a numpy implementation) so one spec means the same on both backends.

- ``RandomRotate90``, ``Transpose`` and ``D4`` (albumentations' names, parameters and defaults) are the
  symmetries of the square: pixels only change places, so boxes move exactly (no rounding). The
  albumentations backend runs albumentations' own classes; the torchvision backend ``torch.rot90``,
  flips and transposes of the same meaning.
- ``RandomZoomOut``, ``ScaleJitter`` and ``RandomShortestSize`` (torchvision v2's names, parameters and
  defaults) have no albumentations counterpart: the albumentations backend runs them on numpy arrays with
  OpenCV kernels, drawing the same parameters from the same stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torchvision.transforms.v2 import functional

from visiondata._arguments import check_bool, check_size, is_finite_number, is_int
from visiondata.exceptions import TransformSpecError
from visiondata.transforms._albumentations_backend import import_albumentations
from visiondata.transforms._spec import (
    MAX_SIDE,
    as_fill,
    as_interpolation,
    as_positive_int,
)
from visiondata.transforms._torchvision_backend import (
    _CV2,
    _MODES,
    BoxTransform,
    _channels_first,
    _channels_last,
    _check_fill,
    _Geometric,
    _opencv,
    _Padding,
    _Resizing,
    resize_tensor,
)
from visiondata.transforms._work import check_output_size

# -- the symmetries of the square ------------------------------------------------------------------------

#: The 8 elements of the dihedral group, in albumentations' names and order: identity, rotations by 90,
#: 180 and 270 degrees counter-clockwise, vertical flip, transpose over the anti-diagonal, horizontal
#: flip, transpose (over the main diagonal).
D4_ELEMENTS = ("e", "r90", "r180", "r270", "v", "hvt", "h", "t")
# The elements that swap the image's height and width.
_SWAPPING = frozenset({"r90", "r270", "hvt", "t"})


def d4_boxes(boxes: np.ndarray, element: str, height: float, width: float) -> np.ndarray:
    """``xyxy`` pixel boxes of a ``height`` x ``width`` image after the symmetry ``element`` (exact).

    Examples:
        >>> d4_boxes(np.array([[1.0, 0.0, 4.0, 2.0]]), "r90", height=2, width=5).tolist()
        [[0.0, 1.0, 2.0, 4.0]]
    """
    x_min, y_min, x_max, y_max = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    corners = {
        "e": (x_min, y_min, x_max, y_max),
        "r90": (y_min, width - x_max, y_max, width - x_min),
        "r180": (width - x_max, height - y_max, width - x_min, height - y_min),
        "r270": (height - y_max, x_min, height - y_min, x_max),
        "v": (x_min, height - y_max, x_max, height - y_min),
        "hvt": (height - y_max, width - x_max, height - y_min, width - x_min),
        "h": (width - x_max, y_min, width - x_min, y_max),
        "t": (y_min, x_min, y_max, x_max),
    }[element]
    return np.stack(corners, axis=1)


def d4_tensor(tensor: torch.Tensor, element: str) -> torch.Tensor:
    """A ``... x H x W`` tensor after the symmetry ``element`` (``np.rot90``'s direction, as albumentations)."""
    if element == "e":
        return tensor
    if element == "h":
        return functional.horizontal_flip_image(tensor)
    if element == "v":
        return functional.vertical_flip_image(tensor)
    if element == "t":
        moved = tensor.transpose(-2, -1)
    elif element == "hvt":
        moved = torch.flip(tensor, (-2, -1)).transpose(-2, -1)
    else:
        moved = torch.rot90(tensor, ("r90", "r180", "r270").index(element) + 1, dims=(-2, -1))
    # Later kernels (and the caller) expect a dense image, as the flips return.
    return moved.contiguous()


class _Symmetry(_Geometric):
    """A transform that applies one element of the dihedral group (``params["element"]``)."""

    #: The elements a sample may draw (uniformly).
    elements: ClassVar[tuple[str, ...]] = D4_ELEMENTS

    def check(self, height: int, width: int) -> None:
        # A turn makes the longer side the other one; an input already above MAX_SIDE (which other steps may
        # keep) must not become a side above it on one draw and pass on another, nor on one backend only.
        if height != width and max(height, width) > MAX_SIDE and set(self.elements) & _SWAPPING:
            raise TransformSpecError(
                f"{type(self).__name__}: the {height}x{width} image (height x width) has a side above "
                f"{MAX_SIDE} (2**15), which a turn would move to the other axis; expected sides of at most "
                f"{MAX_SIDE}: resize it first (LongestMaxSize)"
            )

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any] | None:
        # A single element (Transpose) draws nothing, leaving the stream to the steps after it.
        elements = self.elements
        element = elements[int(rng.integers(len(elements)))] if len(elements) > 1 else elements[0]
        return None if element == "e" else {"element": element}

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        return d4_tensor(tensor, params["element"])

    def apply_boxes(self, boxes: np.ndarray, params: dict[str, Any], height: int, width: int) -> np.ndarray:
        return d4_boxes(boxes, params["element"], height, width)

    def output_size(self, params: dict[str, Any], height: int, width: int) -> tuple[int, int]:
        return (width, height) if params["element"] in _SWAPPING else (height, width)


class RandomRotate90(_Symmetry):
    """Rotate by ``k`` times 90 degrees counter-clockwise, ``k`` drawn from {0, 1, 2, 3} (albumentations' ``RandomRotate90``).

    Albumentations 2.0.8's semantics and default (``p=1``): the rotation of
    ``np.rot90``; a quarter turn makes an ``H x W`` image ``W x H``. Boxes
    and masks turn with the pixels exactly. The albumentations backend runs
    ``albumentations.RandomRotate90`` (which draws ``k`` from the pipeline's
    Python stream), the torchvision backend ``torch.rot90`` (``k`` from the
    numpy stream): the same seed may draw another ``k`` on each backend,
    every ``k`` gives the same output on both.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> pipeline = BoxPipeline([{"name": "RandomRotate90"}], seed=0)
        >>> out = pipeline({"image": torch.zeros(3, 4, 6, dtype=torch.uint8),
        ...                 "boxes": torch.tensor([[0.0, 0.0, 2.0, 1.0]]), "labels": torch.tensor([1])})
        >>> tuple(out["image"].shape[-2:]) in {(4, 6), (6, 4)}, out["labels"].tolist()
        (True, [1])
    """

    elements = ("e", "r90", "r180", "r270")


class Transpose(_Symmetry):
    """Swap rows and columns: pixel ``(row, column)`` goes to ``(column, row)`` (albumentations' ``Transpose``, ``p=0.5``).

    An ``H x W`` image becomes ``W x H``; box ``(x_min, y_min, x_max, y_max)``
    becomes ``(y_min, x_min, y_max, x_max)``, exactly.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> out = BoxPipeline([{"name": "Transpose", "p": 1.0}])(
        ...     {"image": torch.zeros(3, 2, 5, dtype=torch.uint8),
        ...      "boxes": torch.tensor([[1.0, 0.0, 4.0, 2.0]]), "labels": torch.tensor([1])})
        >>> tuple(out["image"].shape), out["boxes"].tolist()
        ((3, 5, 2), [[0.0, 1.0, 2.0, 4.0]])
    """

    default_p = 0.5
    elements = ("t",)


class D4(_Symmetry):
    """One of the 8 symmetries of the square, drawn uniformly (albumentations' ``D4``, ``p=1``).

    The identity, rotations by 90, 180 and 270 degrees, the horizontal and
    vertical flips and the two transpositions (albumentations' group
    elements ``e``, ``r90``, ``r180``, ``r270``, ``v``, ``hvt``, ``h``,
    ``t``). Made for square images (tiles, aerial and microscopy views) but
    any image works: the rotations and transpositions swap height and width.
    The albumentations backend runs ``albumentations.D4``, the torchvision
    backend the same element on tensors; both draw it from the pipeline's
    numpy stream, so a seed gives the same output on both backends.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> out = BoxPipeline(["D4"], seed=3)({"image": torch.zeros(3, 8, 8, dtype=torch.uint8),
        ...                                     "boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]])})
        >>> [float(v) for v in out["boxes"][0]] in ([0.0, 0.0, 2.0, 2.0], [6.0, 0.0, 8.0, 2.0],
        ...                                         [0.0, 6.0, 2.0, 8.0], [6.0, 6.0, 8.0, 8.0])
        True
    """


# -- torchvision v2's zoom-out and aspect-keeping resizes --------------------------------------------


def _pair(value: Any, name: str, expected: str) -> tuple[float, float]:
    """A ``(min, max)`` pair of numbers (torchvision takes no single-number form for these)."""
    if (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == 2
        and all(is_finite_number(v) for v in value)
        and value[0] <= value[1]
    ):
        return float(value[0]), float(value[1])
    raise TransformSpecError(f"{name}: expected {expected}, got {value!r}")


class RandomZoomOut(_Padding):
    """Place the image on a canvas ``r`` times larger filled with ``fill``, ``r`` drawn from ``side_range`` (torchvision v2's ``RandomZoomOut``).

    torchvision's draw: ``r`` uniform in ``side_range``, the canvas
    ``int(width * r)`` x ``int(height * r)``, the image at a uniform random
    offset in it; boxes shift with it, masks are padded with 0. Defaults as
    torchvision's: ``side_range=(1.0, 4.0)``, ``p=0.5``. The largest canvas
    (``side_range[1]`` times each side) must stay within 32768 pixels a side,
    whatever the draw.

    Args:
        fill: Value of the new pixels: one number or one per channel.
        side_range: ``(min, max)`` canvas side as a multiple of the image side, ``1 <= min <= max``.

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> pipeline = BoxPipeline([{"name": "RandomZoomOut", "side_range": [2.0, 2.0], "p": 1.0}], seed=0)
        >>> out = pipeline({"image": torch.zeros(3, 10, 20, dtype=torch.uint8),
        ...                 "boxes": torch.tensor([[0.0, 0.0, 20.0, 10.0]])})
        >>> tuple(out["image"].shape), [float(v) for v in out["boxes"][0, 2:] - out["boxes"][0, :2]]
        ((3, 20, 40), [20.0, 10.0])
    """

    default_p = 0.5

    def __init__(self, fill: float | Sequence[float] = 0, side_range: Sequence[float] = (1.0, 4.0)) -> None:
        self.fill = as_fill(fill)
        low, high = _pair(side_range, "side_range", "(min, max) with 1 <= min <= max")
        if low < 1.0 or high > MAX_SIDE:
            raise TransformSpecError(
                f"side_range: expected (min, max) with 1 <= min <= max <= {MAX_SIDE}, got {side_range!r}"
            )
        self.side_range = (low, high)

    def check(self, height: int, width: int) -> None:
        # The largest canvas any draw can make, so that the refusal does not depend on the draw.
        high = self.side_range[1]
        check_output_size("RandomZoomOut", height, width, (int(height * high), int(width * high)))

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        low, high = self.side_range
        # In float32, as torchvision's draws (torch.rand tensors), so that the canvas rounds as there.
        ratio = np.float32(low) + np.float32(rng.random()) * np.float32(high - low)
        canvas_width, canvas_height = int(np.float32(width) * ratio), int(np.float32(height) * ratio)
        along_x, along_y = rng.random(2).astype(np.float32)
        left = int(np.float32(canvas_width - width) * along_x)
        top = int(np.float32(canvas_height - height) * along_y)
        return {"pad": (left, top, canvas_width - left - width, canvas_height - top - height)}

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        # The tensor path checks the fill in apply_image; the numpy path must refuse the same fills.
        _check_fill(self.fill, image.shape[-1], torch.from_numpy(image[:0, :0]).dtype)
        return super().apply_image_numpy(image, params)


class _AspectResizing(_Resizing):
    """A resize to ``params["size"]`` honouring ``antialias`` on both backends.

    When an image shrinks with ``antialias=True`` (torchvision's default),
    the numpy implementation runs torch's antialiased kernel on the array
    (OpenCV has none of the same meaning), so both backends give the same
    pixels; other resizes use OpenCV's, within a level or two of torch's.
    """

    antialias = True

    def warp(self, tensor: torch.Tensor, params: dict[str, Any], mask: bool) -> torch.Tensor:
        size = params["size"]
        if tuple(tensor.shape[-2:]) == tuple(size):
            return tensor
        if mask or self.antialias:
            return resize_tensor(tensor, size, self.interpolation, mask)
        return functional.resize_image(
            tensor, list(size), interpolation=_MODES[self.interpolation], antialias=False
        )

    def apply_image_numpy(self, image: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _resize_numpy(image, params["size"], self.interpolation, self.antialias)

    def apply_masks_numpy(self, masks: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return _channels_first(_resize_numpy(_channels_last(masks), params["size"], "nearest", False))


def _resize_numpy(image: np.ndarray, size: Sequence[int], interpolation: str, antialias: bool) -> np.ndarray:
    """An ``H x W x C`` array resized to ``size`` = (height, width) with OpenCV."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    shrinking = height < image.shape[0] or width < image.shape[1]
    if antialias and shrinking and interpolation != "nearest":
        # OpenCV has no antialiased bilinear or bicubic shrink (its area filter averages other pixels):
        # torch's kernel on the array's memory, viewed as channels-last C x H x W, gives torchvision's pixels.
        tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
        resized = resize_tensor(tensor, size, interpolation, mask=False)
        return np.ascontiguousarray(resized.permute(1, 2, 0).numpy())
    import cv2

    return _opencv(image, lambda part: cv2.resize(part, (width, height), interpolation=_CV2[interpolation]))


class ScaleJitter(_AspectResizing):
    """Large-scale jitter: resize keeping the aspect ratio to a random multiple of ``target_size`` (torchvision v2's ``ScaleJitter``).

    torchvision's draw and rounding: a scale ``s`` uniform in
    ``scale_range``, then ``r = min(target_size[1] / height, target_size[0]
    / width) * s`` and the new size ``int(height * r)`` x ``int(width * r)``
    (at least 1 pixel). As in torchvision's code, ``target_size`` is read as
    ``(width, height)`` here (unlike ``size`` elsewhere); the usual square
    targets such as ``(1024, 1024)`` make the order moot. Pair it with a
    fixed-size crop or ``PadIfNeeded`` for the detectors' recipe. Output
    sides reach at most ``target_size * scale_range[1]``, which must be
    within 32768 pixels (checked when the pipeline is built).

    Args:
        target_size: The base size ``(width, height)``, or one int for a square.
        scale_range: ``(min, max)`` multiple of the base size, ``0 < min <= max``.
        interpolation: ``"nearest"``, ``"bilinear"`` or ``"bicubic"`` (masks always use nearest).
        antialias: Average the pixels dropped when shrinking (torchvision's default).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "ScaleJitter", "target_size": [64, 64], "scale_range": [0.5, 0.5]}
        >>> out = BoxPipeline([spec])({"image": torch.zeros(3, 100, 200, dtype=torch.uint8),
        ...                            "boxes": torch.tensor([[25.0, 25.0, 50.0, 75.0]])})
        >>> tuple(out["image"].shape), out["boxes"].tolist()
        ((3, 16, 32), [[4.0, 4.0, 8.0, 12.0]])
    """

    def __init__(
        self,
        target_size: int | Sequence[int],
        scale_range: Sequence[float] = (0.1, 2.0),
        interpolation: str = "bilinear",
        antialias: bool = True,
    ) -> None:
        self.target_size = check_size(
            "target_size",
            target_size,
            maximum=MAX_SIDE,
            expected="a positive int or (width, height) as torchvision's ScaleJitter takes, "
            f"each at most {MAX_SIDE}",
            error=TransformSpecError,
        )
        low, high = _pair(scale_range, "scale_range", "(min, max) with 0 < min <= max")
        if low <= 0:
            raise TransformSpecError(
                f"scale_range: expected (min, max) with 0 < min <= max, got {scale_range!r}"
            )
        largest = max(self.target_size) * high
        if int(largest) > MAX_SIDE:
            raise TransformSpecError(
                f"scale_range: the largest output side would be target_size {max(self.target_size)} x "
                f"{high:g} = {largest:g} pixels; expected at most {MAX_SIDE} (2**15): lower scale_range[1] "
                "or target_size"
            )
        self.scale_range = (low, high)
        self.interpolation = as_interpolation(interpolation)
        self.antialias = check_bool("antialias", antialias, error=TransformSpecError)

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        low, high = self.scale_range
        # In float32, as torchvision's (a torch.rand tensor): 60 x 1.2 x 1.5 is 108 there, 107.99... in float64.
        scale = np.float32(low) + np.float32(rng.random()) * np.float32(high - low)
        ratio = np.float32(min(self.target_size[1] / height, self.target_size[0] / width)) * scale
        new_height, new_width = int(np.float32(height) * ratio), int(np.float32(width) * ratio)
        return {"size": (max(1, new_height), max(1, new_width))}


class RandomShortestSize(_AspectResizing):
    """Resize the shorter side to a size drawn from ``min_size``, the longer one at most ``max_size`` (torchvision v2's ``RandomShortestSize``).

    torchvision's rule: ``r = min_size / min(height, width)``, lowered to
    ``max_size / max(height, width)`` when the longer side would pass
    ``max_size``; the new size is ``int(height * r)`` x ``int(width * r)``.
    An elongated image can ask for a side above 32768 pixels: it is refused
    (for the largest ``min_size``, whatever the draw) with a hint to set
    ``max_size``.

    Args:
        min_size: One size, or a list to draw from uniformly.
        max_size: Bound on the longer side (``None``: no bound).
        interpolation: ``"nearest"``, ``"bilinear"`` or ``"bicubic"`` (masks always use nearest).
        antialias: Average the pixels dropped when shrinking (torchvision's default).

    Examples:
        >>> import torch
        >>> from visiondata.transforms import BoxPipeline
        >>> spec = {"name": "RandomShortestSize", "min_size": [50], "max_size": 80}
        >>> out = BoxPipeline([spec])({"image": torch.zeros(3, 100, 200, dtype=torch.uint8)})
        >>> tuple(out["image"].shape)
        (3, 40, 80)
    """

    def __init__(
        self,
        min_size: int | Sequence[int],
        max_size: int | None = None,
        interpolation: str = "bilinear",
        antialias: bool = True,
    ) -> None:
        sizes = [min_size] if is_int(min_size) else min_size
        if not (
            isinstance(sizes, Sequence)
            and not isinstance(sizes, str)
            and len(sizes)
            and all(is_int(v) and 0 < v <= MAX_SIDE for v in sizes)
        ):
            raise TransformSpecError(
                f"min_size: expected a positive int or a non-empty list of them, each at most {MAX_SIDE}, "
                f"got {min_size!r}"
            )
        self.min_size = [int(v) for v in sizes]
        self.max_size = None if max_size is None else as_positive_int(max_size, "max_size")
        self.interpolation = as_interpolation(interpolation)
        self.antialias = check_bool("antialias", antialias, error=TransformSpecError)

    def _size(self, height: int, width: int, min_size: int) -> tuple[int, int]:
        ratio = min_size / min(height, width)
        if self.max_size is not None:
            ratio = min(ratio, self.max_size / max(height, width))
        return max(1, int(height * ratio)), max(1, int(width * ratio))

    def check(self, height: int, width: int) -> None:
        try:
            check_output_size(
                "RandomShortestSize", height, width, self._size(height, width, max(self.min_size))
            )
        except TransformSpecError as error:
            raise TransformSpecError(f"{error}; or set max_size") from None

    def get_params(
        self, rng: np.random.Generator, height: int, width: int, boxes: np.ndarray
    ) -> dict[str, Any]:
        min_size = self.min_size[int(rng.integers(len(self.min_size)))]
        return {"size": self._size(height, width, min_size)}


#: Name -> torchvision-backend class.
TRANSFORMS: dict[str, type[BoxTransform]] = {
    "RandomRotate90": RandomRotate90,
    "Transpose": Transpose,
    "D4": D4,
    "RandomZoomOut": RandomZoomOut,
    "ScaleJitter": ScaleJitter,
    "RandomShortestSize": RandomShortestSize,
}
#: Name -> albumentations builder (takes the checked torchvision-backend instance). The symmetries run
#: albumentations' own classes (pixel-exact there too: normalised boxes turn by ``1 - x``); the others have
#: no albumentations counterpart and run their numpy implementation.
BUILDERS: dict[str, Callable[[Any], Any]] = {
    "RandomRotate90": lambda t: import_albumentations().RandomRotate90(p=1.0),
    "Transpose": lambda t: import_albumentations().Transpose(p=1.0),
    "D4": lambda t: import_albumentations().D4(p=1.0),
}
