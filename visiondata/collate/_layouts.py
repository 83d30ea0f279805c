"""The four batch layouts of detection training, and ``to_device``.

Every collate takes a list of samples, each an ``(image, target)`` pair (the
detection schema of visiondata's datasets) or a dict with ``"image"`` and the
target's keys (what a [`BoxPipeline`][visiondata.transforms.BoxPipeline] returns for
dict samples). ``None`` samples (a dataset's way of saying "skip this one")
raise unless ``skip_none=True``; then they are left out and counted in the
batch (``.skipped`` on tuple layouts, ``"skipped"`` in dict layouts), and a
[`SkippedSampleWarning`][visiondata.exceptions.SkippedSampleWarning] says how many. Options
are keywords: pass them with ``functools.partial``, which pickles for
DataLoader workers like the functions themselves.

Every collate reads boxes and labels the same way (``_with_boxes``): boxes
must be ``(N, 4)`` (or ``(N, C)`` oriented), checked by the shape check of
``visiondata.boxes`` and never reshaped; ``labels`` and the other per-box
fields must have one row per box; labels become ``(N,)`` int64. Errors name
the sample's position in the batch. An image without boxes is ``(0, 4)``
float32 boxes and ``(0,)`` int64 labels in every layout.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torchvision import tv_tensors

from visiondata._arguments import check_int, check_positive_int
from visiondata._sample import check_one_row_per_box, split_sample
from visiondata.boxes._validate import check_box_shape
from visiondata.exceptions import InvalidBoxesError, SkippedSampleWarning

#: Target keys with one row per box (as ``visiondata.transforms._sample.PER_BOX_KEYS``): another row count
#: would put one box's label on another box, or fill padded slots with copies.
_PER_BOX_KEYS = ("labels", "iscrowd", "area", "difficult", "truncated", "scores")


class CollatedBatch(tuple):
    """A tuple layout (``(images, targets)``) that also says how many ``None`` samples were skipped.

    Unpacks like any pair: ``images, targets = batch``.
    """

    skipped: int

    def __new__(cls, items: Sequence[Any], skipped: int = 0) -> CollatedBatch:
        batch = super().__new__(cls, items)
        batch.skipped = skipped
        return batch

    def __reduce__(self) -> tuple[Any, ...]:
        return (CollatedBatch, (tuple(self), self.skipped))


def _split_samples(
    batch: Sequence[Any], skip_none: bool, layout: str
) -> tuple[list[Any], list[dict[str, Any]], int]:
    """Images and target dicts of the samples, and how many ``None`` samples were left out."""
    images, targets, skipped = [], [], 0
    for position, sample in enumerate(batch):
        if sample is None:
            if not skip_none:
                raise ValueError(
                    f"{layout}: sample {position} of the batch is None; pass skip_none=True (with "
                    "functools.partial) to leave such samples out, counted"
                )
            skipped += 1
            continue
        kind, image, target = split_sample(sample, f"{layout}: sample {position}")
        if kind == "pair":
            target = {} if target is None else target
            if not isinstance(target, Mapping):
                raise TypeError(
                    f"{layout}: sample {position} has a {type(target).__name__} target; expected a dict with "
                    "'boxes' and 'labels' (a detection sample)"
                )
            target = dict(target)
        elif kind == "other":
            raise TypeError(
                f"{layout}: sample {position} is a {type(sample).__name__}; expected (image, target) or a dict "
                "with 'image'"
            )
        if not isinstance(image, torch.Tensor):
            raise TypeError(
                f"{layout}: sample {position}'s image is a {type(image).__name__}; expected a C x H x W tensor "
                "(read images with visiondata.io.read_image or the datasets' default loader)"
            )
        images.append(image)
        targets.append(_with_boxes(target, image, position, layout))
    if skipped:
        warnings.warn(
            f"{layout}: skipped {skipped} None samples of a batch of {len(batch)}",
            SkippedSampleWarning,
            stacklevel=3,
        )
    return images, targets, skipped


def _with_boxes(target: dict[str, Any], image: torch.Tensor, position: int, layout: str) -> dict[str, Any]:
    """``target`` with ``boxes`` and ``labels`` always present, checked, in one form.

    ``boxes`` are ``(N, 4)`` (list and numpy boxes become float32 tensors), or
    oriented ``BoundingBoxes`` kept as they are; an image without boxes gets
    `_no_boxes`. ``labels`` are ``(N,)`` int64 (``N`` may be 0).

    Raises:
        InvalidBoxesError: Boxes that are not ``(N, C)`` numbers (the shape check of ``visiondata.boxes``);
            ``labels``, another per-box field or the instance masks without one row per box (a target
            without boxes has 0 boxes); labels that are not one integer class id per box.
    """
    prefix = f"{layout}: sample {position} of the batch: "
    boxes = target.get("boxes")
    rotated = _rotated_format(boxes)
    if boxes is not None and not isinstance(boxes, torch.Tensor):
        try:
            boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32))
        except (TypeError, ValueError) as error:
            raise InvalidBoxesError(
                f"{prefix}boxes: expected an (N, 4) array of numbers, got {boxes!r} ({error})"
            ) from None
        target["boxes"] = boxes
    if boxes is not None and (rotated is not None or not _no_rows(boxes)):
        _check_box_shape(boxes, prefix)
    if boxes is None or (rotated is None and _no_rows(boxes)):
        target["boxes"] = _no_boxes(image)
    count = int(target["boxes"].shape[0])
    labels = target.get("labels")
    if labels is None and count == 0:
        target["labels"] = torch.zeros(0, dtype=torch.int64, device=image.device)
    elif labels is None:
        raise InvalidBoxesError(
            f"{prefix}labels: expected one row per box ({count} boxes), got no 'labels' key; give each box its "
            "class in target['labels']"
        )
    # Lengths only: cheap, and enough to catch a label that would land on another box.
    for key in (*_PER_BOX_KEYS, "masks"):
        if target.get(key) is not None:
            check_one_row_per_box(key, target[key], count, where=prefix)
    if target.get("keypoints") is not None:
        target["keypoints"] = _checked_keypoints(target["keypoints"], count, position, layout)
    target["labels"] = _int64_labels(target["labels"], prefix)
    return target


def _no_rows(boxes: torch.Tensor) -> bool:
    """Whether ``boxes`` hold no box: ``(0,)`` (an empty list) or ``(0, C)``, never ``(3, 0)``."""
    return boxes.numel() == 0 and (boxes.ndim == 1 or boxes.shape[0] == 0)


def _no_boxes(image: torch.Tensor) -> tv_tensors.BoundingBoxes:
    """The boxes of an image without any: ``(0, 4)`` float32 ``XYXY`` on its canvas.

    One shape, whatever the sample gave (no key, ``None``, ``[]``, ``(0, 4)`` of any dtype or
    format), and float32 under any ``torch.get_default_dtype()``, like boxes read from a list.
    """
    height, width = image.shape[-2:]
    return tv_tensors.BoundingBoxes(
        torch.zeros((0, 4), dtype=torch.float32, device=image.device),
        format="XYXY",
        canvas_size=(int(height), int(width)),
    )


def _check_box_shape(boxes: torch.Tensor, prefix: str) -> None:
    """Raise the shape error of ``visiondata.boxes`` (``check_box_shape``) for ``boxes``, naming the sample.

    Raises:
        InvalidBoxesError: Not ``(N, 4)``, or not ``(N, C)`` for oriented boxes (``C`` their format's width).
    """
    rotated = _rotated_format(boxes)
    try:
        # Oriented boxes are named by format (their width depends on it); every axis-aligned one is (N, 4).
        check_box_shape(boxes, rotated)
    except InvalidBoxesError as error:
        hint = (
            "; oriented boxes travel as a tv_tensors.BoundingBoxes of format XYWHR, CXCYWHR or XYXYXYXY"
            if rotated is None and boxes.ndim == 2 and boxes.shape[-1] in (5, 8)
            else ""
        )
        raise InvalidBoxesError(f"{prefix}{error}{hint}") from None


def _int64_labels(labels: Any, prefix: str) -> torch.Tensor:
    """``labels`` as ``(N,)`` int64 class ids; an int64 ``(N,)`` tensor is passed on as it is.

    Any integer dtype is taken, and whole numbers stored as floats; a column
    ``(N, 1)`` (ultralytics' ``cls``) is one class id per box too. The row
    count was checked against the boxes before.

    Raises:
        InvalidBoxesError: Not numbers, not one class id per box, or a float that is no whole number.
    """
    if not isinstance(labels, torch.Tensor):
        try:
            labels = torch.as_tensor(np.asarray(labels))
        except (TypeError, ValueError, RuntimeError) as error:
            raise InvalidBoxesError(
                f"{prefix}labels: expected integer class ids, got {labels!r} ({error}); give each box the "
                "index of its class"
            ) from None
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise InvalidBoxesError(
            f"{prefix}labels: expected shape (N,) (one class id per box), got {tuple(labels.shape)}; give each "
            "box one class id (labels.argmax(-1) of one-hot rows, or one box per class of a multi-label object)"
        )
    if labels.dtype == torch.int64:
        return labels
    if labels.is_complex():
        raise InvalidBoxesError(
            f"{prefix}labels: expected integer class ids, got {labels.dtype}; give each box the index of its class"
        )
    if labels.is_floating_point():
        # Casting would cut 1.5 to 1 and NaN to an arbitrary class: only whole numbers are class ids.
        whole = torch.isfinite(labels) & (labels == labels.round())
        if not bool(whole.all()):
            index = int((~whole).nonzero()[0, 0])
            raise InvalidBoxesError(
                f"{prefix}labels: expected integer class ids, got {labels[index].item()!r} for box {index} "
                f"({labels.dtype}); give each box the index of its class"
            )
    return labels.to(torch.int64)


def _rotated_format(boxes: Any) -> str | None:
    """Our name of the oriented format of a ``BoundingBoxes`` (``"xywhr"``...), or None for anything else."""
    if not isinstance(boxes, tv_tensors.BoundingBoxes):
        return None
    from visiondata.boxes._convert import ROTATED_TORCHVISION_FORMATS

    return ROTATED_TORCHVISION_FORMATS.get(boxes.format.name)


def _checked_keypoints(keypoints: Any, count: int, position: int, layout: str) -> torch.Tensor:
    """``keypoints`` as a float ``(N, K, 3)`` tensor with one row per box, or a named error.

    Raises:
        InvalidBoxesError: Not ``(N, K, 3)`` numbers, or not one row per box.
    """
    if not isinstance(keypoints, torch.Tensor):
        try:
            keypoints = torch.as_tensor(np.asarray(keypoints, dtype=np.float32))
        except (TypeError, ValueError) as error:
            raise InvalidBoxesError(
                f"{layout}: sample {position} of the batch: keypoints: expected an (N, K, 3) array of numbers "
                f"(x, y, visibility per keypoint), got {keypoints!r} ({error})"
            ) from None
        if keypoints.numel() == 0 and count == 0:
            keypoints = keypoints.reshape(0, 0, 3)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 3:
        raise InvalidBoxesError(
            f"{layout}: sample {position} of the batch: keypoints: expected shape (N, K, 3) (x, y, visibility "
            f"per keypoint of each box), got {tuple(keypoints.shape)}"
        )
    check_one_row_per_box("keypoints", keypoints, count, where=f"{layout}: sample {position} of the batch: ")
    if not keypoints.is_floating_point():
        keypoints = keypoints.to(torch.float32)
    return keypoints


def _keypoint_count(targets: list[dict[str, Any]], layout: str) -> int | None:
    """``K`` of the batch's keypoints, or None when no target has keypoints.

    Raises:
        InvalidBoxesError: Targets with different ``K``, or a target with boxes but no keypoints among
            targets with keypoints (its boxes would get no keypoints, silently).
    """
    counts = {
        position: int(target["keypoints"].shape[1])
        for position, target in enumerate(targets)
        if target.get("keypoints") is not None and len(target["keypoints"])
    }
    if not counts:
        return None
    if len(set(counts.values())) > 1:
        found = ", ".join(f"sample {position}: {k}" for position, k in counts.items())
        raise InvalidBoxesError(
            f"{layout}: keypoints: expected the same number of keypoints per box in every sample, got {found}"
        )
    for position, target in enumerate(targets):
        if target.get("keypoints") is None and len(target["boxes"]):
            raise InvalidBoxesError(
                f"{layout}: sample {position} of the batch: keypoints: expected an (N, K, 3) 'keypoints' like "
                f"the other samples of the batch, got none for its {len(target['boxes'])} boxes; give every "
                "sample keypoints (visibility 0 for unlabelled ones)"
            )
    return next(iter(counts.values()))


def _semantic_masks(
    targets: list[dict[str, Any]],
    sizes: list[tuple[int, int]],
    shape: tuple[int, int],
    ignore_index: int,
    device: torch.device,
    layout: str,
) -> torch.Tensor | None:
    """The targets' ``mask`` (class ids, ``(h, w)``) in one ``(B, H, W)`` int64 tensor padded with
    ``ignore_index``, or None when no target has one.

    Raises:
        ValueError: A mask that is not an integer ``(h, w)`` of its image's size, or a batch where only
            some samples have a mask.
    """
    present = [target.get("mask") is not None for target in targets]
    if not any(present):
        return None
    if not all(present):
        missing = ", ".join(str(position) for position, has in enumerate(present) if not has)
        raise ValueError(
            f"{layout}: samples {missing} of the batch: mask: expected an (H, W) class-id mask like the other "
            "samples, got none; give every sample its mask (ignore_index for unlabelled pixels)"
        )
    out = torch.full((len(targets), *shape), ignore_index, dtype=torch.int64, device=device)
    for position, (target, (height, width)) in enumerate(zip(targets, sizes, strict=True)):
        mask = target["mask"]
        mask = torch.as_tensor(mask) if not isinstance(mask, torch.Tensor) else mask.as_subclass(torch.Tensor)
        if mask.ndim == 3 and mask.shape[0] == 1:
            mask = mask[0]
        if mask.ndim != 2 or tuple(mask.shape) != (height, width):
            raise ValueError(
                f"{layout}: sample {position} of the batch: mask: expected shape ({height}, {width}) (its "
                f"image's height and width), got {tuple(mask.shape)}; a semantic mask has one class id per "
                "pixel of its image: resize it with the image (BoxPipeline moves target['mask'] with it)"
            )
        if mask.is_floating_point() or mask.is_complex():
            raise ValueError(
                f"{layout}: sample {position} of the batch: mask: expected integer class ids, got {mask.dtype}; "
                "read masks as indices (SegmentationFolderDataset), not as colours or probabilities"
            )
        out[position, :height, :width] = mask.to(device=device, dtype=torch.int64)
    return out


def _xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """Plain ``xyxy`` corners of boxes (``BoundingBoxes`` of any format; plain tensors are taken as ``xyxy``)."""
    if isinstance(boxes, tv_tensors.BoundingBoxes) and boxes.format != tv_tensors.BoundingBoxFormat.XYXY:
        from torchvision.transforms.v2 import functional

        boxes = functional.convert_bounding_box_format(boxes, new_format=tv_tensors.BoundingBoxFormat.XYXY)
    # No reshape: the shape was checked in _with_boxes, and reshaping would turn (2, 6) into three boxes.
    return boxes.as_subclass(torch.Tensor)


def detection_collate(batch: Sequence[Any], *, skip_none: bool = False) -> CollatedBatch:
    """``(images, targets)``: a list of images and a list of target dicts, as torchvision's detection models take.

    Images keep their sizes and types (``tv_tensors.Image`` stays one); targets
    keep every key. Every target has ``boxes`` and ``labels``: ``(N, 4)`` boxes
    (list and numpy boxes become float32 tensors; a tensor or ``BoundingBoxes``
    stays as it is) and ``(N,)`` ``int64`` labels (any integer dtype, whole
    floats and an ``(N, 1)`` column are converted). An image without objects
    has a ``BoundingBoxes`` ``(0, 4)`` float32 ``XYXY`` on its own canvas and
    ``(0,)`` int64 labels, however its target said so (no key, ``None``,
    ``[]``, an empty array of any dtype or format). Oriented boxes (a
    ``BoundingBoxes`` of format ``XYWHR``, ``CXCYWHR`` or ``XYXYXYXY``) are kept
    as they are, empty ones too; ``keypoints`` (``(N, K, 3)`` ``x, y, visibility``, what
    torchvision's Keypoint R-CNN takes) pass through, checked for one row per
    box; a semantic ``mask`` passes through unchanged.

    Raises:
        InvalidBoxesError: Boxes that are not ``(N, 4)`` (or ``(N, C)`` oriented; nothing is reshaped, so a
            ``(2, 6)`` array is refused); ``labels``, another per-box field, the instance masks or the
            keypoints have not one row per box; labels that are not one integer class id per box; keypoints
            that are not ``(N, K, 3)``. The message names the sample's position in the batch.

    Args:
        batch: The samples.
        skip_none: Leave out ``None`` samples (counted in ``.skipped``) instead of raising.

    Returns:
        A [`CollatedBatch`][visiondata.collate.CollatedBatch] ``(images, targets)``.

    Examples:
        >>> import torch
        >>> images, targets = detection_collate([(torch.zeros(3, 4, 6), {"image_id": 3})])
        >>> targets[0]["boxes"].shape, targets[0]["labels"].dtype
        (torch.Size([0, 4]), torch.int64)
    """
    images, targets, skipped = _split_samples(batch, skip_none, "detection_collate")
    return CollatedBatch((images, targets), skipped)


def padded_collate(
    batch: Sequence[Any],
    size_divisor: int = 32,
    pad_value: float = 0,
    *,
    skip_none: bool = False,
    ignore_index: int = 255,
) -> dict[str, Any]:
    """One ``(B, C, H, W)`` tensor, padded bottom and right, and a mask that is True on the padding (DETR).

    ``H`` and ``W`` are the largest height and width in the batch, rounded up
    to a multiple of ``size_divisor``; each image sits at the top left, so
    boxes and keypoints need no change.

    Semantic segmentation: when the samples carry ``target["mask"]`` (``(h, w)``
    integer class ids, as ``SegmentationFolderDataset`` gives), the batch also
    has ``"semantic_masks"``: ``(B, H, W)`` int64, each mask at the top left of
    its image and the padding set to ``ignore_index``, so that
    ``cross_entropy(logits, batch["semantic_masks"], ignore_index=255)`` learns
    nothing from padded pixels.

    Args:
        batch: The samples (all images with the same channels and dtype).
        size_divisor: ``H`` and ``W`` are multiples of it (1 for no rounding).
        pad_value: Value of padding pixels.
        skip_none: Leave out ``None`` samples (counted) instead of raising.
        ignore_index: Class id of the padding of semantic masks (the loss's ``ignore_index``).

    Returns:
        ``{"images": (B, C, H, W), "mask": (B, H, W) bool, "image_sizes": [(h, w), ...],
        "targets": [dict, ...], "skipped": int}``, plus ``"semantic_masks": (B, H, W) int64``
        when the samples have a ``mask``. The targets are [`detection_collate`][visiondata.collate.detection_collate]'s
        (``(0, 4)`` float32 boxes and ``(0,)`` int64 labels for an image without boxes).

    Raises:
        InvalidBoxesError: Boxes, labels or per-box fields as ``detection_collate`` refuses them.
        ValueError: A ``mask`` that is not integer ``(h, w)`` of its image's size, or only some samples with
            one; ``ignore_index`` not an int.

    Examples:
        >>> import torch
        >>> out = padded_collate([(torch.ones(3, 30, 40), {}), (torch.ones(3, 50, 20), {})], size_divisor=32)
        >>> out["images"].shape, out["mask"][0, 29, 39].item(), out["mask"][0, 30, 0].item()
        (torch.Size([2, 3, 64, 64]), False, True)
    """
    check_positive_int("size_divisor", size_divisor, expected="a positive int")
    check_int("ignore_index", ignore_index, expected="an int (the class id of void pixels, 255 by default)")
    images, targets, skipped = _split_samples(batch, skip_none, "padded_collate")
    padded, mask, sizes = _pad(images, size_divisor, pad_value, "padded_collate")
    out = {"images": padded, "mask": mask, "image_sizes": sizes, "targets": targets, "skipped": skipped}
    semantic = _semantic_masks(
        targets, sizes, tuple(mask.shape[-2:]), ignore_index, padded.device, "padded_collate"
    )
    if semantic is not None:
        out["semantic_masks"] = semantic
    return out


def _pad(
    images: list[torch.Tensor], size_divisor: int, pad_value: float, layout: str
) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
    if not images:
        return torch.zeros((0, 0, 0, 0), dtype=torch.float32), torch.zeros((0, 0, 0), dtype=torch.bool), []
    channels = {image.shape[0] for image in images}
    dtypes = {image.dtype for image in images}
    if len(channels) > 1 or len(dtypes) > 1:
        found = ", ".join(f"{tuple(image.shape)} {image.dtype}" for image in images)
        raise ValueError(f"{layout}: expected images with the same channels and dtype, got {found}")
    sizes = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
    height = math.ceil(max(h for h, _ in sizes) / size_divisor) * size_divisor
    width = math.ceil(max(w for _, w in sizes) / size_divisor) * size_divisor
    first = images[0]
    padded = first.new_full((len(images), first.shape[0], height, width), pad_value).as_subclass(torch.Tensor)
    mask = torch.ones((len(images), height, width), dtype=torch.bool, device=first.device)
    for position, (image, (h, w)) in enumerate(zip(images, sizes, strict=True)):
        padded[position, :, :h, :w] = image
        mask[position, :h, :w] = False
    return padded, mask, sizes


def yolo_collate(batch: Sequence[Any], first_label: int = 0, *, skip_none: bool = False) -> CollatedBatch:
    """``(images, targets)``: stacked images and one table of rows ``[batch_index, class, cx, cy, w, h, ...]``.

    Box coordinates are normalised by their image's size, as YOLO losses
    expect; ``class`` is ``label - first_label`` (``first_label=1`` for
    datasets with ``"__background__"`` at label 0, visiondata's default).
    The table has the layout ultralytics' losses build from their batches
    (``batch_idx``, ``cls``, ``bboxes`` and ``keypoints`` side by side):

    - detection: ``(M, 6)``: ``image_index, class, cx, cy, w, h``;
    - pose (samples with ``keypoints``): ``(M, 6 + 3K)``: the six columns, then
      ``x, y, visibility`` of each keypoint, ``x`` divided by the image width and
      ``y`` by its height, visibility as given (0, 1, 2). ``table[:, 6:].view(M, K, 3)``
      is ultralytics' ``batch["keypoints"]`` (what ``v8PoseLoss`` takes);
    - oriented boxes (a ``BoundingBoxes`` of format ``XYWHR``, ``CXCYWHR`` or
      ``XYXYXYXY``): ``(M, 7)``: ``image_index, class, cx, cy, w, h, angle``:
      ultralytics' ``xywhr`` (what ``v8OBBLoss`` takes): ``cx`` and ``w`` divided by
      the image width, ``cy`` and ``h`` by its height (after the angle is
      settled, as ultralytics' ``Format`` does), and ``angle`` in **radians,
      clockwise on screen** (the width side runs along ``(cos a, sin a)`` with y
      pointing down), which is minus torchvision's counter-clockwise degrees.
      As ultralytics' ``xyxyxyxy2xywhr``, ``w`` is the longer side and the angle
      lies in ``[-pi/4, 3pi/4)``.

    Args:
        batch: The samples; all images must have one size.
        first_label: The label of YOLO class 0.
        skip_none: Leave out ``None`` samples (counted in ``.skipped``) instead of raising.

    Images without boxes add no rows; a batch without any box has a ``(0, 6)``
    float32 table (``(0, 7)`` when its samples carry empty oriented boxes).

    Returns:
        A [`CollatedBatch`][visiondata.collate.CollatedBatch] ``(images (B, C, H, W), targets)``,
        ``targets`` float32 ``(M, 6)``, ``(M, 6 + 3K)`` or ``(M, 7)`` as above. When every sample was
        skipped: ``(0, 0, 0, 0)`` float32 images.

    Raises:
        ValueError: Images of different sizes (the message names them and the fix).
        InvalidBoxesError: Boxes that are not ``(N, 4)`` (or ``(N, C)`` oriented), labels or another per-box
            field without one row per box, labels that are not integer class ids (each names the sample);
            keypoints with oriented boxes (no YOLO layout has both), samples with different numbers of
            keypoints, or a sample without keypoints among samples with them.

    Examples:
        >>> import torch
        >>> sample = (torch.zeros(3, 10, 20), {"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0]]), "labels": torch.tensor([2])})
        >>> images, targets = yolo_collate([sample, sample], first_label=1)
        >>> targets.tolist()
        [[0.0, 1.0, 0.25, 0.5, 0.5, 1.0], [1.0, 1.0, 0.25, 0.5, 0.5, 1.0]]
        >>> pose = {**sample[1], "keypoints": torch.tensor([[[5.0, 5.0, 2.0]]])}
        >>> yolo_collate([(sample[0], pose)], first_label=1)[1].tolist()
        [[0.0, 1.0, 0.25, 0.5, 0.5, 1.0, 0.25, 0.5, 2.0]]
    """
    images, targets, skipped = _split_samples(batch, skip_none, "yolo_collate")
    sizes = sorted({(int(image.shape[-2]), int(image.shape[-1])) for image in images})
    if len(sizes) > 1:
        raise ValueError(
            f"yolo_collate: expected images of one size to stack, got {len(sizes)} sizes (height x width): "
            f"{', '.join(f'{h}x{w}' for h, w in sizes[:8])}; end the augmentation pipeline with a fixed size "
            "(Resize to (h, w), or LongestMaxSize + PadIfNeeded as presets.detection_train does)"
        )
    oriented = _oriented_positions(targets, "yolo_collate")
    keypoint_count = _keypoint_count(targets, "yolo_collate")
    if oriented and keypoint_count is not None:
        raise InvalidBoxesError(
            "yolo_collate: expected keypoints (pose) or oriented boxes (OBB), got both; no YOLO layout has "
            "both: drop target['keypoints'] or convert the boxes to an axis-aligned format"
        )
    columns = 7 if oriented else 6 if keypoint_count is None else 6 + 3 * keypoint_count
    rows = []
    for position, (image, target) in enumerate(zip(images, targets, strict=True)):
        height, width = image.shape[-2:]
        if len(target["boxes"]) == 0:
            continue
        # (N,) int64 and one per box since _with_boxes: a class column that fits the box rows.
        # Subtracted in int64, then cast: float32 first would round ids above 2**24 before the shift.
        classes = (target["labels"] - first_label).to(torch.float32)[:, None]
        index = torch.full_like(classes, position)
        if oriented:
            boxes = _ultralytics_xywhr(target["boxes"], int(height), int(width))
            rows.append(torch.cat([index.to(boxes.device), classes.to(boxes.device), boxes], dim=1))
            continue
        boxes = _xyxy(target["boxes"]).to(torch.float32)
        scale = boxes.new_tensor([width, height, width, height])
        corners = boxes / scale
        centres = (corners[:, :2] + corners[:, 2:]) / 2
        sides = corners[:, 2:] - corners[:, :2]
        parts = [index.to(boxes.device), classes.to(boxes.device), centres, sides]
        if keypoint_count is not None:
            points = target["keypoints"].to(device=boxes.device, dtype=torch.float32)
            points = points / points.new_tensor([width, height, 1.0])
            parts.append(points.reshape(len(points), -1))
        rows.append(torch.cat(parts, dim=1))
    table = torch.cat(rows) if rows else torch.zeros((0, columns), dtype=torch.float32)
    if images:
        stacked = torch.stack([image.as_subclass(torch.Tensor) for image in images])
    else:  # every sample skipped: no images, in the (B, C, H, W) shape of _pad's
        stacked = torch.zeros((0, 0, 0, 0), dtype=torch.float32)
    return CollatedBatch((stacked, table), skipped)


def _oriented_positions(targets: list[dict[str, Any]], layout: str) -> list[int]:
    """Positions of the targets with oriented boxes; raises if others have axis-aligned boxes.

    Images without boxes fit either kind (they add no rows).
    """
    oriented = [position for position, target in enumerate(targets) if _rotated_format(target["boxes"])]
    if oriented:
        upright = [
            position
            for position, target in enumerate(targets)
            if _rotated_format(target["boxes"]) is None and len(target["boxes"])
        ]
        if upright:
            raise InvalidBoxesError(
                f"{layout}: expected one kind of boxes in a batch, got oriented boxes in samples "
                f"{oriented[:8]} and axis-aligned ones in samples {upright[:8]}; convert one kind to the "
                "other (visiondata.boxes.convert_boxes) before batching"
            )
    return oriented


def _ultralytics_xywhr(boxes: tv_tensors.BoundingBoxes, height: int, width: int) -> torch.Tensor:
    """Oriented boxes as ultralytics' normalised ``xywhr`` ``(N, 5)`` float32 (see ``yolo_collate``)."""
    from visiondata.boxes import convert_boxes

    if _rotated_format(boxes) is None:  # an image without boxes
        return torch.zeros((0, 5), dtype=torch.float32, device=boxes.device)
    values = convert_boxes(
        boxes.as_subclass(torch.Tensor).to(torch.float64), _rotated_format(boxes), "cxcywhr"
    )
    cx, cy, w, h, degrees = values.unbind(-1)
    # torchvision turns counter-clockwise on screen, ultralytics' (cos a, sin a) width side clockwise.
    theta = -torch.deg2rad(degrees)
    # As ultralytics' xyxyxyxy2xywhr: the longer side is w, and the angle is taken into [-pi/4, 3pi/4).
    swap = w < h
    w, h = torch.where(swap, h, w), torch.where(swap, w, h)
    theta = torch.where(swap, theta + math.pi / 2, theta)
    theta = torch.remainder(theta + math.pi / 4, math.pi) - math.pi / 4
    table = torch.stack([cx / width, cy / height, w / width, h / height, theta], dim=-1)
    return table.to(torch.float32)


def padded_boxes_collate(
    batch: Sequence[Any],
    max_boxes: int | None = None,
    pad_value: float = 0,
    *,
    skip_none: bool = False,
    ignore_index: int = 255,
    size_divisor: int = 1,
) -> dict[str, Any]:
    """Dense boxes: ``(B, M, 4)`` boxes, ``(B, M)`` labels (-1 on padding) and a ``(B, M)`` validity mask.

    ``M`` is the largest box count in the batch, or ``max_boxes`` (a fixed
    shape). Boxes beyond ``max_boxes`` are cut, and reported: each image that
    lost boxes is named in ``"truncated"`` (``{"sample": i, "boxes": n,
    "kept": max_boxes}``) and a [`SkippedSampleWarning`][visiondata.exceptions.SkippedSampleWarning] is issued. Images
    of different sizes are padded bottom and right, as [`padded_collate`][visiondata.collate.padded_collate]:
    ``H`` and ``W`` are the largest height and width, rounded up to a multiple
    of ``size_divisor`` (as torchvision's ``GeneralizedRCNNTransform``'s
    ``size_divisible``; 1 by default, no rounding), and ``"mask"`` is
    ``(B, H, W)``, True on the padding, as ``padded_collate``'s. Boxes need no
    change: each image sits at the top left.

    Boxes are counted from the boxes, and ``labels``, ``keypoints`` and the
    other per-box fields must have one row per box (the error names the
    sample). An image without boxes has no valid slot; a batch where no image
    has a box has ``M = 0`` (``(B, 0, 4)`` float32 boxes, ``(B, 0)`` int64
    labels), unless ``max_boxes`` fixes ``M``.

    Boxes are ``xyxy``, except oriented ones (a ``BoundingBoxes`` of format
    ``XYWHR``, ``CXCYWHR`` or ``XYXYXYXY``), which keep their angle: ``(B, M, 5)``
    or ``(B, M, 8)`` in the first oriented sample's format, named in
    ``"box_format"`` (never their enclosing boxes). Samples with ``keypoints``
    add ``"keypoints"``: ``(B, M, K, 3)``, zeros on padding (visibility 0:
    not labelled). Samples with a semantic ``mask`` add ``"semantic_masks"``:
    ``(B, H, W)`` int64 padded with ``ignore_index``, as in ``padded_collate``.

    Args:
        batch: The samples.
        max_boxes: Fixed ``M``, or ``None`` for the batch's largest count.
        pad_value: Value of padding pixels.
        skip_none: Leave out ``None`` samples (counted) instead of raising.
        ignore_index: Class id of the padding of semantic masks.
        size_divisor: ``H`` and ``W`` are multiples of it (1 for no rounding).

    Returns:
        ``{"images": (B, C, H, W), "mask": (B, H, W) bool, "image_sizes": [(h, w), ...], "boxes": (B, M, 4)
        xyxy, "box_format": "xyxy", "labels": (B, M) int64, "valid": (B, M) bool, "truncated": [...],
        "skipped": int}``, plus ``"keypoints"`` and ``"semantic_masks"`` as above. When every sample was
        skipped: ``(0, 0, 0, 0)`` images, ``(0, 0, 0)`` mask, ``(0, M, 4)`` boxes.

    Raises:
        InvalidBoxesError: Boxes that are not ``(N, 4)`` (or ``(N, C)`` oriented), labels or another per-box
            field without one row per box, labels that are not integer class ids, oriented and axis-aligned
            boxes in one batch, samples with different numbers of keypoints, or a sample without keypoints
            among samples with them.
        ValueError: A ``mask`` that is not integer ``(h, w)`` of its image's size, or only some samples with
            one; ``size_divisor`` not a positive int.

    Examples:
        >>> import torch
        >>> one = (torch.zeros(3, 8, 8), {"boxes": torch.tensor([[0.0, 0.0, 2.0, 2.0]]), "labels": torch.tensor([4])})
        >>> none = (torch.zeros(3, 8, 8), {})
        >>> out = padded_boxes_collate([one, none])
        >>> out["boxes"].shape, out["labels"].tolist(), out["valid"].tolist()
        (torch.Size([2, 1, 4]), [[4], [-1]], [[True], [False]])
        >>> small = (torch.zeros(3, 5, 6), {})
        >>> padded = padded_boxes_collate([one, small], size_divisor=4)
        >>> padded["images"].shape, padded["mask"][1, 4, 5].item(), padded["mask"][1, 5, 5].item()
        (torch.Size([2, 3, 8, 8]), False, True)
    """
    if max_boxes is not None:
        check_int("max_boxes", max_boxes, minimum=0, expected="an int >= 0 or None")
    check_int("ignore_index", ignore_index, expected="an int (the class id of void pixels, 255 by default)")
    check_positive_int("size_divisor", size_divisor, expected="a positive int")
    images, targets, skipped = _split_samples(batch, skip_none, "padded_boxes_collate")
    padded, mask, sizes = _pad(images, size_divisor, pad_value, "padded_boxes_collate")
    oriented = _oriented_positions(targets, "padded_boxes_collate")
    box_format = _rotated_format(targets[oriented[0]]["boxes"]) if oriented else "xyxy"
    keypoint_count = _keypoint_count(targets, "padded_boxes_collate")
    # From the boxes: the labels were checked to have one row per box, but the boxes are what is batched.
    counts = [int(target["boxes"].shape[0]) for target in targets]
    slots = max(counts, default=0) if max_boxes is None else max_boxes
    device = padded.device
    columns = {"xyxy": 4, "xyxyxyxy": 8}.get(box_format, 5)
    boxes = torch.zeros((len(targets), slots, columns), dtype=torch.float32, device=device)
    labels = torch.full((len(targets), slots), -1, dtype=torch.int64, device=device)
    valid = torch.zeros((len(targets), slots), dtype=torch.bool, device=device)
    keypoints = None
    if keypoint_count is not None:
        keypoints = torch.zeros((len(targets), slots, keypoint_count, 3), dtype=torch.float32, device=device)
    truncated = []
    for position, (target, count) in enumerate(zip(targets, counts, strict=True)):
        kept = min(count, slots)
        if kept < count:
            truncated.append({"sample": position, "boxes": count, "kept": kept})
        if kept == 0:
            continue
        boxes[position, :kept] = _in_format(target["boxes"], box_format)[:kept].to(torch.float32)
        labels[position, :kept] = target["labels"][:kept]
        valid[position, :kept] = True
        if keypoints is not None:
            keypoints[position, :kept] = target["keypoints"][:kept].to(torch.float32)
    if truncated:
        cut = sum(entry["boxes"] - entry["kept"] for entry in truncated)
        warnings.warn(
            f"padded_boxes_collate: max_boxes={max_boxes} cut {cut} boxes from {len(truncated)} images of the batch "
            "(see the batch's 'truncated'); raise max_boxes to keep them",
            SkippedSampleWarning,
            stacklevel=2,
        )
    out = {
        "images": padded,
        "mask": mask,
        "image_sizes": sizes,
        "boxes": boxes,
        "box_format": box_format,
        "labels": labels,
        "valid": valid,
        "truncated": truncated,
        "skipped": skipped,
    }
    if keypoints is not None:
        out["keypoints"] = keypoints
    semantic = _semantic_masks(
        targets, sizes, tuple(mask.shape[-2:]), ignore_index, device, "padded_boxes_collate"
    )
    if semantic is not None:
        out["semantic_masks"] = semantic
    return out


def _in_format(boxes: torch.Tensor, box_format: str) -> torch.Tensor:
    """Plain ``(N, C)`` boxes in ``box_format``: ``xyxy`` for axis-aligned, or one oriented format."""
    if box_format == "xyxy":
        return _xyxy(boxes)
    from visiondata.boxes import convert_boxes

    source = _rotated_format(boxes)
    plain = boxes.as_subclass(torch.Tensor)
    return plain if source == box_format else convert_boxes(plain, source, box_format)


def to_device(batch: Any, device: torch.device | str, non_blocking: bool = True) -> Any:
    """``batch`` with every tensor on ``device``: nested dicts, lists and tuples of any layout above.

    ``tv_tensors`` keep their type and metadata; a [`CollatedBatch`][visiondata.collate.CollatedBatch]
    keeps its ``skipped`` count; other values pass through.

    Examples:
        >>> import torch
        >>> sample = (torch.zeros(3, 2, 2), {"boxes": torch.tensor([[0.0, 0.0, 1.0, 1.0]]), "labels": torch.tensor([1])})
        >>> batch = detection_collate([sample])
        >>> moved = to_device(batch, "cpu")
        >>> type(moved).__name__, moved[1][0]["labels"].device.type
        ('CollatedBatch', 'cpu')
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        moved = {key: to_device(value, device, non_blocking) for key, value in batch.items()}
        if type(batch) is dict:
            return moved
        try:  # keep the mapping's own type (OrderedDict, defaultdict...) where a copy can hold the values
            copied = copy.copy(batch)
            copied.update(moved)
            return copied
        except (TypeError, AttributeError):
            return moved
    if isinstance(batch, CollatedBatch):
        return CollatedBatch([to_device(item, device, non_blocking) for item in batch], batch.skipped)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # a namedtuple
        return type(batch)(*(to_device(item, device, non_blocking) for item in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(item, device, non_blocking) for item in batch)
    return batch
