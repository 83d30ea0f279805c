"""Ready-made transform pipelines.

The classification presets are ``torchvision.transforms.v2`` pipelines. They
take what [`visiondata.io.read_image`][visiondata.io.read_image] returns (a ``uint8`` ``C x H x W``
tensor; PIL images work too), resize and crop in ``uint8``, and convert to
``float32`` and normalise only the final crop, which is both faster and the
exact arithmetic of torchvision's v2 transforms.

The detection presets are [`BoxPipeline`][visiondata.transforms.BoxPipeline] objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode, v2

from visiondata.io._plan import DecodePlan, PlannedImage
from visiondata.io._read import _luma

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Grayscale(v2.Transform):
    """RGB to one channel with PIL's exact integer arithmetic for ``uint8`` images.

    torchvision's ``Grayscale`` weighs a ``uint8`` image in floating point and
    truncates, so white (255, 255, 255) becomes 254; this one rounds like
    PIL's ``convert("L")`` (and [`visiondata.io.read_image`][visiondata.io.read_image] with
    ``mode="L"``), so white stays 255. Other dtypes and PIL images go through
    torchvision's ``rgb_to_grayscale``.

    Examples:
        >>> import torch
        >>> Grayscale()(torch.full((3, 1, 1), 255, dtype=torch.uint8)).tolist()
        [[[255]]]
    """

    _transformed_types = (tv_tensors.Image, torch.Tensor)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.Mask)):
            return inpt
        if inpt.dtype != torch.uint8 or inpt.shape[-3] != 3:
            return v2.functional.rgb_to_grayscale(inpt, num_output_channels=1)
        result = _luma(inpt.as_subclass(torch.Tensor))
        return tv_tensors.wrap(result, like=inpt) if isinstance(inpt, tv_tensors.Image) else result


def classification_train(
    size: int = 224,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    scale: tuple[float, float] = (0.08, 1.0),
    hflip: float = 0.5,
    interpolation: str | InterpolationMode = "bilinear",
) -> v2.Compose:
    """Random resized crop, horizontal flip, then a normalised ``float32`` tensor.

    Args:
        size: Side of the square output.
        mean: Per-channel mean to subtract (values in [0, 1]).
        std: Per-channel standard deviation to divide by.
        scale: Range of the crop's area as a fraction of the image.
        hflip: Probability of a horizontal flip.
        interpolation: Resampling filter (antialiased): ``"nearest"``, ``"bilinear"`` or ``"bicubic"``, as
            in pipeline specs, or torchvision's ``InterpolationMode``.

    The pipeline offers datasets a decode plan: ``ImageFolderDataset``, ``CSVDataset`` and
    ``ShardDataset`` draw the crop on the JPEG's header and decode it at 1/2, 1/4 or 1/8 scale when
    the crop keeps at least twice the output's pixels per side at that scale (same crops as
    without a plan; pixels identical at full scale, PSNR >= 30 dB otherwise). Their
    ``scaled_decode=False``, or ``visiondata.io.set_scaled_decode(False)``, turns that off.

    Examples:
        >>> import torch
        >>> classification_train(size=32)(torch.zeros(3, 60, 80, dtype=torch.uint8)).shape
        torch.Size([3, 32, 32])
    """
    return _ClassificationTrain(
        [
            v2.ToImage(),
            v2.RandomResizedCrop(size, scale=scale, interpolation=_mode(interpolation), antialias=True),
            v2.RandomHorizontalFlip(hflip),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ]
    )


_TRAIN_STEPS = (v2.ToImage, v2.RandomResizedCrop, v2.RandomHorizontalFlip, v2.ToDtype, v2.Normalize)


class _ClassificationTrain(v2.Compose):
    """``v2.Compose`` of the five train steps, run as one function for a single image.

    The same operations as the five transforms, in the same order, drawing the same random
    numbers (the crop's ``make_params``, then the flip's ``torch.rand(1)``), so the output is
    bit-identical; without the v2 machinery around each step (about 0.2 ms an image), with the
    crop copied to packed channels-last memory before the antialiased resize (torch's ``uint8``
    kernel is faster on it; the pixels are the same), and with ``ToDtype`` and ``Normalize``
    applied in place on one float tensor. Anything else (several inputs, a float or batched
    tensor, a changed ``transforms`` list, hooks) runs the plain ``v2.Compose``.

    It also offers a decode plan (`decode_plan`): datasets draw the crop on the file's header
    first and decode the JPEG at a DCT scale that keeps the crop's resolution, then hand the
    `PlannedImage` back, whose region the same steps crop, resize, flip and normalise.
    """

    def _get_name(self) -> str:
        return "Compose"  # the repr stays that of the v2.Compose it replaces

    def decode_plan(self, height: int, width: int) -> DecodePlan | None:
        """Draw the crop on an image of ``height`` x ``width`` before it is decoded (see `visiondata.io.read_planned`).

        ``RandomResizedCrop``'s own ``make_params``, the same random calls as on the decoded image,
        so the crops are distributed exactly as without a plan; the flip is drawn later, when the
        `PlannedImage` comes back, as it is now. ``None`` when the steps were changed.
        """
        if not self._unchanged(None):
            return None
        crop = self.transforms[1]
        # make_params only asks for the size: an expanded one-element tensor has it, without memory.
        params = crop.make_params([torch.empty(1, 1, 1, dtype=torch.uint8).expand(1, height, width)])
        out_height, out_width = crop.size
        return DecodePlan(
            params["top"], params["left"], params["height"], params["width"], out_height, out_width
        )

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) == 1:
            image = inputs[0]
            if isinstance(image, PlannedImage):
                # Decoded for this transform's plan: the crop was drawn already, scaled with the image.
                if self._unchanged(image.image.shape[0]):
                    return self._run(image.image, image.region)
                return super().forward(image.full_resolution())
            if isinstance(image, Image.Image) and self._unchanged(None):
                image = self.transforms[0](image)  # ToImage: PIL -> uint8 C x H x W
            if (
                type(image) in (torch.Tensor, tv_tensors.Image)
                and image.dtype == torch.uint8
                and image.ndim == 3
                and self._unchanged(image.shape[0])
            ):
                return self._run(image.as_subclass(torch.Tensor))
            return super().forward(image)
        return super().forward(*inputs)

    def _unchanged(self, channels: int | None) -> bool:
        """The five steps as built (and, given ``channels``, a mean and std of that many values)."""
        steps = self.transforms
        if len(steps) != len(_TRAIN_STEPS) or any(
            type(step) is not kind or step._forward_hooks or step._forward_pre_hooks
            for step, kind in zip(steps, _TRAIN_STEPS, strict=False)
        ):
            return False
        to_dtype, normalize = steps[3], steps[4]
        if not (to_dtype.dtype is torch.float32 and to_dtype.scale and all(normalize.std)):
            return False
        # Normalize's sub() broadcasts a one-channel image against three means; in place cannot.
        return channels is None or len(normalize.mean) == len(normalize.std) == channels

    def _run(self, image: torch.Tensor, region: tuple[int, int, int, int] | None = None) -> torch.Tensor:
        _, crop, flip, _, normalize = self.transforms
        if region is None:
            params = crop.make_params([image])  # RandomResizedCrop's own draw
            region = params["top"], params["left"], params["height"], params["width"]
        top, left, height, width = region
        region = image[:, top : top + height, left : left + width]  # v2's crop of an in-bounds box
        region = region.permute(1, 2, 0).contiguous().permute(2, 0, 1)  # packed channels-last
        resized = v2.functional.resize_image(
            region, list(crop.size), interpolation=crop.interpolation, antialias=crop.antialias
        )
        if torch.rand(1) < flip.p:  # RandomHorizontalFlip draws torch.rand(1) and skips when >= p
            resized = resized.flip(-1)
        # ToDtype(float32, scale=True) then Normalize: to(float32).mul_(1 / 255), sub(mean), div_(std),
        # here in place on one contiguous C x H x W float tensor.
        out = torch.empty(resized.shape, dtype=torch.float32)
        out.copy_(resized).mul_(1.0 / 255)
        mean = torch.as_tensor(normalize.mean, dtype=torch.float32).view(-1, 1, 1)
        std = torch.as_tensor(normalize.std, dtype=torch.float32).view(-1, 1, 1)
        return out.sub_(mean).div_(std).as_subclass(tv_tensors.Image)


def classification_eval(
    size: int = 224,
    resize: int = 256,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    interpolation: str | InterpolationMode = "bilinear",
    scaled_decode: bool = False,
) -> v2.Compose:
    """Resize the shorter side to ``resize``, centre-crop ``size``, normalise.

    Args:
        size: Side of the square output.
        resize: The shorter side after resizing, before the centre crop.
        mean: Per-channel mean to subtract (values in [0, 1]).
        std: Per-channel standard deviation to divide by.
        interpolation: Resampling filter (antialiased): ``"nearest"``, ``"bilinear"`` or ``"bicubic"``, as
            in pipeline specs, or torchvision's ``InterpolationMode``.
        scaled_decode: Offer datasets a decode plan, so that a JPEG is decoded at the smallest DCT
            scale that still gives the resized image's resolution (faster, within the PSNR stated
            in docs/performance.md of the exact pixels). Off by default: evaluation scores are
            computed against the exact pixels.

    Examples:
        >>> import torch
        >>> classification_eval(size=32, resize=40)(torch.zeros(3, 60, 80, dtype=torch.uint8)).shape
        torch.Size([3, 32, 32])
    """
    if resize < size:
        raise ValueError(f"resize: expected at least size ({size}), got {resize}")
    if not isinstance(scaled_decode, bool):
        raise TypeError(f"scaled_decode: expected True or False, got {scaled_decode!r}")
    steps = [
        v2.ToImage(),
        v2.Resize(resize, interpolation=_mode(interpolation), antialias=True),
        v2.CenterCrop(size),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean, std),
    ]
    return _ClassificationEval(steps) if scaled_decode else v2.Compose(steps)


_EVAL_STEPS = (v2.ToImage, v2.Resize, v2.CenterCrop, v2.ToDtype, v2.Normalize)


class _ClassificationEval(v2.Compose):
    """``classification_eval(scaled_decode=True)``: the plain ``v2.Compose``, plus a decode plan.

    The plan keeps the whole image at the size ``Resize`` gives it; a `PlannedImage` is resized to
    exactly that size (so the centre crop is the same), then cropped and normalised as usual.
    """

    def _get_name(self) -> str:
        return "Compose"

    def _unchanged(self) -> bool:
        steps = self.transforms
        return (
            len(steps) == len(_EVAL_STEPS)
            and all(type(step) is kind for step, kind in zip(steps, _EVAL_STEPS, strict=False))
            and steps[1].max_size is None
        )

    def decode_plan(self, height: int, width: int) -> DecodePlan | None:
        """The whole ``height`` x ``width`` image, at the size ``Resize`` makes it (``None`` when the steps changed)."""
        if not self._unchanged():
            return None
        out_height, out_width = _resized_size(height, width, self.transforms[1].size)
        return DecodePlan(0, 0, height, width, out_height, out_width)

    def forward(self, *inputs: Any) -> Any:
        if len(inputs) == 1 and isinstance(inputs[0], PlannedImage):
            planned = inputs[0]
            if not self._unchanged():
                return super().forward(planned.full_resolution())
            resize = self.transforms[1]
            plan = planned.plan
            image = v2.functional.resize_image(
                planned.image,
                [plan.out_height, plan.out_width],
                interpolation=resize.interpolation,
                antialias=resize.antialias,
            )
            image = tv_tensors.Image(image)  # what ToImage gives the exact path's steps
            for step in self.transforms[2:]:
                image = step(image)
            return image
        return super().forward(*inputs)


def _resized_size(height: int, width: int, size: Sequence[int]) -> tuple[int, int]:
    """The size ``v2.Resize(size)`` gives a ``height`` x ``width`` image (torchvision's arithmetic)."""
    if len(size) == 2:
        return int(size[0]), int(size[1])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def grayscale_normalized(size: int = 64) -> v2.Compose:
    """The lecture's pipeline: greyscale, resize to ``size`` x ``size``, values in [-1, 1].

    Greyscale uses PIL's ITU-R 601-2 arithmetic ([`Grayscale`][visiondata.transforms.presets.Grayscale], so white
    stays 255); normalising with mean 0.5 and standard deviation 0.5 maps
    [0, 1] onto [-1, 1].

    Examples:
        >>> import torch
        >>> out = grayscale_normalized(8)(torch.full((3, 20, 20), 255, dtype=torch.uint8))
        >>> out.shape, float(out.max())
        (torch.Size([1, 8, 8]), 1.0)
    """
    return v2.Compose(
        [
            v2.ToImage(),
            Grayscale(),
            v2.Resize((size, size), antialias=True),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize((0.5,), (0.5,)),
        ]
    )


# Gray fill of letterbox padding, as YOLO trainers use: the mean of the value range, not black.
_LETTERBOX_FILL = 114


def detection_train(
    size: int | None = None, backend: str = "torchvision", seed: int | None = None, for_model: str = "yolo"
) -> Any:
    """Detection training augmentation for a model family: by default YOLO-style letterbox, scale, shift, colour, flip.

    ``for_model`` picks what the pipeline ends in, for the models it feeds:

    - ``"yolo"`` (default): square ``size`` x ``size`` images (640 unless given), as one-stage
      detectors with fixed input sizes and `visiondata.collate.yolo_collate` take them; described below.
    - ``"torchvision"``: torchvision's detection models (Faster, Mask and Keypoint R-CNN, RetinaNet,
      FCOS, SSD), which resize and normalise inside the model (their ``min_size``/``max_size``) and
      take ``float32`` images in [0, 1] of any size: half of the images mirrored, then ``ToDtype``,
      as torchvision's reference training recipe ("hflip"). Batch them with
      `visiondata.collate.detection_collate`. ``size`` must stay ``None``: the model sets it.

    For ``"yolo"``, the image's longer side is resized to ``size`` and the rest padded with
    gray (114), then an affine step scales by 0.5-1.5 and shifts by up to
    10% of each side, colours are jittered and half of the images are
    mirrored; the output is ``float32`` in [0, 1] (torchvision's detection
    models normalise inside the model). Boxes less than 10% visible or
    narrower than 2 pixels are dropped and reported, as YOLO trainers do.

    The pipeline offers datasets a decode plan (it starts with ``LongestMaxSize``): every detection
    dataset and the shard reader decode a JPEG at 1/2, 1/4 or 1/8 scale when that still keeps twice
    the output's resolution, and boxes, masks and keypoints move as without it. Their
    ``scaled_decode=False``, or ``visiondata.io.set_scaled_decode(False)``, turns that off.

    Args:
        size: Side of the square output (``"yolo"``: 640 when ``None``); ``None`` for ``"torchvision"``.
        backend: ``"torchvision"`` or ``"albumentations"``.
        seed: Makes the augmentation repeat (see [`BoxPipeline`][visiondata.transforms.BoxPipeline]).
        for_model: ``"yolo"`` or ``"torchvision"`` (see above).

    Returns:
        A [`BoxPipeline`][visiondata.transforms.BoxPipeline]; ``to_dict()`` shows every setting.

    Raises:
        ValueError: An unknown ``for_model``, or a ``size`` for ``"torchvision"``.

    Examples:
        >>> import torch
        >>> image = torch.zeros(3, 300, 400, dtype=torch.uint8)
        >>> out = detection_train(320, seed=0)({"image": image, "boxes": torch.tensor([[100.0, 100.0, 300.0, 200.0]])})
        >>> out["image"].shape, out["image"].dtype
        (torch.Size([3, 320, 320]), torch.float32)
        >>> out = detection_train(for_model="torchvision", seed=0)({"image": image, "boxes": torch.tensor([[100.0, 100.0, 300.0, 200.0]])})
        >>> out["image"].shape, out["image"].dtype
        (torch.Size([3, 300, 400]), torch.float32)
    """
    from visiondata.transforms._pipeline import BoxPipeline

    size = _size_for_model(size, for_model)
    if for_model == "torchvision":
        return BoxPipeline(
            [{"name": "HorizontalFlip", "p": 0.5}, {"name": "ToDtype", "dtype": "float32", "scale": True}],
            backend=backend,
            seed=seed,
        )
    return BoxPipeline(
        [
            {"name": "LongestMaxSize", "max_size": size},
            {"name": "PadIfNeeded", "min_height": size, "min_width": size, "fill": _LETTERBOX_FILL},
            {
                "name": "Affine",
                "translate": [0.1, 0.1],
                "scale": [0.5, 1.5],
                "fill": _LETTERBOX_FILL,
                "p": 1.0,
            },
            {
                "name": "ColorJitter",
                "brightness": 0.2,
                "contrast": 0.2,
                "saturation": 0.5,
                "hue": 0.015,
                "p": 0.8,
            },
            {"name": "HorizontalFlip", "p": 0.5},
            {"name": "ToDtype", "dtype": "float32", "scale": True},
        ],
        min_visibility=0.1,
        min_size=2.0,
        backend=backend,
        seed=seed,
    )


def detection_eval(
    size: int | None = None,
    backend: str = "torchvision",
    scaled_decode: bool = False,
    for_model: str = "yolo",
) -> Any:
    """Detection evaluation: letterbox to ``size`` x ``size`` (longer side resized, gray padding), ``float32`` in [0, 1].

    Deterministic; boxes scale with the image and none is dropped. With ``for_model="torchvision"``
    (torchvision's detection models, which resize inside) the image keeps its size and only becomes
    ``float32`` in [0, 1].

    Args:
        size: Side of the square output (640 when ``None``); ``None`` for ``"torchvision"``.
        backend: ``"torchvision"`` or ``"albumentations"``.
        scaled_decode: Offer datasets a decode plan, so that a JPEG is decoded at the smallest DCT
            scale that keeps twice the letterbox's resolution (faster, within the PSNR stated in
            docs/performance.md of the exact pixels). Off by default: evaluation scores are
            computed against the exact pixels.
        for_model: ``"yolo"`` or ``"torchvision"`` (see [`detection_train`][visiondata.transforms.presets.detection_train]).

    Raises:
        ValueError: An unknown ``for_model``, or a ``size`` for ``"torchvision"``.

    Examples:
        >>> import torch
        >>> image = torch.zeros(3, 300, 400, dtype=torch.uint8)
        >>> out = detection_eval(320)({"image": image, "boxes": torch.tensor([[0.0, 0.0, 400.0, 300.0]])})
        >>> out["boxes"].tolist()
        [[0.0, 40.0, 320.0, 280.0]]
    """
    from visiondata.transforms._pipeline import BoxPipeline

    size = _size_for_model(size, for_model)
    if for_model == "torchvision":
        return BoxPipeline([{"name": "ToDtype", "dtype": "float32", "scale": True}], backend=backend)
    return BoxPipeline(
        [
            {"name": "LongestMaxSize", "max_size": size},
            {"name": "PadIfNeeded", "min_height": size, "min_width": size, "fill": _LETTERBOX_FILL},
            {"name": "ToDtype", "dtype": "float32", "scale": True},
        ],
        backend=backend,
        scaled_decode=scaled_decode,
    )


#: The model families the detection presets feed (``for_model=``).
DETECTION_MODEL_FAMILIES = ("yolo", "torchvision")


def _size_for_model(size: int | None, for_model: str) -> int:
    """The letterbox side for ``for_model``: 640 by default for YOLO; torchvision's models take none."""
    from visiondata._arguments import check_choice

    check_choice("for_model", for_model, DETECTION_MODEL_FAMILIES)
    if for_model == "torchvision":
        if size is not None:
            raise ValueError(
                f"size: expected None with for_model='torchvision', got {size!r}: torchvision's detection "
                "models resize inside (their min_size and max_size); set the size there, or use "
                "for_model='yolo' for a fixed square input"
            )
        return 0
    return 640 if size is None else size


def _mode(interpolation: str | InterpolationMode) -> InterpolationMode:
    """torchvision's mode for an interpolation name of the specs (`INTERPOLATION_TABLE`), or the mode given."""
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    from visiondata.transforms._spec import INTERPOLATION_TABLE, as_interpolation

    return InterpolationMode[INTERPOLATION_TABLE[as_interpolation(interpolation)][0]]
